"""A profile's plan on this machine: time and disk of the game, memory of every training stage per GPU.

    python scripts/plan.py                                   # the cpu profile, synthetic-sized
    python scripts/plan.py --profile paper --dataset kth     # the paper's KTH setup: stage table for common GPUs
    python scripts/plan.py --profile paper --csv docs/stage_plan_paper_kth.csv --no-time
    python scripts/plan.py --profile paper --device cuda --measure   # on a GPU: every stage measured for real

Class counts and training-set sizes are the datasets' (KTH with the video split: 25 people, 6 actions, ~1200
training clips; SBU: 13 pairs, 8 interactions, 175 training sequences; IPN: 2 genders, 13 gestures, ~3000
training segments), so no data is read. Nothing is downloaded: the networks start from random weights.
"""
from __future__ import annotations

import argparse
import ast

import torch

from bdqlib.config import make_config
from bdqlib.engine.steps import resolve_device
from bdqlib.experiments import plan as planning
from bdqlib.config import run_default

DATASETS = {"synthetic": (6, 10, 480), "kth": (6, 25, 1196), "sbu": (8, 13, 175), "ipn": (13, 2, 3000)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu", choices=("cpu", "paper"))
    ap.add_argument("--dataset", default="synthetic", choices=sorted(DATASETS))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a config field")
    ap.add_argument("--steps", type=int, default=3, help="timed steps of the game probe (median)")
    ap.add_argument("--no-time", action="store_true", help="skip the timed game step (slow at paper shapes on a CPU)")
    ap.add_argument("--measure", action="store_true", help="CUDA only: measure every stage for real")
    ap.add_argument("--csv", default="", help="write the stage table here")
    args = ap.parse_args()
    fields = {}
    for item in args.set:
        name, _, value = item.partition("=")
        try:
            fields[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            fields[name] = value
    cfg = make_config(args.profile, dataset=args.dataset, **fields)
    actions, subjects, clips = DATASETS[args.dataset]
    device = resolve_device(args.device)
    unet = {k: run_default(args.profile, "UNET")[k] for k in ("width", "depth")}
    print(f"profile {args.profile}, dataset {args.dataset} ({actions} actions, {subjects} identities, {clips} "
          f"training clips), T {cfg.action_model}, P {cfg.privacy_model}, batch {cfg.batch_size} x {cfg.num_frames} "
          f"frames x {cfg.size} px, privacy_frames {cfg.privacy_frames}, val_frames {cfg.val_frames}; torch "
          f"{torch.__version__}")
    if not args.no_time:
        plan = planning.make_plan(cfg, num_actions=actions, num_subjects=subjects, train_clips=clips, device=device,
                                  steps=args.steps)
        print(planning.describe(plan))
    table = planning.stage_plan(cfg, num_actions=actions, num_subjects=subjects, unet=unet, log=print)
    print("\nMemory per stage (accounted on the meta device, fp32; per card: the settings that fit batch "
          f"{cfg.batch_size} under mixed precision):")
    print(table.round(3).to_string(index=False))
    if args.csv:
        table.round(4).to_csv(args.csv, index=False)
        print(f"written: {args.csv}")
    if args.measure:
        measured = planning.measure_stages(cfg, num_actions=actions, num_subjects=subjects, device=device, unet=unet)
        print("\nMeasured on this GPU:")
        print(measured.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
