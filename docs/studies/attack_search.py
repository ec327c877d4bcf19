"""The attack suite's search: which attacker networks and training recipes find the most identity, on VALIDATION.

    .venv/bin/python docs/studies/attack_search.py --run outputs/<a finished default run> [--out docs/studies]
        [--encoders raw,alpha,alpha0] [--candidates small2d,res2d@scratch:strong/60,...]

For each encoder family of a finished run -- the raw video, BDQ trained with the adversary (alpha = the run's) and
without (alpha = 0) -- every candidate attacker (network x initialisation x training recipe x epochs,
bdqlib.train.probes; "NAME/E" trains NAME with val_epochs = E, which is a plateau recipe's cap and a one-cycle's
length) is trained on the encoder's frozen output of the training split, each to its best validation epoch, exactly
as the suite is. The candidates run side by side, one thread each (bdqlib.experiments.parallel), on E's output
encoded once per encoder. Only validation accuracies are recorded: the test split is not read by this search
(train_probe computes a test accuracy; it is dropped here, unseen). The budget -- candidates, epochs and seconds --
is printed and written with the results (attack_search.csv). The suite of the cpu profile (bdqlib.config) keeps,
per encoder family, the candidates that were best on validation.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from bdqlib.engine.steps import resolve_device
from bdqlib.experiments import parallel, pipeline
from bdqlib.train.probes import EncodedData, parse_probes, train_probe

CANDIDATES = ("small2d", "small2d:strong/60", "res2d@scratch", "res2d@scratch:strong/60",
              "res2d@scratch:strong/120", "wide2d@scratch:strong/60", "small3d", "small3d@scratch:strong/60")


def encoder_families(run) -> dict:
    """label -> (method, alpha) of the encoders searched."""
    return {"raw": ("raw", None), "alpha": (f"bdq alpha={run.cfg.alpha:g}", run.cfg.alpha),
            "alpha0": ("bdq alpha=0", 0.0)}


def candidate(spec: str) -> tuple:
    """"res2d@scratch:strong/60" -> ("res2d@scratch:strong", 60); no "/E": (name, None)."""
    name, _, epochs = spec.partition("/")
    if epochs and not epochs.isdigit():
        raise ValueError(f"candidate {spec!r}: the part after '/' must be a number of epochs")
    parse_probes(name)  # names an unknown network or recipe here, before anything trains
    return name, int(epochs) if epochs else None


def encoded_output(run, alpha, *, store=None, label: str = "") -> EncodedData:
    """E's output of the run's raw video (alpha None) or of its BDQ encoder at `alpha`, as the suite trains on it."""
    encoder = pipeline.encoder_of(run, "raw" if alpha is None else "bdq", alpha)
    return EncodedData(encoder, pipeline.load_data(run, log=None), run.cfg, device=resolve_device(run.cfg.device),
                       views=run.cfg.val_views, store=store, identity={"encoder": label} if label else None)


def train_candidate(run_dir: str, family: str, spec: str, store: str) -> dict:
    """One candidate on one encoder (a worker of the pool): its validation accuracy, epochs and seconds."""
    run = pipeline.open_run(run_dir).for_seed(0)
    label, alpha = encoder_families(run)[family]
    name, epochs = candidate(spec)
    cfg = run.cfg if epochs is None else replace(run.cfg, val_epochs=epochs)
    encoded = encoded_output(run, alpha, store=store, label=label)
    t0 = time.time()
    result = train_probe(parse_probes(name)[0], encoded, cfg, log=None)  # result.test_top1 is not looked at
    return {"encoder": label, "attacker": spec, "val_top1": result.val_top1, "best_epoch": result.best_epoch,
            "epochs_trained": result.epochs_trained, "seconds": round(time.time() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="a finished run folder (01-03 done, seed 0)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    ap.add_argument("--encoders", default="raw,alpha,alpha0", help="of: raw, alpha (the run's), alpha0")
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--workers", type=int, default=0, help="processes (0: one per core)")
    args = ap.parse_args()
    specs = [s.strip() for s in args.candidates.split(",") if s.strip()]
    for s in specs:
        candidate(s)
    run = pipeline.open_run(args.run).for_seed(0)
    families = [f.strip() for f in args.encoders.split(",")]
    unknown = set(families) - set(encoder_families(run))
    if unknown:
        raise SystemExit(f"--encoders: unknown {sorted(unknown)}; known: {', '.join(encoder_families(run))}")
    pipeline.load_data(run, log=None)  # the frame cache, then the pretrained weights, once, before the workers
    pipeline.pretrain(run, log=None)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = {(f, s): parallel.Job(train_candidate, (str(run.run_dir), f, s, os.path.join(tmp, f"{f}.pt")),
                                     threads=1) for f in families for s in specs}
        workers, _ = parallel.plan_workers(len(jobs), args.workers)
        done = parallel.run_graph(jobs, workers=workers, log=print)
    table = pd.DataFrame([done[k] for k in jobs])
    out = Path(args.out) / "attack_search.csv"
    table.to_csv(out, index=False)
    best = table.loc[table.groupby("encoder")["val_top1"].idxmax()]
    print(table.pivot_table(index="attacker", columns="encoder", values="val_top1", sort=False).round(3).to_string())
    print(f"\nbest on validation per encoder family:\n{best[['encoder', 'attacker', 'val_top1']].to_string(index=False)}")
    print(f"budget: {len(table)} trainings ({table['epochs_trained'].sum()} epochs, {table['seconds'].sum():.0f} "
          f"training seconds) in {time.time() - t0:.0f} s on {workers} processes of one thread; written {out}")


if __name__ == "__main__":
    main()
