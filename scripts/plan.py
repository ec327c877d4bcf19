"""Print the measured plan (bdqlib.plan) of a profile on this machine, and its projection for a 16 GB GPU.

    python scripts/plan.py                                   # the cpu profile, synthetic-sized
    python scripts/plan.py --profile paper --dataset kth     # the paper's KTH setup (heavy: minutes on a CPU)
    python scripts/plan.py --profile paper --set batch_size=8 --set amp=fp16 --device cuda

Class counts and training-set sizes are the datasets' (KTH with the video split: 25 people, 6 actions, ~1200
training clips; SBU: 13 pairs, 8 interactions, 175 training sequences; IPN: 2 genders, 13 gestures, ~3000
training segments), so no data is read. Nothing is downloaded: the networks start from random weights.
"""
from __future__ import annotations

import argparse
import ast

from bdqlib import plan as planning
from bdqlib.config import make_config
from bdqlib.training import resolve_device

DATASETS = {"synthetic": (6, 10, 480), "kth": (6, 25, 1196), "sbu": (8, 13, 175), "ipn": (13, 2, 3000)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="cpu", choices=("cpu", "paper"))
    ap.add_argument("--dataset", default="synthetic", choices=sorted(DATASETS))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a config field")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per probe (median)")
    ap.add_argument("--gpu-gib", type=float, default=16.0)
    ap.add_argument("--gpu-tflops", type=float, default=20.0)
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
    plan = planning.make_plan(cfg, num_actions=actions, num_subjects=subjects, train_clips=clips, device=device,
                              steps=args.steps)
    print(f"profile {args.profile}, dataset {args.dataset} ({actions} actions, {subjects} identities, {clips} "
          f"training clips), T {cfg.action_model}, P {cfg.privacy_model}, privacy_frames {cfg.privacy_frames}")
    print(planning.describe(plan))
    print(planning.advice(plan))
    gpu = planning.for_gpu(plan, memory_gib=args.gpu_gib, tflops=args.gpu_tflops)
    print(f"projected for a {args.gpu_gib:g} GB GPU with mixed precision (activations at half their fp32 bytes; "
          f"{args.gpu_tflops:g} TFLOP/s sustained, an assumption): peak {gpu['peak_gib']:.1f} GiB -> "
          f"{'fits' if gpu['fits'] else 'does NOT fit'}; largest batch {gpu['largest_batch']}; step "
          f"{gpu['step_seconds']:.2f} s, epoch {gpu['epoch_minutes']:.1f} min, adversarial training "
          f"{gpu['adversarial_hours']:.1f} h")


if __name__ == "__main__":
    main()
