"""Pretrained weights for the cpu profile's small models: our stand-in for Kinetics-400 (T) and ImageNet (P).

The paper starts T and P from weights learned on large *other* datasets; that is what makes its adversary
competent from the first step and its validation attacker strong. The small CPU models have no such weights to
download, so we make the equivalent once per machine: generate a separate synthetic population (other people,
another seed), train small3d on its actions and small2d on its identities from raw clips, and cache both like
a download. The evaluated people are never seen in pretraining.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from .atomic import atomic_path
from .models import small2d, small3d, weights_dir

POPULATION_SEED_OFFSET = 1000  # the pretraining population's seed: synthetic_seed + this


def weights_file(cfg, kind: str) -> Path:
    """Where the pretrained `kind` ("action" or "privacy") weights for this config live (cfg.weights_dir)."""
    width = cfg.action_width if kind == "action" else cfg.privacy_width
    arch = "small3d" if kind == "action" else "small2d"
    key = (f"{arch}-w{width}-t{cfg.num_frames}-s{cfg.size}-pop{cfg.synthetic_seed + POPULATION_SEED_OFFSET}"
           f"x{cfg.synthetic_subjects}-e{cfg.pretrain_epochs}")
    return weights_dir(cfg.weights_dir) / f"{key}.pt"


def pretrain_small_models(cfg, *, data_root, log=print) -> dict:
    """Train (once) and cache small3d/small2d on a separate population's raw clips; returns the two paths."""
    from .adversarial import make_optimizer
    from .validate import supervised_step
    from .config import Config
    from .data import prepare_data

    paths = {kind: weights_file(cfg, kind) for kind in ("action", "privacy")}
    if all(p.is_file() for p in paths.values()):
        return paths
    data_root = Path(data_root)
    population = Config(**{**cfg.__dict__, "dataset": "synthetic", "protocol": "clip",
                           "data_dir": str(data_root / f"synthetic-pretrain-{cfg.synthetic_seed + POPULATION_SEED_OFFSET}"),
                           "synthetic_seed": cfg.synthetic_seed + POPULATION_SEED_OFFSET})
    t0 = time.time()
    data = prepare_data(population, root=data_root, cache_root=data_root / "cache", log=log)
    torch.manual_seed(cfg.seed + POPULATION_SEED_OFFSET)
    action, privacy = small3d(data.num_actions, cfg.action_width), small2d(data.num_subjects, cfg.privacy_width)
    opt_t, opt_p = make_optimizer(action.parameters(), cfg.lr, cfg), make_optimizer(privacy.parameters(), cfg.lr, cfg)
    sched_t = torch.optim.lr_scheduler.CosineAnnealingLR(opt_t, cfg.pretrain_epochs)
    sched_p = torch.optim.lr_scheduler.CosineAnnealingLR(opt_p, cfg.pretrain_epochs)
    loader = torch.utils.data.DataLoader(data.train, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                         num_workers=cfg.num_workers)
    for epoch in range(1, cfg.pretrain_epochs + 1):
        lt_sum = lp_sum = 0.0
        for x, ya, ys in loader:
            lt, lp = supervised_step(x, ya, ys, action, privacy, opt_t, opt_p, privacy_frames=cfg.privacy_frames)
            lt_sum, lp_sum = lt_sum + lt, lp_sum + lp
        sched_t.step()
        sched_p.step()
        if log:
            log(f"[pretrain] epoch {epoch}/{cfg.pretrain_epochs}  action CE {lt_sum / len(loader):.3f}  "
                f"identity CE {lp_sum / len(loader):.3f}  ({time.time() - t0:.0f}s)")
    for kind, model in (("action", action), ("privacy", privacy)):
        with atomic_path(paths[kind], suffix=".pt") as tmp:
            torch.save(model.state_dict(), tmp)
    if log:
        log(f"[pretrain] saved {paths['action'].name} and {paths['privacy'].name} in {paths['action'].parent}")
    return paths
