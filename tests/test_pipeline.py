from dataclasses import replace

import pytest
import torch

from bdqlib import BDQEncoder, methods
from bdqlib.engine.checkpoint import TimeBudgetReached
from bdqlib.experiments import pipeline
from bdqlib.methods.bdq import ensemble_of
from bdqlib.methods.games import encoder_path


def test_an_encoder_that_is_another_rows_records_that_rows_results(roots):
    run = pipeline.start_run(run_dir=roots / "run")
    row = {"dataset": "synthetic", "method": "bdq", "alpha": 1.0, "protocol": "retrain", "split": "video",
           "action_top1": 0.9, "privacy_top1": 0.2, "action_chance": 1 / 6, "privacy_chance": 0.1, "n_test": 9,
           "epochs_trained": 8, "seed": 0}
    run.record({**row, "attacker": "small2d"}, {**row, "attacker": "small3d", "privacy_top1": 0.3},
               {**row, "attacker": "strongest", "privacy_top1": 0.3, "strongest_attacker": "small3d"})
    out = pipeline.validate(run, None, BDQEncoder(), method="B+D+Q", alpha=1.0, log=None)  # B+D+Q is BDQ itself
    assert len(out) == 3 and {r["method"] for r in out} == {"B+D+Q"}  # every attacker's row, renamed
    assert run.result("B+D+Q", 1.0)["privacy_top1"] == 0.3 and len(run.results()) == 2  # strongest rows
    assert len(run.results(attacker=None)) == 6 and len(run.rows("B+D+Q", 1.0)) == 3
    run.record({**row, "method": "raw", "alpha": float("nan"), "attacker": "strongest", "privacy_top1": 0.9})
    out = pipeline.validate(run, None, None, method="pixelate4", log=None)  # 1-px blocks at 48 px: the raw video
    assert out[0]["privacy_top1"] == 0.9 and run.result("pixelate4")["privacy_top1"] == 0.9  # NaN alpha found


def test_time_budget_stops_the_notebook_with_a_resumable_message(roots, tiny_cfg, tiny_data, monkeypatch):
    run = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=roots / "run", num_frames=4,
                             size=24, cache_short_side=24, weights="none", epochs=3, warmup_epochs=1,
                             batch_size=6, action_width=4, privacy_width=4, privacy_frames=2, time_budget_h=1e-9)
    with pytest.raises(TimeBudgetReached, match="stopped after epoch 1/3.*RUN_DIR"):
        pipeline.fit(run, tiny_data, "bdq", 1.0, log=None)
    assert not encoder_path(run, 1.0, "bdq").exists()


def test_disk_usage_lists_the_run_folder_largest_first_with_a_total(roots):
    run = pipeline.start_run(run_dir=roots / "run")
    (roots / "run" / "validation").mkdir()
    (roots / "run" / "validation" / "x.pt").write_bytes(b"0" * 2**20)
    usage = pipeline.disk_usage(run)
    assert usage["entry"].iloc[0] == "validation" and usage["MB"].iloc[0] == 1.0
    assert usage["entry"].iloc[-1] == "total" and usage["MB"].iloc[-1] == pytest.approx(usage["MB"][:-1].sum())


def test_the_hardened_game_plays_against_the_rest_of_the_suite_and_its_encoder_is_read_back(roots, tiny_cfg,
                                                                                             tiny_data):
    run = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=roots / "run", num_frames=4,
                             size=24, cache_short_side=24, weights="none", epochs=2, warmup_epochs=1, batch_size=6,
                             action_width=4, privacy_width=4, privacy_frames=2, eval_every=1,
                             attackers="small2d,res2d@scratch,small3d")
    cfg = methods.resolve("bdq_ensemble")[0].game(run.cfg, 1.0)
    assert cfg.privacy_ensemble == "res2d@scratch,small3d" and cfg.privacy_ensemble_mode == "worst"  # P is small2d
    assert methods.resolve("bdq")[0].game(run.cfg, 1.0).privacy_ensemble == ""  # the paper's game: P alone
    with pytest.raises(ValueError, match="unknown method 'ensemble'"):
        pipeline.fit(run, tiny_data, "ensemble", 1.0)
    with pytest.raises(ValueError, match="attackers other than P"):
        ensemble_of(replace(run.cfg, attackers="small2d"))
    result = pipeline.fit(run, tiny_data, "bdq_ensemble", 1.0, log=None)
    assert {"val_privacy_top1_res2d@scratch", "val_privacy_top1_small3d"} <= set(result.history.columns)
    assert run.adversarial_dir(1.0, "bdq_ensemble") != run.adversarial_dir(1.0)  # its own folder, never bdq's
    back = pipeline.encoder_of(run, "bdq_ensemble", 1.0)
    assert torch.equal(back.bins, result.encoder.bins.cpu()) and float(back.sigma) == float(result.encoder.sigma.detach())
    with pytest.raises(FileNotFoundError, match="04_ablation"):
        pipeline.trained_encoder(run, 2.0, "bdq_ensemble")


def test_evaluate_fits_builds_and_validates_once_and_encoder_of_builds_any_method(roots, tiny_cfg, tiny_data):
    run = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=roots / "run", num_frames=4,
                             size=24, cache_short_side=24, weights="none", epochs=1, warmup_epochs=0, batch_size=6,
                             action_width=4, privacy_width=4, privacy_frames=2, val_epochs=1, val_min_epochs=1,
                             attackers="small2d@scratch")
    lines = []
    enc = pipeline.evaluate(run, tiny_data, "downsample28", log=lines.append)
    assert enc.extra_repr() == f"{round(28 * 24 / 224)}x{round(28 * 24 / 224)} px" and run.has_result("downsample28")
    pipeline.evaluate(run, tiny_data, "downsample28", log=lines.append)
    assert any("already in results.csv" in line for line in lines)  # a second call computes nothing
    assert pipeline.encoder_alpha(run, "bdq", None) == run.cfg.alpha and pipeline.encoder_alpha(run, "raw", 1.0) is None
    with pytest.raises(FileNotFoundError, match="02_adversarial_train"):
        pipeline.encoder_of(run, "bdq", 3.0)  # not trained in this run: says where it is trained


def test_evaluate_each_reads_back_what_results_csv_holds_and_trains_only_the_rest(roots, monkeypatch):
    run = pipeline.start_run(run_dir=roots / "run", seeds="0,1")
    row = {"dataset": "synthetic", "method": "raw", "alpha": float("nan"), "protocol": "retrain", "split": "video",
           "action_top1": 0.9, "privacy_top1": 0.9, "action_chance": 1 / 6, "privacy_chance": 0.1, "n_test": 9,
           "epochs_trained": 8, "attacker": "strongest"}
    run.record({**row, "seed": 0}, {**row, "seed": 1})  # raw validated on both seeds
    sent, trained = [], []
    monkeypatch.setattr(pipeline, "train_side_by_side", lambda run, specs, log=None: trained.extend(specs))
    monkeypatch.setattr(pipeline, "_in_process", lambda run, calls, log=None: sent.extend(calls) or
                        [{s: f"trained {c[1]} {s}" for s in run.seeds} for c in calls])
    out = pipeline.evaluate_each(run, [("raw", None), ("pixelate16", None)], log=None)
    assert [c[1:] for c in sent] == [("pixelate16", None)] == trained  # raw is neither trained nor evaluated again
    assert out[(1, "pixelate16", None)] == "trained pixelate16 1" and list(out) == [
        (0, "raw", None), (1, "raw", None), (0, "pixelate16", None), (1, "pixelate16", None)]
    assert isinstance(out[(0, "raw", None)], torch.nn.Module)  # read back: raw's encoder
    sent.clear()
    pipeline.evaluate_each(run, [("raw", None)], log=None, frozen_clean=True)  # frozen_clean not done: sent
    assert [c[1:] for c in sent] == [("raw", None)]
