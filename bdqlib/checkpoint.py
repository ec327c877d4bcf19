"""Run directories, atomic checkpoints that resume exactly, and the time budget.

A checkpoint holds everything needed to continue as if never stopped: every model, optimizer and scheduler state,
the completed epoch, the per-epoch history, the RNG states (Python, NumPy, torch CPU and CUDA) and the config.
It is written to a temporary file and renamed, so the previous checkpoint survives a crash mid-write.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import torch

from .config import RESUME_IGNORES, Config
from .atomic import atomic_path, write_json_atomic


class ConfigMismatch(RuntimeError):
    """A run directory holds a run made with a different config; it is not resumed."""


def bind_run_dir(run_dir, config: dict, *, name: str = "config.json") -> Path:
    """Create `run_dir` with `config` saved in it, or check that the saved config matches (else refuse)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / name
    if path.is_file():
        saved = json.loads(path.read_text())
        default = Config().to_dict()  # a field added since `saved` was written counts as its default there
        diff = sorted(k for k in set(saved) | set(config)
                      if k not in RESUME_IGNORES and saved.get(k, default.get(k)) != config.get(k, default.get(k)))
        if diff:
            detail = ", ".join(f"{k}: saved {saved.get(k)!r} vs now {config.get(k)!r}" for k in diff[:6])
            raise ConfigMismatch(f"{path} was written by a run with a different config ({detail}). Use another "
                                 f"run directory, or delete it to start over; runs are never mixed.")
    write_json_atomic(path, config)
    return run_dir


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(path, *, objects: dict, epoch: int, history: list, config: dict, **extra) -> None:
    """Atomically save the state_dict of every object (models, optimizers, schedulers) and the run state."""
    state = {"epoch": epoch, "history": history, "config": config, "rng": rng_state(),
             "states": {k: v.state_dict() for k, v in objects.items()}, **extra}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path, *, objects: dict) -> dict | None:
    """Restore objects and RNG states from `path` if it exists; returns the checkpoint (or None)."""
    path = Path(path)
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    for key, obj in objects.items():
        obj.load_state_dict(state["states"][key])
    set_rng_state(state["rng"])
    return state


_PROCESS_START = time.monotonic()  # a notebook kernel's session starts (about) when it imports bdqlib


class TimeBudgetReached(RuntimeError):
    """Training stopped cleanly at the time budget; re-running with the same run folder continues it."""


class TimeBudget:
    """Stop before an epoch that would end past the budget (estimated from the longest epoch so far).

    The budget counts from the start of the process (the notebook's kernel), so a session's several trainings
    share it. The first epoch of each training always runs (there is no estimate yet, and every session must make
    progress).
    """

    def __init__(self, hours: float):
        self.seconds = hours * 3600 if hours and hours > 0 else None
        self.longest = 0.0

    def record(self, epoch_seconds: float) -> None:
        self.longest = max(self.longest, epoch_seconds)

    def exhausted(self) -> bool:
        if self.seconds is None or self.longest == 0.0:
            return False
        return time.monotonic() - _PROCESS_START + self.longest > self.seconds


def config_dict(cfg: Config, **extra) -> dict:
    return {**cfg.to_dict(), **extra}
