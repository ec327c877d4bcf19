"""The attack suite's search: which attacker networks and training recipes find the most identity, on VALIDATION.

    .venv/bin/python docs/studies/attack_search.py --run outputs/<a finished default run> [--out docs/studies]

For each encoder family of a finished run -- the raw video, BDQ trained with the adversary (alpha = the run's) and
without (alpha = 0) -- every candidate attacker (network x initialisation x training recipe, bdqlib.train.probes)
is trained on the encoder's frozen output of the training split, each to its best validation epoch, exactly as the
suite is. Only validation accuracies are recorded: the test split is not read by this search (train_probe computes
a test accuracy; it is dropped here, unseen). The budget -- candidates, epochs and seconds -- is printed and written
with the results (attack_search.csv). The suite of the cpu profile (bdqlib.config) keeps, per encoder family, the
candidates that were best on validation.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from bdqlib.engine.steps import resolve_device
from bdqlib.experiments import pipeline
from bdqlib.train.probes import EncodedData, parse_probes, train_probe

CANDIDATES = ("small2d", "small2d:strong", "res2d@scratch", "res2d@scratch:strong", "wide2d@scratch",
              "wide2d@scratch:strong", "small3d", "small3d:strong")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="a finished run folder (01-03 done, seed 0)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    args = ap.parse_args()
    run = pipeline.open_run(args.run).for_seed(0)
    data = pipeline.load_data(run, log=None)
    pipeline.pretrain(run, log=None)
    rows, t0 = [], time.time()
    for label, name, alpha in (("raw", "raw", None), (f"bdq alpha={run.cfg.alpha:g}", "bdq", run.cfg.alpha),
                               ("bdq alpha=0", "bdq", 0.0)):
        encoder = pipeline.encoder_of(run, name, alpha)
        encoded = EncodedData(encoder, data, run.cfg, device=resolve_device(run.cfg.device), views=run.cfg.val_views)
        for probe in parse_probes(args.candidates):
            t1 = time.time()
            result = train_probe(probe, encoded, replace(run.cfg), log=None)
            rows.append({"encoder": label, "attacker": probe.name, "val_top1": result.val_top1,
                         "best_epoch": result.best_epoch, "epochs_trained": result.epochs_trained,
                         "seconds": round(time.time() - t1, 1)})  # result.test_top1 is not looked at
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    out = Path(args.out) / "attack_search.csv"
    table.to_csv(out, index=False)
    best = table.loc[table.groupby("encoder")["val_top1"].idxmax()]
    print(table.pivot_table(index="attacker", columns="encoder", values="val_top1", sort=False).round(3).to_string())
    print(f"\nbest on validation per encoder family:\n{best[['encoder', 'attacker', 'val_top1']].to_string(index=False)}")
    print(f"budget: {len(table)} trainings ({table['epochs_trained'].sum()} epochs), {time.time() - t0:.0f} s on "
          f"{torch.get_num_threads()} threads; written {out}")


if __name__ == "__main__":
    main()
