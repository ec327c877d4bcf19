"""results.csv (and the other per-run tables): rows written atomically, re-runs replacing their own rows.

An encoder's rows share (dataset, method, alpha, protocol, split, seed); `attacker` names the attacker of each
row, and the row with attacker "strongest" reports the maximum privacy over them (bdqlib.experiments.validate).
The robustness experiments' tables (bdqlib.experiments.robustness: action_sweep.csv, reconstruction.csv) are kept the same
way with their own keys.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..atomic import atomic_path, exclusive

KEY = ["dataset", "method", "alpha", "protocol", "attacker", "split", "seed"]
STRONGEST = "strongest"  # the attacker of the row that carries an encoder's privacy (bdqlib.experiments.validate)
# predictions.csv: one row per test clip and network; a network's rows share the key
PREDICTION_KEY = ["dataset", "method", "alpha", "protocol", "network", "target", "split", "seed"]
PREDICTION_COLUMNS = PREDICTION_KEY + ["clip", "video", "label", "pred"]
COLUMNS = KEY[:5] + ["action_top1", "privacy_top1", "action_chance", "privacy_chance", "strongest_attacker",
                     "epochs_trained", "best_epoch", "privacy_val_top1", "action_val_top1", "action_epochs_trained",
                     "n_test", "split", "seed"]


def encoder_tag(method: str, alpha) -> str:
    """An encoder's folder name in a run: "bdq_alpha_1", "BDQ" for B+D+Q without alpha, "raw" (alpha None or NaN)."""
    return method.replace("+", "") + ("" if alpha is None or alpha != alpha else f"_alpha_{alpha:g}")


def _norm(value) -> str:
    if isinstance(value, float):
        return "nan" if value != value else repr(float(value))
    return str(value)


def row_keys(df: pd.DataFrame, key=KEY) -> list:
    """The identifying key of every row as a tuple of strings (NaN alpha is "nan"; 1 and 1.0 agree)."""
    return [tuple(_norm(float(v)) if k == "alpha" else _norm(v) for k, v in zip(key, row))
            for row in df[list(key)].itertuples(index=False)]


def read_results(path, columns=COLUMNS) -> pd.DataFrame:
    path = Path(path)
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=columns)


def record_results(path, rows, *, key=KEY, columns=COLUMNS) -> pd.DataFrame:
    """Add `rows` (dicts) to the CSV at `path`, replacing earlier rows with the same key; returns the table. Safe
    for processes recording into one file at once (the read-modify-write holds `exclusive(path)`)."""
    new = pd.DataFrame(list(rows))
    new["alpha"] = new["alpha"].astype(float)  # 1 and 1.0 must be the same key
    with exclusive(path):
        old = read_results(path, columns)
        if len(old):
            keys = set(row_keys(new, key))
            old = old[[k not in keys for k in row_keys(old, key)]]
        table = pd.concat([old, new], ignore_index=True) if len(old) else new
        extra = [c for c in table.columns if c not in columns]
        table = table[[c for c in columns if c in table.columns] + extra]
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
    return table
