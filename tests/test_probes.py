import copy
from dataclasses import replace

import pytest
import torch

import bdqlib.train.probes as attacks
from bdqlib import BDQEncoder
from bdqlib.experiments.validate import validate_encoder
from bdqlib.train.probes import EncodedData, Probe, parse_probes, run_probes, train_probe


def test_probe_names():
    probes = parse_probes("small2d, small2d@scratch,small3d")
    assert [(p.arch, p.init, p.level, p.name) for p in probes] == [
        ("small2d", "pretrained", "frame", "small2d"), ("small2d", "none", "frame", "small2d@scratch"),
        ("small3d", "pretrained", "clip", "small3d")]
    with pytest.raises(ValueError, match="no attacker"):
        parse_probes(" , ")


def test_encoded_data_caches_views_and_matches_encoding_on_the_fly(tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, val_views=2)
    enc = BDQEncoder()
    cached = EncodedData(enc, tiny_data, cfg, device=torch.device("cpu"), views=2)
    x, ya, ys = cached.cached["train"]
    assert x.shape[:2] == (2, len(tiny_data.train)) and x.dtype == torch.float16
    assert not torch.equal(x[0], x[1])  # two different random crops of every clip
    again = EncodedData(enc, tiny_data, cfg, device=torch.device("cpu"), views=2)
    assert torch.equal(again.cached["train"][0], x)  # the views are deterministic for a seed
    batches = list(cached.batches("train", epoch=3, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert all(len(b[1]) == cfg.batch_size for b in batches)  # whole batches only in training
    assert len(batches) == len(tiny_data.train) // cfg.batch_size
    stream = EncodedData(enc, tiny_data, cfg, device=torch.device("cpu"), views=0)
    for a, b in zip(cached.batches("test"), stream.batches("test")):
        assert torch.allclose(a[0], b[0], atol=1e-2) and torch.equal(a[2], b[2])
    assert x.shape[3] == cfg.num_frames - 1  # B+D+Q: T frames give T-1 differences


def test_early_stopping_restores_the_best_validation_weights(tiny_cfg, tiny_data, monkeypatch):
    cfg = replace(tiny_cfg, val_epochs=20, val_patience=3, val_lr_patience=1, val_views=1)
    encoded = EncodedData(BDQEncoder(), tiny_data, cfg, device=torch.device("cpu"), views=1)
    scripted = iter([0.3, 0.6, 0.5, 0.4, 0.2, 0.77])  # five validations, then the test
    snapshots = []

    def fake_accuracies(batches, heads, **kwargs):
        snapshots.append(copy.deepcopy(heads["probe"][0].state_dict()))
        return {"probe": next(scripted)}

    def fake_predict(batches, heads, **kwargs):  # the test split: 100 clips, the scripted share of them right
        right = round(100 * fake_accuracies(batches, heads)["probe"])
        return {"probe": (torch.zeros(100, dtype=torch.long), (torch.arange(100) >= right).long())}
    monkeypatch.setattr(attacks, "accuracies", fake_accuracies)
    monkeypatch.setattr(attacks, "predict", fake_predict)
    result = train_probe(Probe("small2d", "identity", "none"), encoded, cfg)
    assert (result.best_epoch, result.epochs_trained, result.val_top1, result.test_top1) == (2, 5, 0.6, 0.77)
    final = result.model.state_dict()
    assert all(torch.equal(final[k], snapshots[1][k]) for k in final)  # epoch 2's weights were tested
    assert not all(torch.equal(final[k], snapshots[4][k]) for k in final)
    lrs = [h["lr"] for h in result.history]
    assert lrs[0] == lrs[2] == cfg.val_lr and lrs[3] == pytest.approx(cfg.val_lr * cfg.val_lr_drop)  # plateau
    scripted = iter([0.3, 0.6, 0.5, 0.4, 0.2, 0.1, 0.1, 0.8])  # no early stop before val_min_epochs = 7
    late = train_probe(Probe("small2d", "identity", "none"), encoded, replace(cfg, val_min_epochs=7))
    assert (late.best_epoch, late.epochs_trained, late.test_top1) == (2, 7, 0.8)



def test_a_one_cycle_recipe_runs_to_its_end_and_tests_its_best_validation_epoch(tiny_cfg, tiny_data, monkeypatch):
    # A plateau recipe stops after `val_patience` epochs without a better validation; a one-cycle would then stop
    # near its peak learning rate, before it anneals: it runs all val_epochs (measured: docs/studies/attack_search.md),
    # evaluated in its second half only
    cfg = replace(tiny_cfg, val_epochs=8, val_patience=2, val_min_epochs=1, val_views=1)
    encoded = EncodedData(BDQEncoder(), tiny_data, cfg, device=torch.device("cpu"), views=1)

    def run(probe, validations, test):
        scripted = iter(validations + [test])

        def fake_accuracies(batches, heads, **kwargs):
            return {"probe": next(scripted)}

        def fake_predict(batches, heads, **kwargs):
            right = round(100 * fake_accuracies(batches, heads)["probe"])
            return {"probe": (torch.zeros(100, dtype=torch.long), (torch.arange(100) >= right).long())}
        monkeypatch.setattr(attacks, "accuracies", fake_accuracies)
        monkeypatch.setattr(attacks, "predict", fake_predict)
        result = train_probe(probe, encoded, cfg)
        assert next(scripted, None) is None  # every scripted number was read: as many validations as expected
        return result
    plateau = run(Probe("small2d", "identity", "none"), [0.3, 0.2, 0.2], 0.25)
    assert (plateau.best_epoch, plateau.epochs_trained, plateau.val_top1) == (1, 3, 0.3)
    cycle = run(Probe("small2d", "identity", "none", "strong"), [0.5, 0.4, 0.7, 0.6], 0.65)  # epochs 5-8
    assert (cycle.best_epoch, cycle.epochs_trained, cycle.val_top1, cycle.test_top1) == (7, 8, 0.7, 0.65)
    assert [h["val_top1"] != h["val_top1"] for h in cycle.history] == [True] * 4 + [False] * 4  # NaN: not evaluated
    lrs = [h["lr"] for h in cycle.history]
    assert max(lrs) > lrs[0] and lrs[-1] < lrs[0] / 100  # warmed up, then annealed to the end of the cycle



def test_a_finished_probe_is_read_back_as_it_was_trained_standardised_or_not(tmp_path, tiny_cfg, tiny_data):
    # frozen_clean applies the raw video's saved networks (pipeline.clean_models); a ':strong' one carries its input
    # statistics as buffers of a Standardized wrapper, which a bare network cannot load
    cfg = replace(tiny_cfg, val_epochs=1, val_views=1)
    encoded = EncodedData(BDQEncoder(), tiny_data, cfg, device=torch.device("cpu"), views=1)
    x = next(encoded.batches("test"))[0]
    for probe in parse_probes("small2d@scratch,small2d@scratch:strong"):
        result = train_probe(probe, encoded, cfg, checkpoint=tmp_path / f"{probe.name}.pt")
        state = torch.load(tmp_path / f"{probe.name}.pt", weights_only=False)["best"]["state"]
        back = attacks.saved_model(probe, state, cfg, tiny_data.num_subjects).eval()
        assert isinstance(back, attacks.Standardized) == (probe.recipe == "strong")
        frames = x.transpose(1, 2).flatten(0, 1)  # (B*T, C, H, W): a frame network's input
        with torch.no_grad():
            assert torch.equal(back(frames), result.model.eval()(frames))

def test_a_resumed_suite_ends_with_the_rows_of_an_uninterrupted_one(tmp_path, tiny_cfg, tiny_data, monkeypatch):
    cfg = replace(tiny_cfg, attackers="small2d,small3d@scratch", val_epochs=3, val_patience=5, val_views=2)
    enc = BDQEncoder()
    straight = validate_encoder(enc, tiny_data, cfg, method="bdq", alpha=1.0, checkpoint_dir=tmp_path / "a",
                                log=None)[0]
    real_save = attacks.save_checkpoint

    def save_then_die(path, **kwargs):
        real_save(path, **kwargs)
        if "small2d" in str(path) and kwargs["epoch"] == 2 and "result" not in kwargs:
            raise KeyboardInterrupt("simulated kill")
    monkeypatch.setattr(attacks, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        validate_encoder(enc, tiny_data, cfg, method="bdq", alpha=1.0, checkpoint_dir=tmp_path / "b", log=None)
    monkeypatch.setattr(attacks, "save_checkpoint", real_save)
    assert (tmp_path / "b" / "action-small3d.pt").is_file()  # T had finished before the kill
    resumed = validate_encoder(enc, tiny_data, cfg, method="bdq", alpha=1.0, checkpoint_dir=tmp_path / "b",
                               log=None)[0]
    assert resumed == straight


def test_run_probes_trains_every_action_network_and_every_attacker(tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, attackers="small2d@scratch,small3d@scratch", val_epochs=1, val_views=1,
                  action_networks="small3d,small2plus1d@scratch")
    out = run_probes(BDQEncoder(False, False, False), tiny_data, cfg)
    assert [r.probe for r in out["actions"]] == [Probe("small3d", "action"),
                                                 Probe("small2plus1d", "action", "none")]
    assert [r.probe.name for r in out["attackers"]] == ["small2d@scratch", "small3d@scratch"]
    assert out["attackers"][1].model[-1].out_features == tiny_data.num_subjects  # a 3-D network on identity


def test_a_probe_checkpoint_resumes_in_a_session_with_other_paths_and_workers(tmp_path, tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, val_views=1, val_epochs=1, weights_dir=str(tmp_path / "a"), data_dir=tiny_cfg.data_dir)
    encoded = EncodedData(BDQEncoder(), tiny_data, cfg, device=torch.device("cpu"), views=1)
    probe = Probe("small2d", "identity", "none")
    first = train_probe(probe, encoded, cfg, checkpoint=tmp_path / "p.pt")
    elsewhere = replace(cfg, weights_dir=str(tmp_path / "b"), num_workers=2, time_budget_h=11.0)  # a new session
    again = train_probe(probe, encoded, elsewhere, checkpoint=tmp_path / "p.pt")  # read back, not refused
    assert (again.test_top1, again.best_epoch) == (first.test_top1, first.best_epoch)
    with pytest.raises(attacks.ConfigMismatch):
        train_probe(probe, encoded, replace(cfg, val_lr=0.5), checkpoint=tmp_path / "p.pt")  # what is computed


def test_a_probe_trains_on_uncached_views_the_paper_profiles_path(tiny_cfg, tiny_data):
    """val_views=0 (the paper profile's default) encodes each batch as it is read. The training step that consumes
    the batch must still have autograd: a generator that yields inside `torch.no_grad()` switches it off for the
    consumer too (grad mode is thread-global)."""
    cfg = replace(tiny_cfg, val_views=0, val_epochs=1, val_min_epochs=1)
    encoded = EncodedData(BDQEncoder(), tiny_data, cfg, device=torch.device("cpu"), views=0)
    assert not encoded.cached
    before = copy.deepcopy(build_model_for_test())
    result = train_probe(Probe("small2d", "identity", "none"), encoded, cfg)
    assert result.epochs_trained == 1 and 0 <= result.test_top1 <= 1
    assert torch.is_grad_enabled()  # the consumer's world is left as it was
    moved = [not torch.equal(a, b) for a, b in zip(before.state_dict().values(), result.model.state_dict().values())
             if a.dtype.is_floating_point]
    assert any(moved)


def build_model_for_test():
    """The probe's initial weights: train_probe seeds with cfg.seed (0) before building small2d at width 4."""
    from bdqlib.engine.checkpoint import seed_everything
    from bdqlib.nets.zoo import build_model
    seed_everything(0)
    return build_model("small2d", 3, width=4)
