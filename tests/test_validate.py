import math
from dataclasses import replace

import pandas as pd
import pytest
import torch

from bdqlib import BDQEncoder
from bdqlib.checkpoint import ConfigMismatch
from bdqlib.metrics import chance_level, f_lambda, privacy_removal, top1
from bdqlib.results import read_results, record_results
from bdqlib.validate import evaluate_frozen_clean, validate_encoder

ROW_KEYS = {"dataset", "method", "alpha", "protocol", "action_top1", "privacy_top1", "action_chance",
            "privacy_chance", "n_test", "epochs", "seed"}


def test_tiny_validation_row(tiny_cfg, tiny_data):
    enc = BDQEncoder()
    row, action, privacy = validate_encoder(enc, tiny_data, tiny_cfg, method="bdq", alpha=1.0, log=None,
                                            return_models=True)
    assert ROW_KEYS <= set(row)
    assert row["method"] == "bdq" and row["alpha"] == 1.0 and row["protocol"] == "retrain"
    assert 0 <= row["action_top1"] <= 1 and 0 <= row["privacy_top1"] <= 1
    assert row["action_chance"] == pytest.approx(1 / 6) and row["privacy_chance"] == pytest.approx(1 / 3)
    assert row["n_test"] == len(tiny_data.test) and row["epochs"] == tiny_cfg.val_epochs
    assert all(p.requires_grad for p in enc.parameters())  # validation froze a copy, not the caller's encoder
    clean = evaluate_frozen_clean(enc, action, privacy, tiny_data, tiny_cfg, method="bdq", alpha=1.0)
    assert clean["protocol"] == "frozen_clean" and clean["epochs"] == 0


def test_validation_is_reproducible_and_resumable(tmp_path, tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, val_epochs=2)
    raw = BDQEncoder(False, False, False)
    a = validate_encoder(raw, tiny_data, cfg, method="raw", log=None)
    b = validate_encoder(raw, tiny_data, cfg, method="raw", checkpoint=tmp_path / "v.pt", log=None)
    assert a == b  # same seed, same data: same numbers, with or without checkpoints
    c = validate_encoder(raw, tiny_data, cfg, method="raw", checkpoint=tmp_path / "v.pt", log=None)
    assert c == a  # resumed from the finished checkpoint
    with pytest.raises(ConfigMismatch):
        validate_encoder(BDQEncoder(), tiny_data, cfg, method="raw", checkpoint=tmp_path / "v.pt", log=None)


def test_results_csv_replaces_rows_with_the_same_key(tmp_path):
    path = tmp_path / "results.csv"
    base = {"dataset": "synthetic", "method": "bdq", "alpha": 1, "protocol": "retrain", "split": "clip", "seed": 0,
            "action_top1": 0.5, "privacy_top1": 0.5, "action_chance": 0.2, "privacy_chance": 0.1, "n_test": 9,
            "epochs": 1}
    record_results(path, [base, {**base, "method": "raw", "alpha": float("nan")}])
    record_results(path, [{**base, "alpha": 1.0, "action_top1": 0.9}])
    record_results(path, [{**base, "method": "raw", "alpha": float("nan"), "privacy_top1": 0.7}])
    table = read_results(path)
    assert len(table) == 2
    assert table.set_index("method").loc["bdq", "action_top1"] == 0.9
    assert table.set_index("method").loc["raw", "privacy_top1"] == 0.7
    assert list(table.columns[:4]) == ["dataset", "method", "alpha", "protocol"]


def test_metrics():
    assert top1(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])) == 0.5
    assert chance_level([0, 0, 1, 2]) == 0.5
    assert f_lambda(1.0, 0.0) == 1.0 and f_lambda(0.6, 0.4, lam=0.0) == 0.6 and f_lambda(0.6, 0.4, lam=1) == 0.6
    assert privacy_removal(0.1, 0.9, 0.1) == pytest.approx(1.0) and privacy_removal(0.9, 0.9, 0.1) == 0
    assert math.isnan(top1(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)))
    pd.DataFrame()  # pandas is what the tables are made of
