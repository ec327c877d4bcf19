"""One encoder of two runs on the same folds and test videos, compared paired: e.g. raw Weizmann silhouettes with
48 x 48 centre crops against whole 48 x 60 frames (docs/weizmann.md).

    .venv/bin/python docs/studies/compare_runs.py outputs/<run A> outputs/<run B> [--method raw] [--alpha A]

The two runs' results.csv and predictions.csv are read as one table, the encoder renamed "<method>@<run>" in each,
and bdqlib.report.tables.Evaluation gives each its mean with the 95 % interval and the paired verdict on privacy
and action (the same bootstrap resamples of seeds, then test videos, for both). The runs must share seeds and test
videos (the same dataset and split); refused otherwise.
"""
import argparse
from pathlib import Path

import pandas as pd

from bdqlib.report.tables import Evaluation, with_intervals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs=2, type=Path)
    ap.add_argument("--method", default="raw")
    ap.add_argument("--alpha", type=float, default=None)
    args = ap.parse_args()
    results, preds, keys = [], [], []
    for run in args.runs:
        r, p = pd.read_csv(run / "results.csv"), pd.read_csv(run / "predictions.csv")
        pick = (lambda d: (d["method"] == args.method) & (d["alpha"].isna() if args.alpha is None
                                                           else d["alpha"] == args.alpha))
        name = f"{args.method}@{run.name}"
        results.append(r[pick(r)].assign(method=name))
        preds.append(p[pick(p)].assign(method=name))
        keys.append((name, args.alpha))
    videos = [set(map(tuple, p[["seed", "video"]].drop_duplicates().to_numpy())) for p in preds]
    if videos[0] != videos[1]:
        raise SystemExit(f"{args.runs[0]} and {args.runs[1]} do not test the same seeds and videos: not paired")
    # the reference ("raw") must exist for the derived metrics; privacy and action need none
    ev = Evaluation(pd.concat(results, ignore_index=True), pd.concat(preds, ignore_index=True))
    print(with_intervals(ev.table(), metrics=("action", "privacy")).to_string(index=False))
    for metric in ("privacy", "action"):
        print(ev.verdict(keys[1], keys[0], metric).text)


if __name__ == "__main__":
    main()
