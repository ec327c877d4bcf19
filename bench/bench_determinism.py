"""The deterministic mode's cost: one workload timed in two fresh processes, the default and BDQ_DETERMINISTIC=1.

    .venv/bin/python bench/bench_determinism.py [--steps 30] [--repeats 3]

The workload is what a default run spends its time on: training steps of the cpu profile's small networks (small3d
on clips, small2d and res2d on frames, batch 16 x 8 frames x 48 px) and BDQ's forward and backward. The mode caps
oneDNN's and ATen's kernels to AVX2 and asks torch for deterministic algorithms (bdqlib.platform); the ratio says
what that costs on this machine. Also printed: whether the two processes computed the same bits (they need not:
that is what the mode is for -- its bits are the same on every machine of the kind, the default's are not).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

WORKLOAD = r"""
import hashlib, json, sys, time
import bdqlib, torch
from bdqlib import BDQEncoder
from bdqlib.nets.zoo import build_model
torch.manual_seed(0)
steps = int(sys.argv[1])
x = torch.randn(16, 3, 8, 48, 48)
enc = BDQEncoder()
nets = {"small3d": (build_model("small3d", 6, width=16), "clip"), "small2d": (build_model("small2d", 10, width=32),
        "frame"), "res2d": (build_model("res2d", 10, width=24), "frame")}
opts = {k: torch.optim.Adam(list(m.parameters()) + (list(enc.parameters()) if k == "small3d" else []), 1e-3)
        for k, (m, _) in nets.items()}
y = torch.randint(6, (16,))
t0 = time.perf_counter()
for _ in range(steps):
    for k, (m, level) in nets.items():
        v = enc(x)
        out = m(v) if level == "clip" else m(v.transpose(1, 2).reshape(-1, 3, 48, 48))
        loss = torch.nn.functional.cross_entropy(out, y if level == "clip" else y.repeat_interleave(v.shape[2]) % 10)
        opts[k].zero_grad(); loss.backward(); opts[k].step()
seconds = time.perf_counter() - t0
digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for m, _ in nets.values() for p in m.parameters()))
print(json.dumps({"seconds": seconds, "digest": digest.hexdigest()[:16],
                  "capability": torch.backends.cpu.get_cpu_capability()}))
"""


def run(steps: int, deterministic: bool) -> dict:
    env = {**os.environ, "BDQ_DETERMINISTIC": "1" if deterministic else ""}
    env.pop("ONEDNN_MAX_CPU_ISA", None) if not deterministic else None
    out = subprocess.run([sys.executable, "-c", WORKLOAD, str(steps)], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    times = {False: [], True: []}
    results = {}
    for _ in range(args.repeats):  # interleaved, so a slow spell of the machine hits both
        for det in (False, True):
            results[det] = run(args.steps, det)
            times[det].append(results[det]["seconds"])
    best = {k: min(v) for k, v in times.items()}
    print(f"default ({results[False]['capability']}): {best[False]:.2f} s; deterministic "
          f"({results[True]['capability']}): {best[True]:.2f} s; ratio {best[True] / best[False]:.2f}x "
          f"(best of {args.repeats}, {args.steps} steps of small3d + small2d + res2d with BDQ)")
    print(f"same bits: {results[False]['digest'] == results[True]['digest']}")


if __name__ == "__main__":
    main()
