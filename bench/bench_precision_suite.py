"""The validation suite on one run's frozen encoders in fp32 and under amp "auto" (bf16 on a CPU that has it): does
bf16 change what the action networks and the attackers reach? The lever of bench_precision.py, checked on accuracy.

    BDQ_DATA_ROOT=<the run's data root> .venv/bin/python bench/bench_precision_suite.py RUN_DIR [--encoders raw,bdq:1]

Each (encoder, precision) suite trains in a process of its own, side by side (one thread each), into a scratch
folder (the run folder is only read). Prints every network's best validation and test accuracy, the suite's
validation-chosen numbers with 95 % intervals over test videos, and the wall time of each suite.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd


def suite(run_dir: str, method: str, alpha, amp: str, scratch: str) -> tuple:
    import torch
    torch.set_num_threads(1)
    from bdqlib.experiments import pipeline
    from bdqlib.experiments.validate import validate_encoder
    run = pipeline.open_run(run_dir)
    cfg = replace(run.cfg, amp=amp)
    data = pipeline.load_data(run, log=None)
    encoder = pipeline.encoder_of(run, method, alpha)
    t0 = time.time()
    rows, predictions = validate_encoder(encoder, data, cfg, method=method, alpha=alpha, log=None,
                                         checkpoint_dir=Path(scratch) / f"{method}-{alpha}-{amp}")
    return rows, predictions, time.time() - t0


def main() -> None:
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    from bdqlib.report import tables
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--encoders", default="raw,bdq:1", help="method[:alpha], comma-separated")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    specs = [(m, float(a) if a else None) for m, _, a in (e.partition(":") for e in args.encoders.split(","))]
    with tempfile.TemporaryDirectory() as scratch, ProcessPoolExecutor(
            args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {(m, a, amp): pool.submit(suite, args.run_dir, m, a, amp, scratch)
                   for m, a in specs for amp in ("off", "auto")}
        done = {k: f.result() for k, f in futures.items()}
    pd.set_option("display.width", 200)
    for (m, a, amp), (rows, _, seconds) in done.items():
        print(f"\n{m} alpha={a} amp={amp} ({'fp32' if amp == 'off' else 'auto'}): {seconds:.0f} s")
        print(pd.DataFrame(rows)[["attacker", "action_network", "action_top1", "privacy_top1"]].to_string())
    print("\nvalidation-chosen, 95 % intervals over test videos (one seed):")
    for amp in ("off", "auto"):
        results = pd.concat([pd.DataFrame(done[m, a, amp][0]) for m, a in specs], ignore_index=True)
        predictions = pd.concat([pd.DataFrame(done[m, a, amp][1]) for m, a in specs], ignore_index=True)
        print(f"amp={amp}")
        print(tables.with_intervals(tables.Evaluation(results, predictions).table()).to_string())


if __name__ == "__main__":
    main()
