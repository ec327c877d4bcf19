import math
from dataclasses import replace

import pandas as pd
import pytest
import torch

from bdqlib import BDQEncoder
from bdqlib.engine.checkpoint import ConfigMismatch
from bdqlib.experiments.validate import (
    STRONGEST,
    encoder_identity,
    evaluate_frozen_clean,
    state_summary,
    suite_rows,
    validate_encoder,
)
from bdqlib.metrics import chance_level, f_lambda, privacy_removal, top1
from bdqlib.report.results import read_results, record_results

ROW_KEYS = {"dataset", "method", "alpha", "protocol", "attacker", "action_top1", "privacy_top1", "action_chance",
            "privacy_chance", "n_test", "epochs_trained", "best_epoch", "privacy_val_top1", "strongest_attacker",
            "seed", "split"}


def test_validation_rows_report_every_attacker_and_the_strongest(tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, attackers="small2d,small3d@scratch", val_epochs=2, val_patience=1, val_views=1,
                  action_networks="small3d,small2plus1d@scratch")
    enc = BDQEncoder()
    rows, preds, probes = validate_encoder(enc, tiny_data, cfg, method="bdq", alpha=1.0, log=None,
                                           return_probes=True)
    assert [r["attacker"] for r in rows] == ["small2d", "small3d@scratch", STRONGEST]
    for r in rows:
        assert ROW_KEYS <= set(r) and r["method"] == "bdq" and r["protocol"] == "retrain" and r["split"] == "video"
        assert 0 <= r["action_top1"] <= 1 and 0 <= r["privacy_top1"] <= 1
        assert r["action_chance"] == pytest.approx(1 / 6) and r["privacy_chance"] == pytest.approx(1 / 3)
        assert r["n_test"] == len(tiny_data.test) and 1 <= r["best_epoch"] <= r["epochs_trained"] <= 2
    top = rows[-1]
    chosen = max(rows[:-1], key=lambda r: (r["privacy_val_top1"], -rows.index(r)))  # best on validation
    assert top["strongest_attacker"] == chosen["attacker"] and top["privacy_top1"] == chosen["privacy_top1"]
    assert top["privacy_oracle_top1"] == max(r["privacy_top1"] for r in rows[:-1])  # the test maximum: labelled
    actions = {r.probe.name: r for r in probes["actions"]}
    assert set(actions) == {"small3d", "small2plus1d@scratch"} and top["action_network"] in actions
    assert top["action_top1"] == actions[top["action_network"]].test_top1
    assert top["action_val_top1"] == max(r.val_top1 for r in actions.values())
    assert all(p.requires_grad for p in enc.parameters())  # validation froze a copy, not the caller's encoder
    # predictions.csv: every network's test predictions; an outsider recomputes each row's accuracy from them
    table = pd.DataFrame(preds)
    assert set(table["network"]) == {"small3d", "small2plus1d@scratch", "small2d", "small3d@scratch"}
    for r in rows[:-1]:
        mine = table[table["network"] == r["attacker"]]
        assert len(mine) == len(tiny_data.test) and (mine["label"] == mine["pred"]).mean() == r["privacy_top1"]
        assert list(mine["video"]) == tiny_data.test.manifest["video"].tolist()
    attackers = {r.probe.name: (r.model, r.probe.level) for r in probes["attackers"]}
    clean, clean_preds = evaluate_frozen_clean(enc, tiny_data, cfg, actions["small3d"].model, attackers,
                                               method="bdq", alpha=1.0)
    assert [r["protocol"] for r in clean] == ["frozen_clean"] * 3 and clean[-1]["attacker"] == STRONGEST
    chosen = max(clean[:-1], key=lambda r: (r["privacy_val_top1"], -clean.index(r)))
    assert clean[-1]["strongest_attacker"] == chosen["attacker"] and clean[0]["epochs_trained"] == 0
    assert len(clean_preds) == 3 * len(tiny_data.test)


def test_the_attacker_that_counts_is_chosen_on_validation_not_on_test(tiny_cfg, tiny_data):
    """b has the best test accuracy, c the best validation accuracy: c counts; b is only the oracle column."""
    scores = {"a": {"test_top1": 0.4, "val_top1": 0.5}, "b": {"test_top1": 0.7, "val_top1": 0.3},
              "c": {"test_top1": 0.1, "val_top1": 0.9}}
    actions = {"t1": {"test_top1": 0.9, "val_top1": 0.5, "name": "t1"}, "t2": {"test_top1": 0.6, "val_top1": 0.8,
                                                                             "name": "t2"}}
    rows = suite_rows(tiny_cfg, tiny_data, method="raw", alpha=None, protocol="retrain", actions=actions,
                      attackers=scores)
    top = rows[-1]
    assert top["attacker"] == STRONGEST and top["strongest_attacker"] == "c" and top["privacy_top1"] == 0.1
    assert top["privacy_oracle_top1"] == 0.7 and top["oracle_attacker"] == "b"
    assert top["action_network"] == "t2" and top["action_top1"] == 0.6 and top["action_oracle_top1"] == 0.9
    tie = suite_rows(tiny_cfg, tiny_data, method="raw", alpha=None, protocol="retrain", actions=actions,
                     attackers={"x": {"test_top1": 0.2, "val_top1": 0.5}, "y": {"test_top1": 0.9, "val_top1": 0.5}})
    assert tie[-1]["strongest_attacker"] == "x"  # a tie on validation: the first in suite order, never the test


def test_validation_is_reproducible_and_resumable(tmp_path, tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, attackers="small2d", val_epochs=2, val_patience=5, val_views=1)
    raw = BDQEncoder(False, False, False)
    a = validate_encoder(raw, tiny_data, cfg, method="raw", log=None)
    b = validate_encoder(raw, tiny_data, cfg, method="raw", checkpoint_dir=tmp_path / "v", log=None)
    assert len(a[1]) == 3 * len(tiny_data.test)  # predictions of T, the scratch action network and the attacker
    assert a == b  # same seed, same data: same numbers, with or without checkpoints
    c = validate_encoder(raw, tiny_data, cfg, method="raw", checkpoint_dir=tmp_path / "v", log=None)
    assert c == a  # finished probes are read back, not trained again
    with pytest.raises(ConfigMismatch):
        validate_encoder(BDQEncoder(), tiny_data, cfg, method="raw", checkpoint_dir=tmp_path / "v", log=None)


def test_results_csv_replaces_rows_with_the_same_key(tmp_path):
    path = tmp_path / "results.csv"
    base = {"dataset": "synthetic", "method": "bdq", "alpha": 1, "protocol": "retrain", "split": "video", "seed": 0,
            "attacker": "strongest", "action_top1": 0.5, "privacy_top1": 0.5, "action_chance": 0.2,
            "privacy_chance": 0.1, "n_test": 9, "epochs_trained": 1}
    record_results(path, [base, {**base, "method": "raw", "alpha": float("nan")}])
    record_results(path, [{**base, "alpha": 1.0, "action_top1": 0.9}])
    record_results(path, [{**base, "method": "raw", "alpha": float("nan"), "privacy_top1": 0.7}])
    table = read_results(path)
    assert len(table) == 2
    assert table.set_index("method").loc["bdq", "action_top1"] == 0.9
    assert table.set_index("method").loc["raw", "privacy_top1"] == 0.7
    assert list(table.columns[:5]) == ["dataset", "method", "alpha", "protocol", "attacker"]
    record_results(path, [{**base, "attacker": "small2d", "privacy_top1": 0.1}])  # another attacker: a new row
    assert len(read_results(path)) == 3


def test_metrics():
    assert top1(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])) == 0.5
    assert chance_level([0, 0, 1, 2]) == 0.5
    assert f_lambda(1.0, 0.0) == 1.0 and f_lambda(0.6, 0.4, lam=0.0) == 0.6 and f_lambda(0.6, 0.4, lam=1) == 0.6
    assert privacy_removal(0.1, 0.9, 0.1) == pytest.approx(1.0) and privacy_removal(0.9, 0.9, 0.1) == 0
    assert math.isnan(privacy_removal(0.25, 0.25, 0.25))  # raw at chance: nothing to remove, no share of it
    assert math.isnan(top1(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)))
    pd.DataFrame()  # pandas is what the tables are made of


def test_finished_checkpoints_keep_weights_only_for_raw_by_default_and_still_resume(tmp_path, tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, attackers="small2d", val_views=1)
    assert cfg.probe_weights == "raw"
    first = validate_encoder(BDQEncoder(), tiny_data, cfg, method="bdq", alpha=1.0, checkpoint_dir=tmp_path / "b",
                             log=None)
    validate_encoder(BDQEncoder(False, False, False), tiny_data, cfg, method="raw", checkpoint_dir=tmp_path / "r",
                     log=None)
    for folder, kept in (("b", False), ("r", True)):
        for path in (tmp_path / folder).glob("*.pt"):
            saved = torch.load(path, weights_only=False)
            assert (saved["best"]["state"] is not None) == kept and saved["history"] and "result" in saved
    again = validate_encoder(BDQEncoder(), tiny_data, cfg, method="bdq", alpha=1.0, checkpoint_dir=tmp_path / "b",
                             log=None)  # finished, weights gone: the recorded result is returned, nothing retrained
    assert again == first
    with pytest.raises(ValueError, match="probe_weights"):
        validate_encoder(BDQEncoder(), tiny_data, replace(cfg, probe_weights="some"), method="bdq", log=None)


def test_a_large_encoder_is_identified_by_a_digest_that_changes_with_its_weights():
    small = encoder_identity(BDQEncoder(), "bdq", 1.0)["encoder_state"]
    assert small["bin_centres"] == [i + 0.5 for i in range(15)]  # BDQ's values, readable
    big = torch.nn.Conv2d(3, 64, 5)  # 4864 numbers
    first = encoder_identity(big, "alf", 1.0)["encoder_state"]
    assert set(first) == {"sha256", "numbers"} and first["numbers"] == 4864
    assert encoder_identity(big, "alf", 1.0)["encoder_state"] == first
    with torch.no_grad():
        big.weight[0, 0, 0, 0] += 1e-3
    assert encoder_identity(big, "alf", 1.0)["encoder_state"]["sha256"] != first["sha256"]


def test_a_large_encoder_state_is_recorded_as_a_digest_of_its_bytes_in_any_precision():
    import hashlib
    state = {"w": torch.arange(5000, dtype=torch.float32).reshape(50, 100), "b": torch.ones(3)}  # > IDENTITY_VALUES
    expected = hashlib.sha256()
    for k in ("b", "w"):  # sorted keys, then the values' bytes as numpy writes them (older checkpoints' digests)
        expected.update(k.encode())
        expected.update(state[k].numpy().tobytes())
    assert state_summary(state) == {"sha256": expected.hexdigest(), "numbers": 5003}
    half = state_summary({k: v.to(torch.bfloat16) for k, v in state.items()})  # numpy has no bfloat16
    assert half["numbers"] == 5003 and half["sha256"] != expected.hexdigest()
    assert state_summary({"sigma": torch.tensor(2.0)}) == {"sigma": 2.0}  # BDQ-sized: its values, readable
