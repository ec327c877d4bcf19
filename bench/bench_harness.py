"""Where a run's minutes go: per notebook, and per kind of training inside it, read from the run's run.log.

    .venv/bin/python bench/bench_harness.py outputs/<run> [outputs/<other run> ...]

Per notebook: wall seconds (run_all's lines). Per kind of training, the seconds each training reported for itself
-- pretraining, game epochs, validation networks (by network), E's output encoded for a suite, RAPrivacy's
epochs, the U-Net -- summed over the notebook (trainings side by side overlap, so these add up to more than the
wall time when two processes ran). Two runs side by side: the ratio of their wall times per notebook (a lever's
speed-up, when the runs differ by that lever only and ran on an otherwise idle machine).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bdqlib.experiments.page import notebook_times, wall_seconds  # noqa: E402

PRETRAINS_IN = "02_adversarial_train"  # the small networks' pretraining reports as probes there
KINDS = [  # (kind, pattern of a line that ends with the training's own seconds)
    ("validation network", re.compile(r"\[probe (\S+) on \w+\] best validation .*\((\d+)s\)$")),
    ("game epoch", re.compile(r"\[(adversarial)\] epoch .*\(([\d.]+)s\)$")),
    ("encode E's output", re.compile(r"\[(encode)\] E's output cached.*\(([\d.]+)s\)$")),
    ("RAPrivacy epoch", re.compile(r"\[(raprivacy)\] epoch .*\(([\d.]+)s\)$")),
    ("U-Net epoch", re.compile(r"\[(reconstruct)\] epoch .*\(([\d.]+)s\)$")),
]


def breakdown(run_dir: Path) -> pd.DataFrame:
    """Rows (notebook, kind, network, seconds) of every training line of run.log."""
    rows, notebook = [], None
    for line in (run_dir / "run.log").read_text(errors="replace").splitlines():
        m = re.match(r"^\[run_all\] (\d\d_\w+) \.\.\.", line)
        if m:
            notebook = m.group(1)
        line = re.sub(r"^\[seed \d+\] ", "", line.strip())
        for kind, pattern in KINDS:
            m = pattern.search(line)
            if m:
                if kind == "validation network" and notebook == PRETRAINS_IN:
                    kind = "pretraining"
                rows.append({"notebook": notebook, "kind": kind, "network": m.group(1), "seconds": float(m.group(2))})
                break
    return pd.DataFrame(rows, columns=["notebook", "kind", "network", "seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    walls, totals = {}, {}
    for run_dir in args.runs:
        times = notebook_times(run_dir)
        walls[run_dir.name] = times.set_index("notebook")["seconds"]
        totals[run_dir.name] = wall_seconds(run_dir, times)  # notebooks side by side count once
        print(f"\n== {run_dir} (total {totals[run_dir.name]:.0f} s wall)")
        df = breakdown(run_dir)
        table = df.pivot_table(index="notebook", columns="kind", values="seconds", aggfunc="sum", fill_value=0)
        table = table.reindex(walls[run_dir.name].index, fill_value=0)
        table.insert(0, "wall", walls[run_dir.name])
        print(table.round(0).to_string())
        per_net = df[df["kind"] == "validation network"].groupby("network")["seconds"].agg(["count", "sum", "mean"])
        print("\nvalidation networks (training seconds, all notebooks):")
        print(per_net.round(1).sort_values("sum", ascending=False).to_string())
    if len(walls) > 1:
        both = pd.DataFrame(walls)
        both.loc["total"] = pd.Series(totals)  # wall: side-by-side notebooks once
        names = list(walls)
        both["ratio"] = both[names[0]] / both[names[-1]]
        print(f"\nwall seconds per notebook; ratio = {names[0]} / {names[-1]}")
        print(both.round(2).to_string())


if __name__ == "__main__":
    main()
