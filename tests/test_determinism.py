"""The deterministic mode: a conv forward and a softmax give the same bits whatever ISA the machine offers."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
PROBE = r"""
import json, bdqlib, torch
torch.manual_seed(0)
x = torch.randn(2, 3, 5, 24, 24)
conv = torch.nn.Conv3d(3, 8, 3, padding=1)
y = conv(x)
s = torch.log_softmax(torch.randn(64, 1000) * 3, dim=1)
print(json.dumps({"conv": y.detach().numpy().tobytes().hex()[:4000] + str(float(y.sum())),
                  "softmax": s.numpy().tobytes().hex()[:4000] + str(float(s.sum())),
                  "capability": torch.backends.cpu.get_cpu_capability()}))
"""


def probe(env_extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY",
                                                             "BDQ_DETERMINISTIC")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, cwd=REPO,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AMX"),
                    reason="this machine has one ISA level only (AVX512 absent): nothing to compare across")
def test_the_mode_gives_the_same_bits_under_two_isa_caps():
    """Capping the machine to AVX2 from outside stands in for another machine of the kind that lacks AVX-512. Without
    the mode the bits may differ between the two; with it they must not."""
    wide = probe({"BDQ_DETERMINISTIC": "1"})
    narrow = probe({"BDQ_DETERMINISTIC": "1", "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"})
    assert wide["capability"] == narrow["capability"] == "AVX2"
    assert wide["conv"] == narrow["conv"] and wide["softmax"] == narrow["softmax"]


def test_the_mode_refuses_to_start_after_torch_chose_its_kernels():
    code = "import torch, os; os.environ['BDQ_DETERMINISTIC'] = '1'; import bdqlib"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                         env={k: v for k, v in os.environ.items() if k != "BDQ_DETERMINISTIC"})
    if torch.backends.cpu.get_cpu_capability().lower() == "avx2":
        pytest.skip("this machine's kernels are AVX2 anyway")
    assert out.returncode != 0 and "before starting Python" in out.stderr


def test_run_json_records_what_the_numbers_depend_on():
    from bdqlib.platform import environment
    env = environment()
    for key in ("torch", "onednn", "opencv", "numpy", "cpu", "threads", "deterministic", "commit",
                "aten_cpu_capability"):
        assert key in env, key
    assert isinstance(env["cpu"]["flags"], list) and env["deterministic"] is False


def test_run_all_exports_the_caps_so_a_notebook_may_import_torch_first():
    """BDQ_DETERMINISTIC=1 ./run_all.sh: notebook 02 imports torch before bdqlib; the caps exported by run_all.sh
    (scripts/deterministic_env.sh) make its kernels the capped ones, where bdqlib alone would refuse."""
    assert "source scripts/deterministic_env.sh" in (REPO / "run_all.sh").read_text()
    script = ("source scripts/deterministic_env.sh; \"$BDQ_PY\" -c 'import torch, bdqlib; "
              "print(torch.backends.cpu.get_cpu_capability())'")
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")}
    on = subprocess.run(["bash", "-c", script], env={**env, "BDQ_DETERMINISTIC": "1", "BDQ_PY": sys.executable},
                        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert on.returncode == 0, on.stderr[-2000:]
    assert on.stdout.split()[-1].lower() == "avx2"
    off = subprocess.run(["bash", "-c", script + "; echo \"[${ONEDNN_MAX_CPU_ISA:-}]\""],
                         env={k: v for k, v in env.items() if k != "BDQ_DETERMINISTIC"} | {"BDQ_PY": sys.executable},
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert off.returncode == 0 and off.stdout.split()[-1] == "[]"  # off: nothing exported
