"""The one epoch loop: every training of bdqlib runs through `fit` -- the adversarial game, the probes (T, the
attackers, the pretraining), RAPrivacy's two phases and the reconstruction U-Net.

It owns what every training needs and used to do four ways:
  * epochs, from where a resumed run stopped (the caller restores its checkpoint and passes `start`, `history`,
    `best`);
  * the time budget, one behaviour: before each epoch, all processes agree with rank 0 whether the next epoch would
    end past it (bdqlib.engine.checkpoint.TimeBudget); if so the loop stops with status "time_budget" and the
    caller, which knows what it was training, says how to continue;
  * early stopping on a monitored value of the epoch's row (`monitor`, `mode`): stop when it has not improved for
    `patience` epochs, never before `min_epochs`; the best epoch's state is kept (`snapshot`);
  * after every epoch: `save(epoch, history, best)` (an atomic checkpoint, rank 0 only), log.csv written
    atomically (rank 0 only), a barrier, one log line, and the budget's record of the epoch's length;
  * DDP: the budget decision and the barrier are the processes' (bdqlib.engine.distributed).
What one epoch does is the caller's `epoch_row(epoch) -> dict`: seed its epoch's random streams, train (with
bdqlib.engine.steps.run_epoch and its own step), evaluate, and return the row the history keeps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..atomic import atomic_path
from .checkpoint import TimeBudget
from .distributed import SINGLE, Dist, agree, barrier
from .steps import quiet


@dataclass
class FitResult:
    history: list
    status: str                  # "completed" or "time_budget" (run again with the same folder to continue)
    epoch: int                   # the last epoch completed
    best: dict = field(default_factory=dict)  # {"value", "epoch", "state"} of the monitored best (if monitored)


def improved(value: float, best: dict, mode: str) -> bool:
    if "value" not in best:
        return value == value  # a first number (not NaN) is the best so far
    return value > best["value"] if mode == "max" else value < best["value"]


def fit(epoch_row, *, epochs: int, start: int = 0, history: list | None = None, best: dict | None = None,
        monitor: str | None = None, mode: str = "max", patience: int | None = None, min_epochs: int = 0,
        snapshot=None, save=None, log_csv: Path | None = None, budget: TimeBudget | None = None,
        dist: Dist = SINGLE, log=quiet, describe=None) -> FitResult:
    """Run epochs start+1 ... `epochs` of `epoch_row` (see the module docstring) and return the FitResult.

    monitor: the row's key early stopping and the best state follow (mode "max" or "min"); snapshot() -> the state
    to keep for the best epoch (e.g. a deep copy of the model's state dict). save(epoch, history, best): the
    caller's checkpoint, called on rank 0 after every epoch. describe(row) -> the epoch's log line.
    """
    log = (log or quiet) if dist.main else quiet
    history = list(history or [])
    best = dict(best or {})
    epoch, status = start, "completed"
    if monitor is not None and "value" not in best and "val" in best:  # checkpoints of earlier code
        best = {"value": best["val"], **{k: v for k, v in best.items() if k != "val"}}
    while epoch < epochs:
        if monitor is not None and patience is not None and epoch >= max(min_epochs, 1) and \
                epoch - best.get("epoch", 0) >= patience:
            break  # early stop: no better value for `patience` epochs
        if budget is not None and agree(budget.exhausted(), dist):
            status = "time_budget"
            break
        epoch += 1
        t0 = time.time()
        row = epoch_row(epoch)
        row.setdefault("seconds", time.time() - t0)
        history.append(row)
        if monitor is not None and improved(row[monitor], best, mode):
            best = {"value": row[monitor], "epoch": epoch, "state": snapshot() if snapshot else None}
        if dist.main:
            if save is not None:
                save(epoch, history, best)
            if log_csv is not None:
                with atomic_path(log_csv) as tmp:
                    pd.DataFrame(history).to_csv(tmp, index=False)
        barrier(dist)
        if describe is not None:
            log(describe(row))
        if budget is not None:
            budget.record(time.time() - t0)
    return FitResult(history, status, epoch, best)
