"""Independent trainings side by side: N jobs one after another with all the cores, against N processes at once
sharing the cores out (what bdqlib.experiments.parallel does with a run's seeds).

    .venv/bin/python bench/bench_seed_workers.py [--jobs 2] [--steps 20] [--repeats 2]

The job is bench_determinism's workload (training steps of the cpu profile's small3d, small2d and res2d with BDQ,
batch 16 x 8 frames x 48 px). Prints the wall time of both ways and the ratio: > 1 means side by side is faster.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_determinism import WORKLOAD  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def start(steps: int, threads: int) -> subprocess.Popen:
    code = f"import torch; torch.set_num_threads({threads})\n" + WORKLOAD
    return subprocess.Popen([sys.executable, "-c", code, str(steps)], cwd=REPO, stdout=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"a job failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def sequential(jobs: int, steps: int, cores: int) -> float:
    t0 = time.perf_counter()
    for _ in range(jobs):
        finish(start(steps, cores))
    return time.perf_counter() - t0


def side_by_side(jobs: int, steps: int, cores: int) -> float:
    t0 = time.perf_counter()
    procs = [start(steps, max(1, cores // jobs)) for _ in range(jobs)]
    for p in procs:
        finish(p)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    seq, par = [], []
    for _ in range(args.repeats):  # interleaved, so a slow spell of the machine hits both
        seq.append(sequential(args.jobs, args.steps, cores))
        par.append(side_by_side(args.jobs, args.steps, cores))
    print(f"{args.jobs} jobs of {args.steps} steps on {cores} cores: one after another ({cores} threads) "
          f"{min(seq):.1f} s; side by side ({args.jobs} processes of {max(1, cores // args.jobs)} thread(s)) "
          f"{min(par):.1f} s; speed-up {min(seq) / min(par):.2f}x (best of {args.repeats}; process start included)")


if __name__ == "__main__":
    main()
