import json
import os

import pytest
import torch

from bdqlib import BDQEncoder
from bdqlib.engine.checkpoint import ConfigMismatch, TimeBudgetReached
from bdqlib.experiments import pipeline
from bdqlib.experiments.pipeline import SMOKE_OVERRIDES


@pytest.fixture
def roots(tmp_path, monkeypatch):
    monkeypatch.setenv("BDQ_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("BDQ_OUTPUTS_ROOT", str(tmp_path / "outputs"))
    monkeypatch.delenv("BDQ_TIME_BUDGET_H", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    return tmp_path


def test_parameters_override_smoke_which_overrides_the_profile(roots):
    run = pipeline.start_run(smoke=True, run_dir=roots / "a")
    assert run.cfg.epochs == SMOKE_OVERRIDES["epochs"] and run.cfg.synthetic_subjects == 3
    run = pipeline.start_run(smoke=True, epochs=3, val_epochs=None, run_dir=roots / "b")  # None: not given
    assert run.cfg.epochs == 3 and run.cfg.val_epochs == SMOKE_OVERRIDES["val_epochs"]
    assert json.loads((roots / "b" / "run.json").read_text())["epochs"] == 3


def test_a_run_folder_refuses_other_parameters(roots):
    pipeline.start_run(run_dir=roots / "run", alpha=1.0)
    pipeline.start_run(run_dir=roots / "run", alpha=1.0)  # same parameters: resumes
    with pytest.raises(ConfigMismatch, match="alpha"):
        pipeline.start_run(run_dir=roots / "run", alpha=2.0)


def test_time_budget_from_the_environment_and_on_kaggle(roots, monkeypatch):
    assert pipeline.start_run(run_dir=roots / "a").cfg.time_budget_h == 0
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Batch")
    assert pipeline.start_run(run_dir=roots / "a").cfg.time_budget_h == pipeline.KAGGLE_TIME_BUDGET_H
    monkeypatch.setenv("BDQ_TIME_BUDGET_H", "2.5")
    assert pipeline.start_run(run_dir=roots / "a").cfg.time_budget_h == 2.5  # resuming with another budget is fine


def test_same_encoder_records_the_existing_result(roots):
    run = pipeline.start_run(run_dir=roots / "run")
    row = {"dataset": "synthetic", "method": "bdq", "alpha": 1.0, "protocol": "retrain", "split": "video",
           "action_top1": 0.9, "privacy_top1": 0.2, "action_chance": 1 / 6, "privacy_chance": 0.1, "n_test": 9,
           "epochs_trained": 8, "seed": 0}
    run.record({**row, "attacker": "small2d"}, {**row, "attacker": "small3d", "privacy_top1": 0.3},
               {**row, "attacker": "strongest", "privacy_top1": 0.3, "strongest_attacker": "small3d"})
    out = pipeline.validate(run, None, BDQEncoder(), method="B+D+Q", alpha=1.0, same_as=("bdq", 1.0), log=None)
    assert len(out) == 3 and {r["method"] for r in out} == {"B+D+Q"}  # every attacker's row, renamed
    assert run.result("B+D+Q", 1.0)["privacy_top1"] == 0.3 and len(run.results()) == 2  # strongest rows
    assert len(run.results(attacker=None)) == 6 and len(run.rows("B+D+Q", 1.0)) == 3
    run.record({**row, "method": "raw", "alpha": float("nan"), "attacker": "strongest", "privacy_top1": 0.9})
    out = pipeline.validate(run, None, None, method="pixelate4", same_as=("raw", float("nan")), log=None)
    assert out[0]["privacy_top1"] == 0.9 and run.result("pixelate4")["privacy_top1"] == 0.9  # NaN alpha found


def test_time_budget_stops_the_notebook_with_a_resumable_message(roots, tiny_cfg, tiny_data, monkeypatch):
    run = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=roots / "run", num_frames=4,
                             size=24, cache_short_side=24, weights="none", epochs=3, warmup_epochs=1,
                             batch_size=6, action_width=4, privacy_width=4, privacy_frames=2, time_budget_h=1e-9)
    with pytest.raises(TimeBudgetReached, match="stopped after epoch 1/3.*RUN_DIR"):
        pipeline.train_encoder(run, tiny_data, 1.0, log=None)
    assert not pipeline.encoder_path(run, 1.0).exists()


def test_the_time_budget_counts_from_the_sessions_first_notebook(roots, monkeypatch):
    from bdqlib.engine import checkpoint
    first = checkpoint.session_start(roots / "run")
    assert checkpoint.session_start(roots / "run") == first  # a second notebook (kernel) of the session
    budget = checkpoint.TimeBudget(1.0, start=first - 3500)  # 3500 s of the hour used by earlier kernels
    budget.record(200.0)
    assert budget.exhausted() and not checkpoint.TimeBudget(1.0, start=first).exhausted()
    monkeypatch.setattr(checkpoint, "machine_session", lambda: "another-boot")  # the next Kaggle session
    assert checkpoint.session_start(roots / "run") > first
    run = pipeline.start_run(run_dir=roots / "run2", time_budget_h=2.0)
    assert run.budget().seconds == 7200 and run.budget().start == checkpoint.session_start(roots / "run2")


def test_open_run_reads_what_start_run_wrote_and_workers_default_per_platform(roots):
    made = pipeline.start_run(run_dir=roots / "run", alpha=2.0, epochs=3)
    opened = pipeline.open_run(roots / "run")
    assert opened.cfg == made.cfg and opened.run_dir == made.run_dir
    assert made.cfg.num_workers == pipeline.default_workers()
    assert pipeline.default_workers() == (min(os.cpu_count(), 8) if torch.cuda.is_available() else 0)


def test_disk_usage_lists_the_run_folder_largest_first_with_a_total(roots):
    run = pipeline.start_run(run_dir=roots / "run")
    (roots / "run" / "validation").mkdir()
    (roots / "run" / "validation" / "x.pt").write_bytes(b"0" * 2**20)
    usage = pipeline.disk_usage(run)
    assert usage["entry"].iloc[0] == "validation" and usage["MB"].iloc[0] == 1.0
    assert usage["entry"].iloc[-1] == "total" and usage["MB"].iloc[-1] == pytest.approx(usage["MB"][:-1].sum())


def test_a_notebook_starts_its_run_from_its_parameters_and_names_a_missing_one(roots):
    params = {name: None for name in pipeline.NOTEBOOK_PARAMETERS}
    params.update(DATASET="synthetic", DATA_DIR="", PROFILE="cpu", ALPHA=2.0, MISSING="error", SEED=0,
                  RUN_DIR=str(roots / "nb"), SMOKE=True, NPROC=1, UNRELATED="ignored")
    run = pipeline.start_notebook_run(params)
    assert run.cfg.alpha == 2.0 and run.smoke and run.run_dir == roots / "nb"
    del params["SPLIT"]
    with pytest.raises(NameError, match="SPLIT"):
        pipeline.start_notebook_run(params)


def test_the_hardened_game_plays_against_the_rest_of_the_suite_and_its_encoder_is_read_back(roots, tiny_cfg,
                                                                                             tiny_data):
    run = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=roots / "run", num_frames=4,
                             size=24, cache_short_side=24, weights="none", epochs=2, warmup_epochs=1, batch_size=6,
                             action_width=4, privacy_width=4, privacy_frames=2, eval_every=1,
                             attackers="small2d,res2d@scratch,small3d")
    cfg = pipeline.game_config(run.cfg, "bdq_ensemble", 1.0)
    assert cfg.privacy_ensemble == "res2d@scratch,small3d" and cfg.privacy_ensemble_mode == "worst"  # P is small2d
    assert pipeline.game_config(run.cfg, "bdq", 1.0).privacy_ensemble == ""  # the paper's game: P alone
    with pytest.raises(ValueError, match="bdq_ensemble.*not 'ensemble'"):
        pipeline.game_config(run.cfg, "ensemble", 1.0)
    with pytest.raises(ValueError, match="attackers other than P"):
        pipeline.ensemble_of(pipeline.make_config_like(run.cfg, attackers="small2d"))
    result = pipeline.train_encoder(run, tiny_data, 1.0, log=None, method="bdq_ensemble")
    assert {"val_privacy_top1_res2d@scratch", "val_privacy_top1_small3d"} <= set(result.history.columns)
    assert run.adversarial_dir(1.0, "bdq_ensemble") != run.adversarial_dir(1.0)  # its own folder, never bdq's
    back = pipeline.encoder_of(run, "bdq_ensemble", 1.0)
    assert torch.equal(back.bins, result.encoder.bins.cpu()) and float(back.sigma) == float(result.encoder.sigma.detach())
    with pytest.raises(FileNotFoundError, match="04_ablation"):
        pipeline.trained_encoder(run, 2.0, "bdq_ensemble")


def test_the_games_parameter_needs_the_headline_game_and_names_what_it_does_not_know():
    assert pipeline.parse_games(" bdq, bdq_ensemble") == ["bdq", "bdq_ensemble"]
    with pytest.raises(ValueError, match="GAMES='bdq,alf'.*not alf"):
        pipeline.parse_games("bdq,alf")  # 05's comparator, not a BDQ game
    with pytest.raises(ValueError, match="GAMES='bdq_ensemble'.*without bdq"):
        pipeline.parse_games("bdq_ensemble")
    assert pipeline.parse_games("bdq_ensemble", name="--games", need_bdq=False) == ["bdq_ensemble"]  # the script
    with pytest.raises(ValueError, match="--games='bdq,alf'.*not alf"):
        pipeline.parse_games("bdq,alf", name="--games", need_bdq=False)
    with pytest.raises(ValueError, match="--games='': bdq and/or bdq_ensemble, not none"):
        pipeline.parse_games("", name="--games", need_bdq=False)
