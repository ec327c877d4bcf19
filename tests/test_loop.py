"""The one epoch loop: epochs, early stopping, the time budget (one behaviour), resume, checkpoints and log.csv."""
import pandas as pd
import pytest

from bdqlib.engine import loop
from bdqlib.engine.checkpoint import TimeBudget


def scripted(values):
    """An epoch_row whose monitored value is read from `values` (epoch 1 -> values[0])."""
    return lambda epoch: {"epoch": epoch, "val": values[epoch - 1]}


def test_early_stopping_waits_for_min_epochs_and_keeps_the_best_state():
    values = [0.3, 0.6, 0.5, 0.4, 0.2, 0.77, 0.1, 0.1]
    states = iter(range(100))
    done = loop.fit(scripted(values), epochs=8, monitor="val", patience=3, snapshot=lambda: next(states))
    assert (done.epoch, done.best["epoch"], done.best["value"], done.status) == (5, 2, 0.6, "completed")
    assert done.best["state"] == 1  # snapshots are taken at improvements only: epochs 1 and 2
    late = loop.fit(scripted(values), epochs=8, monitor="val", patience=3, min_epochs=7)
    assert (late.epoch, late.best["epoch"]) == (8, 6)  # never before 7; then 6 was best, 8 - 6 < 3: runs out
    low = loop.fit(scripted([5.0, 4.0, 4.5, 4.2]), epochs=4, monitor="val", mode="min", patience=2, min_epochs=1)
    assert (low.epoch, low.best["epoch"], low.best["value"]) == (4, 2, 4.0)


def test_the_time_budget_stops_before_an_epoch_that_would_overrun(monkeypatch):
    budget = TimeBudget(1.0, start=0.0)
    monkeypatch.setattr(loop.time, "time", lambda: 3000.0)  # 50 minutes of the hour used
    budget.record(700.0)  # the longest epoch so far: the next would end past the hour
    done = loop.fit(lambda e: {"epoch": e}, epochs=5, budget=budget)
    assert (done.status, done.epoch, done.history) == ("time_budget", 0, [])
    ran = loop.fit(lambda e: {"epoch": e}, epochs=2, budget=TimeBudget(0))  # no budget: every epoch
    assert ran.status == "completed" and ran.epoch == 2


def test_resume_continues_from_the_saved_epoch_with_its_history_and_best(tmp_path):
    saved = []
    first = loop.fit(scripted([0.1, 0.5, 0.2, 0.3]), epochs=2, monitor="val", patience=5,
                     save=lambda e, h, b: saved.append((e, list(h), dict(b))), log_csv=tmp_path / "log.csv")
    epoch, history, best = saved[-1]
    assert epoch == 2 and len(pd.read_csv(tmp_path / "log.csv")) == 2
    rest = loop.fit(scripted([0.1, 0.5, 0.2, 0.3]), epochs=4, start=epoch, history=history, best=best,
                    monitor="val", patience=5, log_csv=tmp_path / "log.csv")
    whole = loop.fit(scripted([0.1, 0.5, 0.2, 0.3]), epochs=4, monitor="val", patience=5)
    def without_seconds(history):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]

    assert without_seconds(rest.history) == without_seconds(whole.history) and rest.best == whole.best
    assert first.epoch == 2
    assert list(pd.read_csv(tmp_path / "log.csv")["epoch"]) == [1, 2, 3, 4]
    old_format = loop.fit(scripted([0.1, 0.5, 0.2, 0.3]), epochs=4, start=2, history=history,
                          best={"val": 0.5, "epoch": 2, "state": None}, monitor="val", patience=5)
    assert old_format.best["value"] == 0.5 and old_format.best["epoch"] == 2  # checkpoints of earlier code


def test_a_failing_epoch_leaves_the_last_checkpoint_as_it_was():
    saved = []

    def epoch_row(epoch):
        if epoch == 2:
            raise FloatingPointError("NaN loss")
        return {"epoch": epoch}

    with pytest.raises(FloatingPointError):
        loop.fit(epoch_row, epochs=3, save=lambda e, h, b: saved.append(e))
    assert saved == [1]
