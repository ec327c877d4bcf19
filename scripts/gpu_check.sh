#!/usr/bin/env bash
# The GPU path, checked end to end on a machine with a CUDA GPU (Kaggle, Colab, a workstation). Prints what it
# measured; exits non-zero at the first failure.
#
#   scripts/gpu_check.sh [OUT_DIR]        # default OUT_DIR: outputs/gpu-check-<date>
#
#  1. the device tests (training, validation, plots and the study's helpers with everything on the GPU, every
#     mixed-precision mode) and the DDP equivalence test;
#  2. the SMOKE chain of every notebook on the GPU (run_all.sh -p SMOKE True);
#  3. the measured plan of the paper profile: one adversarial step of i3d_r50 + ResNet-50 at the paper's shapes
#     (random weights, nothing downloaded) -- peak memory, step time, projected hours;
#  4. with two or more GPUs, the SMOKE chain again in two processes (NPROC 2: torchrun + DDP).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
py=.venv/bin/python
out="${1:-outputs/gpu-check-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
"$py" - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("no CUDA device visible to torch: this script checks the GPU path (CPU users: ./run_tests.sh)")
p = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} x {p.name} "
      f"({p.total_memory / 2**30:.1f} GiB), bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no (fp16 + GradScaler)'}")
PY
echo "== 1/4 device, precision and DDP tests"
"$py" -m pytest -q tests/test_device.py tests/test_precision.py tests/test_distributed.py
echo "== 2/4 the SMOKE chain on the GPU"
./run_all.sh -p SMOKE True -p RUN_DIR "$out/smoke" | tail -1
echo "== 3/4 the paper profile's measured plan (KTH shapes)"
"$py" scripts/plan.py --profile paper --dataset kth --device cuda | tee "$out/plan_paper.txt"
gpus=$("$py" -c 'import torch; print(torch.cuda.device_count())')
if [ "$gpus" -ge 2 ]; then
  echo "== 4/4 the SMOKE chain in two processes (torchrun + DDP)"
  ./run_all.sh -p SMOKE True -p NPROC 2 -p RUN_DIR "$out/smoke-ddp" | tail -1
else
  echo "== 4/4 skipped: one GPU (DDP needs two)"
fi
echo "gpu_check: all passed; outputs in $out"
