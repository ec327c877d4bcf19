"""Choose the cpu profile's schedules on the VALIDATION split only, and print what each choice was based on.

    .venv/bin/python docs/studies/tune_cpu_profile.py --out /tmp/tune [--study game|attack|all]

Studies (each prints validation accuracies only -- the test split is never read here):
  game    adversarial epochs (warm-up 4, then 8 / 16 / 24 epochs of play) at alpha = 1; each encoder judged by the
          attack suite's best validation accuracy (the max over attackers of their best-validation accuracy).
  attack  the attack protocol's patience: does training each validation network longer (patience 5 vs 10, at
          most 40 / 60 epochs) or on more frames per step find a better validation accuracy?
  variants  the game's options beyond the paper (bdqlib.train.game) at alpha = 1, one at a time: the entropy
          of the clip score, 2 updates of P per step, P restarted every 90 steps of play (3 epochs)
  hardening  issue 12's options at alpha = 1: the paper game, a learnable dead zone on the difference, and an
          ensemble of attackers in E's loss (small3d, temporal, and res2d@scratch beside P) as worst case or mean
  capacity  what the 16-parameter encoder family can reach at all, without a game: fixed encoders on a grid of
          blur sigma (1, and 5, where the 5x5 window is almost a box filter) and quantizer levels (the 15
          initial bins: 16 levels; the bins stacked on fewer thresholds: 6, 3 or 2 levels), each judged by T and
          the attack suite as above
Results go to <out>/tune.csv; config.py's comments quote them. --synthetic-seed / --subjects draw another synthetic
population (an unseen configuration); its pretraining population is drawn to share nobody with it.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from pathlib import Path

import pandas as pd
import torch

from bdqlib import BDQEncoder
from bdqlib.config import parse_names
from bdqlib.engine.steps import resolve_device
from bdqlib.experiments import pipeline
from bdqlib.core.encoder import bdq_encoder as make_encoder
from bdqlib.train.game import train_adversarial
from bdqlib.train.probes import EncodedData, parse_probes, train_probe


def suite_val(encoder, data, cfg) -> dict:
    """Best validation accuracy of T and of every attacker (no test number is computed for the choice)."""
    encoded = EncodedData(encoder, data, cfg, device=resolve_device(cfg.device), views=cfg.val_views, log=None)
    out = {}
    for probe in [parse_probes(cfg.action_model, "action")[0]] + parse_probes(cfg.attackers):
        t0 = time.time()
        # train_probe tests the restored weights at the end; that number is dropped here, never printed or saved
        r = train_probe(probe, encoded, cfg, log=None)
        out[f"{probe.target}:{probe.name}"] = (r.val_top1, r.best_epoch, r.epochs_trained, time.time() - t0)
    return out


def stacked_bins(levels: int, num_bins: int = 15) -> torch.Tensor:
    """Bin centres giving `levels` output levels: the num_bins bins shared out over levels - 1 evenly spaced
    thresholds of the normalised range [0, num_bins] (levels = num_bins + 1: the initial, uniform bins)."""
    if levels == num_bins + 1:
        return torch.arange(num_bins, dtype=torch.float32) + 0.5
    thresholds = num_bins * torch.arange(1, levels) / levels
    return thresholds[torch.arange(num_bins) * (levels - 1) // num_bins].float()


def fixed_encoder(cfg, sigma: float, levels: int):
    """A BDQ encoder with its 16 numbers set by hand (no game): blur sigma and `levels` quantizer levels."""
    enc = make_encoder(cfg)
    with torch.no_grad():
        enc.log_sigma.fill_(math.log(sigma))
        enc.bin_centres.copy_(stacked_bins(levels, enc.num_bins))
    return enc.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the runs and tune.csv")
    parser.add_argument("--study", choices=("game", "attack", "variants", "hardening", "capacity", "all"),
                        default="all")
    parser.add_argument("--synthetic-seed", type=int, default=0, help="the synthetic population's seed")
    parser.add_argument("--subjects", type=int, default=10, help="people in the synthetic population")
    parser.add_argument("--only", default="", help="hardening: comma-separated settings to run (default: all)")
    args = parser.parse_args()
    out = Path(args.out)
    os.environ.setdefault("BDQ_OUTPUTS_ROOT", str(out))
    run = pipeline.start_run(run_dir=out / "base", synthetic_seed=args.synthetic_seed,
                             synthetic_subjects=args.subjects)
    data = pipeline.load_data(run, log=None)
    pipeline.pretrain(run, log=None)
    rows = []

    def record(study, setting, cfg, encoder):
        for name, (val, best, epochs, seconds) in suite_val(encoder, data, cfg).items():
            rows.append({"study": study, "setting": setting, "synthetic_seed": args.synthetic_seed,
                         "subjects": args.subjects, "network": name, "val_top1": val, "best_epoch": best,
                         "epochs": epochs, "seconds": round(seconds, 1)})
            print(rows[-1], flush=True)
        pd.DataFrame(rows).to_csv(out / "tune.csv", index=False)

    if args.study in ("game", "all"):
        for play in (8, 16, 24):  # 12, 20, 28 epochs in all
            cfg = dataclasses.replace(run.cfg, epochs=4 + play, warmup_epochs=4)
            result = train_adversarial(cfg, data, out / f"game-{4 + play}", log=None)
            record("game", f"epochs={4 + play}", cfg, result.encoder)
    if args.study in ("attack", "all"):
        raw = BDQEncoder(False, False, False)
        enc = train_adversarial(run.cfg, data, out / "game-20", log=None).encoder
        for setting, changes in (("patience=5 (profile)", {}),
                                 ("patience=10, max 60", {"val_patience": 10, "val_epochs": 60}),
                                 ("4 frames per step", {"val_frames": 4})):
            cfg = dataclasses.replace(run.cfg, **changes)
            record("attack", f"raw, {setting}", cfg, raw)
            record("attack", f"bdq alpha=1, {setting}", cfg, enc)
    if args.study in ("variants", "all"):
        for setting, changes in (("paper game", {}), ("clip entropy", {"privacy_entropy": "clip"}),
                                 ("2 P steps", {"privacy_steps": 2}),
                                 ("restart P every 90", {"privacy_restart_every": 90})):
            cfg = dataclasses.replace(run.cfg, **changes)
            result = train_adversarial(cfg, data, out / f"variant-{setting.replace(' ', '-')}", log=None)
            record("variants", setting, cfg, result.encoder)
    if args.study == "hardening":  # not in "all": it is issue 12's study, run on its own
        ensemble = "small3d,res2d@scratch"
        for setting, changes in (("paper game", {}), ("dead zone", {"dead_zone": True}),
                                 ("ensemble worst", {"privacy_ensemble": ensemble}),
                                 ("ensemble mean", {"privacy_ensemble": ensemble, "privacy_ensemble_mode": "mean"})):
            if args.only and setting not in parse_names(args.only):
                continue
            cfg = dataclasses.replace(run.cfg, **changes)
            t0 = time.time()
            result = train_adversarial(cfg, data, out / f"hardening-{setting.replace(' ', '-')}", log=None)
            last = result.history.iloc[-1]
            print(f"[{setting}] game {time.time() - t0:.0f}s; sigma {last.get('sigma', float('nan')):.3f}, dead zone "
                  f"{last.get('dead_zone', float('nan')):.3f}, bins {[round(b, 2) for b in result.encoder.bins.tolist()]}",
                  flush=True)
            record("hardening", setting, cfg, result.encoder)
    if args.study == "capacity":  # not in "all": issue 12's question, what a 16-parameter encoder can reach
        for sigma in (1.0, 5.0):
            for levels in (16, 6, 3, 2):
                record("capacity", f"sigma={sigma:g}, {levels} levels", run.cfg, fixed_encoder(run.cfg, sigma, levels))
    print(pd.DataFrame(rows).to_string())


if __name__ == "__main__":
    main()
