"""Run directories, atomic checkpoints that resume exactly, and the time budget.

A checkpoint holds everything needed to continue as if never stopped: every model, optimizer and scheduler state,
the completed epoch, the per-epoch history, the RNG states (Python, NumPy, torch CPU and CUDA) and the config.
It is written to a temporary file and renamed, so the previous checkpoint survives a crash mid-write.
"""
from __future__ import annotations

import json
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path, write_json_atomic
from ..config import Config, config_changes


class ConfigMismatch(RuntimeError):
    """A run directory holds a run made with a different config; it is not resumed."""


def bind_run_dir(run_dir, config: dict, *, name: str = "config.json") -> Path:
    """Create `run_dir` with `config` saved in it, or check that the saved config matches (else refuse)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / name
    if path.is_file():
        saved = json.loads(path.read_text())
        diff = config_changes(saved, config)
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
    """Restore the RNG states of `rng_state`. CUDA states are restored per device index for the devices both the
    saving and this machine have: a checkpoint of a 2-GPU machine resumes on a 1-GPU one (device 0's state; a
    process uses its own device's) and one of a 1-GPU machine on a 2-GPU one."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        for index, cuda_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)


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
    return restore(torch.load(path, map_location="cpu", weights_only=False), objects=objects)


def restore(state: dict, *, objects: dict) -> dict:
    """Put a loaded checkpoint's states into `objects` and restore its RNG states; returns the checkpoint."""
    for key, obj in objects.items():
        if key not in state["states"] and getattr(obj, "optional_state", False):
            continue  # e.g. a GradScaler added after the checkpoint was written: it starts fresh
        obj.load_state_dict(state["states"][key])
    set_rng_state(state["rng"])
    return state


def same_config(saved: dict, config: dict) -> bool:
    """Whether a checkpoint's config is this one, up to the fields that may change on resume (RESUME_IGNORES)."""
    return not config_changes(saved, config)


_PROCESS_START = time.time()  # a notebook kernel starts (about) when it imports bdqlib


def machine_session() -> str:
    """What identifies this machine session: the Linux boot id (a new Kaggle/Colab session is a new VM), else the
    host name."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return platform.node()


def session_start(run_dir) -> float:
    """When this machine session started working on `run_dir` (time.time()): recorded in run_dir/session.json by
    the session's first call and read by every later one, so all notebooks (kernels) of one session share one
    time budget; a new session (another boot, e.g. the next Kaggle session) starts a new one."""
    path, me = Path(run_dir) / "session.json", machine_session()
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("machine") == me:
            return float(saved["start"])
    now = time.time()
    write_json_atomic(path, {"machine": me, "start": now})
    return now


class TimeBudgetReached(RuntimeError):
    """Training stopped cleanly at the time budget; re-running with the same run folder continues it."""


class TimeBudget:
    """Stop before an epoch that would end past the budget (estimated from the longest epoch so far).

    The budget counts from `start` (time.time() of the session's start, see `session_start`; default: this
    process's start), so a session's several trainings and notebooks share it. The first epoch of each training
    always runs (there is no estimate yet, and every session must make progress).
    """

    def __init__(self, hours: float, *, start: float | None = None):
        self.seconds = hours * 3600 if hours and hours > 0 else None
        self.start = _PROCESS_START if start is None else start
        self.longest = 0.0

    def record(self, epoch_seconds: float) -> None:
        self.longest = max(self.longest, epoch_seconds)

    def exhausted(self) -> bool:
        if self.seconds is None or self.longest == 0.0:
            return False
        return time.time() - self.start + self.longest > self.seconds


def config_dict(cfg: Config, **extra) -> dict:
    return {**cfg.to_dict(), **extra}
