import shutil
from dataclasses import replace

import pandas as pd
import pytest
import torch

import bdqlib.experiments.robustness as robustness
from bdqlib import BDQEncoder
from bdqlib.experiments import pipeline
from bdqlib.methods.dvs import EventCamera
from bdqlib.train.probes import Probe, ProbeResult


@pytest.fixture(scope="module")
def validated_run(tiny_cfg, tiny_data, tmp_path_factory):
    """A run folder on the tiny dataset with raw and BDQ validated (every network one epoch), made once."""
    root = tmp_path_factory.mktemp("validated")
    run = pipeline.Run(replace(tiny_cfg, val_views=1), root / "run", root / "data")
    pipeline.validate(run, tiny_data, BDQEncoder(False, False, False), method="raw", log=None)
    pipeline.validate(run, tiny_data, BDQEncoder(), method="bdq", alpha=1.0, log=None)
    return run


@pytest.fixture()
def run(validated_run, tmp_path):
    """A fresh copy of `validated_run`'s folder, for one test to change."""
    shutil.copytree(validated_run.run_dir, tmp_path / "run")
    return replace(validated_run, run_dir=tmp_path / "run")


def validated(run, data):
    """(The fixture's run is validated already; kept so each test states what it starts from.)"""
    assert run.has_result("raw") and run.has_result("bdq", 1.0)


def test_sweep_attackers_join_the_suite_and_move_the_headline_when_stronger(run, tiny_data, monkeypatch):
    with pytest.raises(LookupError, match="not been validated"):
        robustness.sweep_attackers(run, tiny_data, BDQEncoder(), method="bdq", alpha=2.0, attackers=[])
    validated(run, tiny_data)
    before = run.result("bdq", 1.0)
    trained = []

    def fake_probe(probe, encoded, cfg, **kwargs):
        trained.append(probe.name)
        return ProbeResult(probe, test_top1=0.99, val_top1=0.9, best_epoch=1, epochs_trained=1,
                           test_pred=[0] * len(tiny_data.test.manifest))
    monkeypatch.setattr(robustness, "train_probe", fake_probe)
    probes = robustness.probes_of("small2d,mobile2d@scratch", run, "bdq", 1.0)
    scores = robustness.sweep_attackers(run, tiny_data, BDQEncoder(), method="bdq", alpha=1.0, attackers=probes,
                                        log=None)
    assert trained == ["mobile2d@scratch"]  # small2d is the suite's: its row is reused
    suite_small2d = [r for r in run.rows("bdq", 1.0) if r["attacker"] == "small2d"][0]["privacy_top1"]
    assert scores == {"small2d": suite_small2d, "mobile2d@scratch": 0.99}
    top = run.result("bdq", 1.0)
    assert (top["strongest_attacker"], top["privacy_top1"]) == ("mobile2d@scratch", 0.99)
    assert top["action_top1"] == before["action_top1"]  # T's result is kept
    names = sorted(r["attacker"] for r in run.rows("bdq", 1.0))
    assert names == sorted(run.cfg.attackers.split(",") + ["mobile2d@scratch", "strongest"])
    again = robustness.sweep_attackers(run, tiny_data, BDQEncoder(), method="bdq", alpha=1.0, attackers=probes)
    assert again == scores and trained == ["mobile2d@scratch"]  # resumed: nothing trained twice
    assert run.result("raw")["strongest_attacker"] != "mobile2d@scratch"  # other encoders untouched


def test_a_weaker_sweep_attacker_leaves_the_headline_alone(run, tiny_data, monkeypatch):
    validated(run, tiny_data)
    before = run.result("raw")
    monkeypatch.setattr(robustness, "train_probe", lambda probe, *a, **k: ProbeResult(
        probe, 0.0, 0.0, 1, 1, test_pred=[0] * len(tiny_data.test.manifest)))
    robustness.sweep_attackers(run, tiny_data, BDQEncoder(False, False, False), method="raw",
                               attackers=[Probe("vit2d", "identity", "none")], log=None)
    after = run.result("raw")
    assert (after["strongest_attacker"], after["privacy_top1"]) == (before["strongest_attacker"], before["privacy_top1"])


def test_action_sweep_trains_other_networks_and_reuses_the_configured_t(run, tiny_data):
    validated(run, tiny_data)
    networks = robustness.probes_of(f"{run.cfg.action_model},small2plus1d@scratch", run, "bdq", 1.0, target="action")
    assert all(p.target == "action" for p in networks)
    table = robustness.sweep_actions(run, tiny_data, BDQEncoder(), method="bdq", alpha=1.0, networks=networks,
                                     log=None)
    assert list(table["network"]) == [run.cfg.action_model, "small2plus1d@scratch"]
    assert table["action_top1"].iloc[0] == run.result("bdq", 1.0)["action_top1"]
    assert table["action_top1"].between(0, 1).all() and (table["alpha"] == 1.0).all()
    assert (run.validation_dir("bdq", 1.0) / "action-small2plus1d@scratch.pt").is_file()
    again = robustness.sweep_actions(run, tiny_data, BDQEncoder(), method="bdq", alpha=1.0, networks=networks)
    pd.testing.assert_frame_equal(again, table)
    assert len(pd.read_csv(run.run_dir / robustness.ACTION_SWEEP)) == 2  # keyed: no duplicate rows


def test_a_sweep_row_of_another_seed_does_not_count_as_done(run, tiny_data):
    """The seeds' processes share action_sweep.csv: seed 1's network is trained even when seed 0's row is there."""
    validated(run, tiny_data)
    path = run.run_dir / robustness.ACTION_SWEEP
    other = {"dataset": run.cfg.dataset, "method": "bdq", "alpha": 1.0, "network": "small2plus1d@scratch",
             "split": run.cfg.split, "seed": run.cfg.seed + 1, "action_top1": 0.5}
    pd.DataFrame([other]).to_csv(path, index=False)
    networks = robustness.probes_of("small2plus1d@scratch", run, "bdq", 1.0, target="action")
    table = robustness.sweep_actions(run, tiny_data, BDQEncoder(), method="bdq", alpha=1.0, networks=networks,
                                     log=None)
    assert list(table["seed"]) == [run.cfg.seed] and list(table["network"]) == ["small2plus1d@scratch"]
    assert sorted(pd.read_csv(path)["seed"]) == [run.cfg.seed, run.cfg.seed + 1]


def test_reconstruction_attack_scores_and_attacks_the_reconstructions_then_resumes(run, tiny_data, monkeypatch):
    validated(run, tiny_data)
    probes = robustness.probes_of("strongest", run, "bdq", 1.0)
    assert [p.name for p in probes] == [run.result("bdq", 1.0)["strongest_attacker"]]
    unet, table = robustness.reconstruction_attack(run, tiny_data, BDQEncoder(), method="bdq", alpha=1.0,
                                                   attackers=probes, width=4, depth=1, epochs=1, log=None)
    r = table.iloc[0]
    assert r["attacker"] == probes[0].name and 0 <= r["privacy_top1"] <= 1
    assert r["privacy_encoded"] == run.result("bdq", 1.0)["privacy_top1"]  # the same attacker on E's output
    assert r["privacy_raw"] == [x for x in run.rows("raw") if x["attacker"] == probes[0].name][0]["privacy_top1"]
    assert r["psnr"] > 0 and 0 < r["ssim"] <= 1
    monkeypatch.setattr(robustness, "train_reconstruction", lambda *a, **k: pytest.fail("trained again"))
    monkeypatch.setattr(robustness, "train_probe", lambda *a, **k: pytest.fail("attacked again"))
    loaded, again = robustness.reconstruction_attack(run, tiny_data, BDQEncoder(), method="bdq", alpha=1.0,
                                                     attackers=probes, width=4, depth=1, epochs=1)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), unet.state_dict().values()))
    pd.testing.assert_frame_equal(again, table)


def test_event_cameras_are_encoders_of_the_run(validated_run):
    run = validated_run
    camera = pipeline.encoder_of(run, "dvs_0.4")
    assert isinstance(camera, EventCamera) and camera.threshold == 0.4 and camera.mean == run.cfg.mean


def test_settings_come_from_the_profile_unless_a_parameter_says_otherwise():
    cpu = robustness.sweep_settings("cpu", alpha=1.0)
    assert cpu["recon_alphas"] == [] and cpu["dvs"] == [] and "vit2d@scratch" in cpu["attackers"]
    assert robustness.sweep_settings("cpu", alpha=1.0, smoke=True)["recon_alphas"] == [1.0]  # the chain runs it
    assert robustness.sweep_settings("cpu", alpha=1.0, smoke=True, recon_alphas="")["recon_alphas"] == []
    assert cpu["encoders"] == "bdq" and robustness.sweep_settings("cpu", encoders="raw,bdq")["encoders"] == "raw,bdq"
    assert robustness.sweep_settings("cpu", smoke=True)["dvs"] == [0.4]  # the smoke chain still runs the camera
    paper = robustness.sweep_settings("paper", alpha=2.0, dvs="", recon_epochs=7)
    assert len(paper["attackers"].split(",")) == 10 and paper["dvs"] == [] and paper["unet"]["epochs"] == 7
    assert paper["encoders"] == "raw,bdq" and len(robustness.sweep_settings("paper")["dvs"]) == 6
    assert paper["recon_alphas"] == [2.0, 0.0] and robustness.sweep_settings("cpu", recon_alphas="1,0")[
        "recon_alphas"] == [1.0, 0.0]
    assert robustness.sweep_settings("cpu", smoke=True)["unet"]["epochs"] == 1
    with pytest.raises(ValueError, match="DVS_THRESHOLDS"):
        robustness.sweep_settings("cpu", dvs="0.2,high")
    assert robustness.encoder_names("raw, bdq,bdq@0,D,downsample28", 2.0) == [
        ("raw", "raw", None), ("bdq alpha=2", "bdq", 2.0), ("bdq alpha=0", "bdq", 0.0), ("D alpha=2", "D", 2.0),
        ("downsample28", "downsample28", None)]
    with pytest.raises(ValueError, match="SWEEP_ENCODERS"):
        robustness.encoder_names(" ,", 1.0)


def test_the_paper_profiles_sweeps_name_real_networks_with_downloadable_weights():
    """Every network the paper profile sweeps is known by name, at the right level, with a weight URL (no
    download here): a typo would otherwise surface hours into a GPU run."""
    from bdqlib.nets.registry import network
    from bdqlib.nets.zoo import model_level
    paper = robustness.sweep_settings("paper", alpha=1.0)
    attackers, actions = paper["attackers"].split(","), paper["actions"].split(",")
    assert len(attackers) == 10 and len(actions) >= 5
    for name in attackers:
        assert model_level(name) == "frame" and network(name).trained_on == "ImageNet-1k", name
    for name in actions:
        assert model_level(name) == "clip" and network(name).trained_on == "Kinetics-400", name


def _sweep_predictions(correct: dict, videos: int = 40, seeds=(0, 1)) -> pd.DataFrame:
    """predictions.csv rows: (method, network) -> the fraction of test videos the attacker identifies."""
    rows = []
    for (method, network), frac in correct.items():
        for seed in seeds:
            for v in range(videos):
                hit = v < round(frac * videos)
                rows.append({"method": method, "alpha": float("nan"), "protocol": "retrain", "network": network,
                             "target": "identity", "seed": seed, "clip": v, "video": f"v{v}", "label": 1,
                             "pred": 1 if hit else 0})
    return pd.DataFrame(rows)


def test_report_sentences_are_computed_and_survive_an_encoder_at_chance():
    from bdqlib.report.robustness import describe_action_sweep, describe_attacker_sweep
    sweep = pd.DataFrame([{"encoder": e, "network": n, "privacy_top1": p} for e, n, p in [
        ("raw", "a", 0.9), ("raw", "b", 0.5), ("bdq", "a", 0.3), ("bdq", "b", 0.4)]])
    text = describe_attacker_sweep(sweep, 0.1)
    assert "raw: strongest a 0.900, weakest b 0.500" in text and "bdq: strongest b 0.400, weakest a 0.300" in text
    # verdicts need the predictions: a (0.9 -> 0.3 of 40 videos) separates, b (the same videos identified) does not
    preds = _sweep_predictions({("raw", "a"): 0.9, ("raw", "b"): 0.5, ("bdq", "a"): 0.3, ("bdq", "b"): 0.5})
    text = describe_attacker_sweep(sweep, 0.1, predictions=preds, encoders=[("raw", "raw", None), ("bdq", "bdq", None)])
    assert "less identifiable for 1, more for 0, not distinguishable for 1" in text
    at_chance = sweep.assign(privacy_top1=0.1)
    assert "strongest" in describe_attacker_sweep(at_chance, 0.1)  # no division by (raw - chance)
    actions = pd.DataFrame([{"encoder": e, "network": "t", "action_top1": a} for e, a in [("raw", 0.0), ("bdq", 0.5)]])
    text = describe_action_sweep(actions)
    assert "t: raw 0.000, bdq 0.500" in text and "of raw" not in text  # no ratio to a zero


def test_a_sweep_keeps_each_networks_training_recipe(run):
    """A sweep naming the suite's "res2d@scratch:strong" must train (or reuse) that network, not res2d@scratch with
    the plateau recipe under another name."""
    probes = robustness.probes_of("small2d,res2d@scratch:strong", run, "bdq", 1.0)
    assert [(p.name, p.recipe) for p in probes] == [("small2d", "default"), ("res2d@scratch:strong", "strong")]
    actions = robustness.probes_of("small2plus1d@scratch:strong", run, "bdq", 1.0, target="action")
    assert [(p.name, p.target) for p in actions] == [("small2plus1d@scratch:strong", "action")]
