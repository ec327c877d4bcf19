#!/usr/bin/env bash
# The GPU path, checked end to end on a machine with one or more CUDA GPUs (Kaggle, Colab, a workstation), offline
# (nothing is downloaded: the paper profile runs with random weights). Every step runs even if an earlier one
# failed; the summary at the end names the failures and the exit code is non-zero if there was one.
#
#   scripts/gpu_check.sh [OUT_DIR]        # default OUT_DIR: outputs/gpu-check-<date>
#
#  1. the GPU, the torch build and whether that build has kernels for it (bdqlib.platform.check_cuda_arch);
#  2. the device tests (the chain, the figure helpers, streaming, every precision mode, SPPA, RAPrivacy on the GPU),
#     precision, memory planning, checkpoints, platform, and the DDP tests (gloo on the CPU, any number of GPUs);
#  3. the SMOKE chain of every notebook on the GPU, cpu profile (run_all.sh -p SMOKE True);
#  4. the SMOKE chain with the paper profile's networks and code paths (i3d_r50, ResNet-50, the full attack suite,
#     uncached views, ACCUM measured per stage, ALF, SPPA with DINO and RAFT, DeepLabV3 masking, RAPrivacy with
#     VGG-19), random weights, small sizes;
#  5. one real step of every stage at the paper profile's shapes (KTH): peak memory at 1 and 2 clips, step time,
#     and the micro-batches each stage would take on this card -- beside the projection from the meta device;
#  6. with two or more GPUs, the SMOKE chain in two processes (NPROC 2: torchrun + DDP over NCCL).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh || exit 1
py=.venv/bin/python
out="${1:-outputs/gpu-check-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
failed=()
step() {  # step NAME COMMAND...: run, time, record a failure and go on
  local name="$1"; shift
  echo "== $name"
  local start=$(date +%s)
  if "$@"; then echo "   ok ($(( $(date +%s) - start ))s)"; else echo "   FAILED ($(( $(date +%s) - start ))s)"; failed+=("$name"); fi
}
step "1 GPU and torch build" "$py" - <<'PY'
import sys, torch
from bdqlib.platform import check_cuda_arch
if not torch.cuda.is_available():
    sys.exit("no CUDA device visible to torch: this script checks the GPU path (CPU users: ./run_tests.sh)")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"   GPU {i}: {p.name}, {p.total_memory / 2**30:.1f} GiB, compute {p.major}.{p.minor}")
print(f"   torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
      f"arch list {' '.join(torch.cuda.get_arch_list())}")
check_cuda_arch()
PY
step "2 device, precision, memory, checkpoint, platform and DDP tests" \
  "$py" -m pytest -q -p no:cacheprovider tests/test_device.py tests/test_precision.py tests/test_memory.py \
  tests/test_plan.py tests/test_checkpoint.py tests/test_platform.py tests/test_distributed.py
step "3 SMOKE chain on the GPU (cpu profile)" bash -c \
  "./run_all.sh -p SMOKE True -p RUN_DIR '$out/smoke' | tail -1"
step "4 SMOKE chain on the GPU (paper profile's paths, random weights)" bash -c \
  "./run_all.sh -p SMOKE True -p PROFILE paper -p WEIGHTS none -p RUN_DIR '$out/smoke-paper' | tail -1"
step "5 every stage at the paper profile's shapes (KTH), measured" bash -c \
  "'$py' scripts/plan.py --profile paper --dataset kth --device cuda --measure --csv '$out/stage_plan.csv' \
   | tee '$out/plan_paper_kth.txt'"
gpus=$("$py" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
if [ "$gpus" -ge 2 ]; then
  step "6 SMOKE chain in two processes (torchrun + DDP over NCCL)" bash -c \
    "./run_all.sh -p SMOKE True -p NPROC 2 -p RUN_DIR '$out/smoke-ddp' | tail -1"
else
  echo "== 6 skipped: one GPU (DDP over NCCL needs two; the gloo DDP tests ran in step 2)"
fi
if [ ${#failed[@]} -eq 0 ]; then
  echo "gpu_check: all passed; outputs in $out"
else
  echo "gpu_check: FAILED: ${failed[*]}; outputs in $out"
  exit 1
fi
