"""Pretrained weights for the cpu profile's small models: our stand-in for Kinetics-400 (T) and ImageNet (P).

The paper starts T and P from weights learned on large *other* datasets; that is what makes its adversary
competent from the first step and its validation attacker strong. The small CPU models have no such weights to
download, so we make the equivalent once per machine: generate a separate synthetic population (other people
who share no outfit, hair or body with the evaluated ones; other videos), train small3d on its actions and
small2d on its identities from raw clips -- each to its best validation accuracy on that population, at most
`pretrain_epochs` epochs -- and cache both like a download.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd
import torch

from ..atomic import atomic_path, exclusive
from ..config import POPULATION_SEED_OFFSET
from ..core.encoder import raw_encoder
from ..data import prepare_data
from ..engine.steps import quiet, resolve_device
from ..nets.zoo import small_weights_file
from .probes import EncodedData, Probe, train_probe

PRETRAIN_MIN_EPOCHS = 5  # pretraining stops at its best validation epoch (patience cfg.val_patience), not before


def population_config(cfg, data_root):
    """The config of the pretraining population: synthetic, another seed, sharing nobody with cfg's people."""
    seed = cfg.synthetic_seed + POPULATION_SEED_OFFSET
    # T and P of the game start from these weights, and the game stays fp32 on a CPU (bdqlib.train.game): so does
    # their pretraining (in bf16 the default's small3d reached 0.750 on the population's validation split where fp32
    # reached 0.883: run 20261207-125756 against 20261207-113800)
    amp = "off" if cfg.amp == "auto" and resolve_device(cfg.device).type != "cuda" else cfg.amp
    return dataclasses.replace(cfg, dataset="synthetic", split="video", weights="none", amp=amp,
                               data_dir=str(Path(data_root) / (f"synthetic-pretrain-{seed}"
                                                                + ("-colour" if cfg.synthetic_colour else ""))),
                               synthetic_seed=seed,
                               synthetic_avoid=(cfg.synthetic_seed, cfg.synthetic_subjects),
                               val_epochs=cfg.pretrain_epochs, val_views=max(cfg.val_views, 1),
                               val_min_epochs=min(cfg.val_min_epochs, PRETRAIN_MIN_EPOCHS))


def history_file(weights: Path) -> Path:
    """The convergence curve kept beside a pretrained network's weights (validation accuracy per epoch)."""
    return weights.with_suffix(".history.csv")


def pretraining_curves(cfg) -> pd.DataFrame:
    """The pretraining histories of this config's small networks (for the convergence figure), or an empty table."""
    frames = [pd.read_csv(history_file(small_weights_file(cfg, n))) for n in ("small3d", "small2d")
              if history_file(small_weights_file(cfg, n)).is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def small_weight_paths(cfg) -> dict:
    return {name: small_weights_file(cfg, name) for name in ("small3d", "small2d")}


def prepare_population(cfg, *, data_root, log=print):
    """The pretraining population's data (written on first use): shared by every seed, so a run that pretrains
    seeds in parallel processes prepares it once, before them."""
    population = population_config(cfg, data_root)
    return population, prepare_data(population, root=data_root, cache_root=Path(data_root) / "cache", log=log)


def pretrain_small_models(cfg, *, data_root, log=print) -> dict:
    """Train (once) and cache small3d (actions) and small2d (identities) on the pretraining population. Processes
    pretraining the same weights at once (seeds side by side) wait for the first: one trains, the others read."""
    log = log or quiet  # log=None: silent (scripts pass it), as everywhere else
    paths = small_weight_paths(cfg)
    if all(p.is_file() for p in paths.values()):
        return paths
    with exclusive(paths["small3d"]):
        if all(p.is_file() for p in paths.values()):  # another process trained them while this one waited
            return paths
        t0 = time.time()
        population, data = prepare_population(cfg, data_root=data_root, log=log)
        raw = raw_encoder()
        encoded = EncodedData(raw, data, population, device=resolve_device(cfg.device), views=population.val_views,
                              log=log)
        for name, target in (("small3d", "action"), ("small2d", "identity")):
            result = train_probe(Probe(name, target, "none"), encoded, population, log=log)
            with atomic_path(paths[name], suffix=".pt") as tmp:
                torch.save({k: v.cpu() for k, v in result.model.state_dict().items()}, tmp)  # a file for any device
            history = pd.DataFrame(result.history).assign(network=name, target=target, best_epoch=result.best_epoch,
                                                          cap=population.val_epochs)
            with atomic_path(history_file(paths[name])) as tmp:
                history.to_csv(tmp, index=False)
            if result.epochs_trained >= population.val_epochs:
                log(f"[pretrain] WARNING: {name} ran to its cap of {population.val_epochs} epochs: raise "
                    f"pretrain_epochs")
            log(f"[pretrain] {name} on the pretraining population's {target}: validation {result.val_top1:.3f} "
                f"(epoch {result.best_epoch}/{result.epochs_trained}), saved as {paths[name].name} "
                f"({time.time() - t0:.0f}s)")
    return paths
