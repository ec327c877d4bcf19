"""Synthetic people as silhouettes through Weizmann's protocol: how identifiable they are, beside real people.

    .venv/bin/python docs/studies/calibrate_silhouettes.py --real <...>/classification_masks.mat \
        --out outputs/<name> [--spread 1] [--within 0] [--placement random] [--crop frame] [--smoke]

Question (issue "Real people", item 4; docs/weizmann.md): do the synthetic population's build and gait cues make
people as identifiable from shape and motion as real people are? The synthetic people (bdqlib.data.silhouettes,
with the cue knobs `--spread`, `--within`, `--placement`) are rendered as white-on-black silhouettes in the layout
of Weizmann's masks file, video for video as long as the real file's videos (9 people, 10 actions, lena's second
takes), and go through the same reader, the same 5 video-level folds, the same cpu-profile attack suite and action
networks as the real silhouettes (docs/studies/weizmann_raw_suite.py). Prints raw action and privacy with 95 %
intervals (folds, then test videos) -- compare them with the real file's run of the same crop. The masks file is
written to <out>-masks/ (once per parameter set).
"""
import argparse
from pathlib import Path

from weizmann_raw_suite import raw_suite  # docs/studies/ is the script's folder, so it is on sys.path

from bdqlib.data.silhouettes import Cues, write_silhouette_masks
from bdqlib.data.weizmann import video_lengths

MEDIAN_FRAMES = 56  # the real videos' median length (28-146 frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", default="", help="the real masks file, whose videos' lengths are copied (default: every "
                    "video 56 frames, the real median)")
    ap.add_argument("--out", required=True, help="the run folder (resumes if it exists with the same config)")
    ap.add_argument("--spread", type=float, default=1.0, help="between-person spread of build and gait (0-1)")
    ap.add_argument("--within", type=float, default=0.0, help="per-video SD of build and gait, fraction of range")
    ap.add_argument("--placement", default="random", choices=("fixed", "random"))
    ap.add_argument("--population", type=int, default=0, help="the synthetic population's seed")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--crop", default="frame", choices=("square", "frame"))
    ap.add_argument("--smoke", action="store_true", help="SMOKE sizes and 3 people (a check that the path runs)")
    args = ap.parse_args()
    cues = Cues(spread=args.spread, within=args.within, placement=args.placement)
    lengths = video_lengths(args.real) if args.real else MEDIAN_FRAMES
    if args.smoke:
        lengths = 24
    masks = write_silhouette_masks(Path(f"{args.out}-masks"), people=3 if args.smoke else 9, lengths=lengths,
                                   seed=args.population, cues=cues)
    found = raw_suite(masks, args.out, seeds=args.seeds, crop=args.crop, smoke=args.smoke)
    print(f"synthetic silhouettes {cues}, population {args.population}: "
          + ", ".join(f"raw {m} {p:.3f} ({lo:.3f}-{hi:.3f})" for m, (p, lo, hi) in found.items()))


if __name__ == "__main__":
    main()
