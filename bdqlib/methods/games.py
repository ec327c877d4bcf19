"""What the methods trained in the adversarial game share (BDQ, the hardened game, ALF): fitting in a sub-folder of
the run (resumable, on NPROC processes through torchrun), and reading the finished encoder back."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from ..engine.checkpoint import TimeBudgetReached
from ..engine.distributed import launch_workers, launches
from ..engine.steps import quiet
from ..train.game import AdversarialResult, train_adversarial
from .registry import Method


def encoder_path(run, alpha: float, method: str) -> Path:
    return run.adversarial_dir(alpha, method) / "encoder.pt"


def fit_game(method: Method, run, data, alpha: float, log=print) -> AdversarialResult:
    """The game of `method` at `alpha` in run.adversarial_dir (resuming from its checkpoint); saves encoder.pt.
    With NPROC > 1 the torchrun processes train and this one then reads their finished checkpoint."""
    cfg = method.game(run.cfg, alpha)
    if launches(run.cfg.nproc):
        launch_workers(run.cfg.nproc, "train", run.run_dir, float(alpha), method.name, log=log or quiet)
    result = train_adversarial(cfg, data, run.adversarial_dir(alpha, method.name), log=log, budget=run.budget(),
                               make_encoder=method.make_encoder)
    if result.status != "completed":  # stop the notebook here: what follows needs the finished encoder
        raise TimeBudgetReached(f"time budget of {cfg.time_budget_h} h reached: adversarial training ({method.name}, "
                                f"alpha={alpha:g}) stopped after epoch {len(result.history)}/{cfg.epochs}, "
                                f"checkpoint in {run.adversarial_dir(alpha, method.name)}; re-run with "
                                f"RUN_DIR={run.run_dir} to continue")
    torch.save(result.encoder.state_dict(), encoder_path(run, alpha, method.name))
    return result


def trained_encoder(method: Method, run, alpha: float):
    """The encoder `method`'s game trained at `alpha` in this run (after fit_game completed)."""
    path = encoder_path(run, alpha, method.name)
    if not path.is_file():
        raise FileNotFoundError(f"no trained {method.name} encoder for alpha={alpha:g} in {run.run_dir} (expected "
                                f"{path}); run {method.trained_in} (or bdqlib.experiments.pipeline.fit) first")
    enc = method.make_encoder(method.game(run.cfg, alpha))
    enc.load_state_dict(torch.load(path, map_location="cpu"))
    return enc


def with_alpha(cfg, alpha: float, **changes):
    return replace(cfg, alpha=float(alpha), **changes)
