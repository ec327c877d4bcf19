"""The attack suite and the action networks on RAW Weizmann silhouettes, 5 video-level folds (the seeds 0-4).

    .venv/bin/python docs/studies/weizmann_raw_suite.py --masks <...>/classification_masks.mat --out outputs/<name>
        [--crop frame]   # whole 48 x 60 frames instead of 48 x 48 centre crops (the outside CNN's input)

Question (docs/weizmann.md): can the harness's attack suite identify real people from raw silhouettes at all --
the earlier suites reached 0.20-0.22 (chance 0.14) where a CNN written outside the project reached 0.56. Only raw
is validated (no game is trained): a run folder of the cpu profile, its suite as bdqlib.config says (or
--attackers), each network trained to its best validation epoch; results.csv and predictions.csv as the notebooks
write them, and the headline with intervals (folds, then test videos) printed at the end.
"""
import argparse

from bdqlib.experiments import pipeline
from bdqlib.experiments.run import start_run
from bdqlib.report import summary
from bdqlib.report.stats import interval


def raw_suite(masks, out, *, seeds="0,1,2,3,4", crop="square", attackers=None, smoke=False, log=print) -> dict:
    """Validate raw on a masks file (every fold of `seeds`) in run folder `out`; metric -> (point, lo, hi)."""
    extra = {} if attackers is None else {"attackers": attackers}
    run = start_run(dataset="weizmann", data_dir=str(masks), profile="cpu", seeds=seeds, run_dir=str(out), crop=crop,
                    smoke=smoke, **extra)
    pipeline.evaluate_each(run, [("raw", None)])
    log(run.results(attacker=None).to_string())
    reps = summary.evaluation(run).replicates(("raw", None))
    found = {}
    for metric in ("action", "privacy"):
        point, r = reps[metric]
        found[metric] = (point, *interval(r))
        log(f"raw {metric}: {point:.3f} (95 % {found[metric][1]:.3f}-{found[metric][2]:.3f}; folds, then test videos)")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--masks", required=True, help="the masks file (append #aligned_masks for the aligned struct)")
    ap.add_argument("--out", required=True, help="the run folder (resumes if it exists with the same config)")
    ap.add_argument("--attackers", default=None, help="the suite (default: the profile's)")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--crop", default="square", help="square (48 x 48 centre crops) or frame (the whole 48 x 60)")
    ap.add_argument("--smoke", action="store_true", help="SMOKE sizes (a check that the path runs)")
    args = ap.parse_args()
    raw_suite(args.masks, args.out, seeds=args.seeds, crop=args.crop, attackers=args.attackers, smoke=args.smoke)


if __name__ == "__main__":
    main()
