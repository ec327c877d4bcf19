import math
from dataclasses import replace

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import bdqlib.train.game as adversarial
from bdqlib import BDQEncoder
from bdqlib.engine.checkpoint import ConfigMismatch, TimeBudget, bind_run_dir
from bdqlib.engine.steps import NonFiniteLoss, select_frames
from bdqlib.metrics import clip_entropy, entropy
from bdqlib.train.game import adversarial_step, train_adversarial


class FixedLogits(nn.Module):
    """A 'network' whose output logits are given, with one parameter so that optimizers accept it."""

    def __init__(self, logits):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.logits = logits

    def forward(self, x):
        shape = (x.shape[0], self.logits.shape[-1])
        return (self.logits.expand(shape) * self.scale) + 0 * x.flatten(1).sum(1, keepdim=True)


class SpyOptimizer(torch.optim.SGD):
    """SGD with lr 0 that records the gradients it sees at each step."""

    def __init__(self, params):
        self.params_list = list(params)
        super().__init__(self.params_list, lr=0.0)
        self.seen = []

    def step(self, closure=None):
        self.seen.append([None if p.grad is None else p.grad.clone() for p in self.params_list])


def batch(b=3, t=4, classes=3):
    g = torch.Generator().manual_seed(0)
    return torch.rand(b, 3, t, 10, 10, generator=g), torch.tensor([0, 1, 2][:b]), torch.tensor([1, 0, 1][:b])


def test_losses_take_logits_not_probabilities():
    # T is certain and right: CE on logits is ~0; CE on softmax(logits) (a double softmax) would be ~0.55.
    x, ya, ys = batch()
    logits = torch.full((1, 3), -20.0)
    action = FixedLogits(logits)
    action.logits = torch.eye(3)[ya] * 40 - 20
    action.forward = lambda v: action.logits * action.scale + 0 * v.flatten(1).sum(1, keepdim=True)
    privacy = FixedLogits(torch.zeros(1, 2))  # uniform: maximal entropy log 2
    enc = BDQEncoder()
    stats = adversarial_step((x, ya, ys), enc, action, privacy, SpyOptimizer(list(enc.parameters())),
                             SpyOptimizer(privacy.parameters()), alpha=1.0, privacy_frames="all")
    assert stats["loss_action"] < 1e-6
    assert stats["entropy"] == pytest.approx(math.log(2), abs=1e-6)
    assert stats["loss_et"] == pytest.approx(stats["loss_action"] - math.log(2), abs=1e-6)
    double = F.cross_entropy(F.softmax(action.logits, -1), ya)
    assert double > 0.5  # what the student reproduction's loss would have reported


def test_entropy_of_logits():
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [10.0, -10.0, -10.0, -10.0]])
    assert float(entropy(logits[:1])) == pytest.approx(math.log(4))
    assert float(entropy(logits[1:])) < 1e-6
    p = torch.softmax(torch.tensor([[1.0, 2.0, 0.5]]), -1)
    assert float(entropy(torch.log(p))) == pytest.approx(float(-(p * p.log()).sum()), rel=1e-6)


def test_step_one_reaches_the_encoder_and_step_two_does_not():
    torch.manual_seed(0)
    x, ya, ys = batch(t=5)
    enc = BDQEncoder()
    action = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 3))
    privacy = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    opt_et = SpyOptimizer(list(enc.parameters()) + list(action.parameters()))
    opt_p = SpyOptimizer(privacy.parameters())
    adversarial_step((x, ya, ys), enc, action, privacy, opt_et, opt_p, alpha=1.0, privacy_frames="all")
    sigma_grad, bins_grad = opt_et.seen[0][:2]
    assert sigma_grad.abs() > 0 and (bins_grad != 0).sum() >= 5  # step 1 reaches sigma and the bins
    # after step 2 the encoder's gradients are still exactly step 1's: nothing flowed back from P's update
    assert torch.equal(enc.log_sigma.grad, sigma_grad) and torch.equal(enc.bin_centres.grad, bins_grad)
    assert all(g is not None and g.abs().sum() > 0 for g in opt_p.seen[0])  # P learned in step 2
    assert all(p.requires_grad for p in privacy.parameters())  # P is trainable again afterwards


def test_entropy_term_pushes_the_encoder():
    """With alpha > 0 the encoder gets the entropy's gradient on top of the action loss's."""
    torch.manual_seed(0)
    x, ya, ys = batch(t=5)
    grads = {}
    for alpha in (0.0, 5.0):
        torch.manual_seed(1)
        enc = BDQEncoder()
        action = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 3))
        privacy = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        opt = SpyOptimizer(list(enc.parameters()) + list(action.parameters()))
        adversarial_step((x, ya, ys), enc, action, privacy, opt, SpyOptimizer(privacy.parameters()), alpha=alpha,
                         privacy_frames="all")
        grads[alpha] = opt.seen[0][1]
    assert not torch.allclose(grads[0.0], grads[5.0])


def small_nets(seed=0):
    torch.manual_seed(seed)
    action = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 3))
    privacy = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                            nn.Flatten(), nn.Linear(4, 2))
    return action, privacy


def test_p_is_fixed_in_step_one_batchnorm_included():
    x, ya, ys = batch(t=5)
    enc, (action, privacy) = BDQEncoder(), small_nets()
    modes = []
    privacy.register_forward_pre_hook(lambda m, args: modes.append(m.training))
    adversarial_step((x, ya, ys), enc, action, privacy, SpyOptimizer(list(enc.parameters())),
                     SpyOptimizer(privacy.parameters()), alpha=1.0, privacy_frames="all")
    assert modes == [False, True]  # step 1 in eval mode (running statistics), step 2 training
    assert privacy[1].num_batches_tracked == 1  # only step 2 moved the BatchNorm statistics


def test_an_error_in_step_one_leaves_p_trainable():
    x, ya, ys = batch(t=5)
    enc, (_, privacy) = BDQEncoder(), small_nets()

    def broken_action(v):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        adversarial_step((x, ya, ys), enc, broken_action, privacy, SpyOptimizer(list(enc.parameters())),
                         SpyOptimizer(privacy.parameters()), alpha=1.0, privacy_frames="all")
    assert privacy.training and all(p.requires_grad for p in privacy.parameters())


def test_clip_entropy_is_the_entropy_the_privacy_score_reads():
    confident_and_split = torch.tensor([[[20.0, -20.0], [-20.0, 20.0]]])  # (B=1, T=2, K=2): frames disagree
    assert float(entropy(confident_and_split)) < 1e-6  # each frame is certain ...
    assert float(clip_entropy(confident_and_split)) == pytest.approx(math.log(2), abs=1e-6)  # ... the clip is not
    x, ya, ys = batch(t=5)
    stats = {}
    for mode in ("frame", "clip"):  # the same nets for both (fresh: step 2 moves P's BatchNorm statistics)
        enc, (action, privacy) = BDQEncoder(), small_nets()
        stats[mode] = adversarial_step((x, ya, ys), enc, action, privacy, SpyOptimizer(list(enc.parameters())),
                                       SpyOptimizer(privacy.parameters()), alpha=1.0, privacy_frames="all",
                                       privacy_entropy=mode)["entropy"]
    assert stats["clip"] >= stats["frame"] - 1e-6 and stats["clip"] != stats["frame"]  # concavity: H(mean) >= mean H


def test_privacy_steps_updates_p_that_many_times():
    x, ya, ys = batch(t=5)
    enc, (action, privacy) = BDQEncoder(), small_nets()
    opt_p = SpyOptimizer(privacy.parameters())
    adversarial_step((x, ya, ys), enc, action, privacy, SpyOptimizer(list(enc.parameters())), opt_p, alpha=1.0,
                     privacy_frames="all", privacy_steps=3)
    assert len(opt_p.seen) == 3


def test_restart_schedule():
    assert [adversarial.restarts_before(s, 3) for s in range(1, 9)] == [0, 0, 0, 1, 1, 1, 2, 2]
    assert adversarial.restarts_before(50, 0) == 0 and adversarial.restarts_before(0, 3) == 0


def test_restarts_return_p_to_its_initial_weights(tmp_path, tiny_cfg, tiny_data, monkeypatch):
    cfg = replace(tiny_cfg, epochs=2, warmup_epochs=1, privacy_restart_every=1)
    loaded = []
    real = torch.nn.Module.load_state_dict

    def spy(self, state, *args, **kwargs):
        loaded.append({k: v.clone() for k, v in state.items()})
        return real(self, state, *args, **kwargs)
    first = {}
    real_make = adversarial.make_models

    def make(*args, **kwargs):
        t, p = real_make(*args, **kwargs)
        first.update({k: v.clone() for k, v in p.state_dict().items()})
        return t, p
    monkeypatch.setattr(adversarial, "make_models", make)
    monkeypatch.setattr(torch.nn.Module, "load_state_dict", spy)
    result = train_adversarial(cfg, tiny_data, tmp_path / "run", log=None)
    steps = len(tiny_data.train) // cfg.batch_size  # of play, in epoch 2 (epoch 1 is warm-up)
    assert steps >= 2 and len(loaded) == steps - 1  # before every step of play but the first
    assert all(torch.equal(s[k], first[k]) for s in loaded for k in first)
    assert result.history["privacy_restarts"].tolist() == [0, steps - 1]


def test_an_unknown_entropy_option_is_named(tmp_path, tiny_cfg, tiny_data):
    with pytest.raises(ValueError, match="privacy_entropy"):
        train_adversarial(replace(tiny_cfg, privacy_entropy="video"), tiny_data, tmp_path / "run", log=None)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_select_frames():
    v = torch.arange(2 * 3 * 6).float().view(2, 3, 6, 1, 1).expand(2, 3, 6, 4, 4)
    assert select_frames(v, "all") is v
    torch.manual_seed(0)
    one = select_frames(v, "one")
    assert one.shape == (2, 3, 1, 4, 4)
    some = select_frames(v, 3)
    assert some.shape == (2, 3, 3, 4, 4)
    assert select_frames(v, 10).shape == v.shape
    with pytest.raises(ValueError):
        select_frames(v, "half")


def test_tiny_adversarial_run_logs_every_epoch(tmp_path, tiny_cfg, tiny_data):
    result = train_adversarial(tiny_cfg, tiny_data, tmp_path / "run", log=None)
    assert result.status == "completed"
    log = pd.read_csv(tmp_path / "run" / "log.csv")
    assert log["epoch"].tolist() == [1, 2]
    for column in ("loss_action", "entropy", "loss_privacy", "train_action_top1", "train_privacy_top1",
                   "val_action_top1", "val_privacy_top1", "sigma", "bin00", "bin14"):
        assert column in log and log[column].notna().all()
    assert log.loc[0, "sigma"] == pytest.approx(tiny_cfg.sigma)  # epoch 1 is warm-up: E frozen
    assert (tmp_path / "run" / "config.json").is_file() and (tmp_path / "run" / "checkpoints" / "last.pt").is_file()


def run_in(directory, cfg, data, interrupt_after_epoch=None, monkeypatch=None):
    """Train in `directory`; with interrupt_after_epoch, die right after that epoch's checkpoint."""
    if interrupt_after_epoch is not None:
        real_save = adversarial.save_checkpoint

        def save_then_die(path, **kwargs):
            real_save(path, **kwargs)
            if kwargs["epoch"] == interrupt_after_epoch:
                raise KeyboardInterrupt("simulated kill")
        monkeypatch.setattr(adversarial, "save_checkpoint", save_then_die)
        with pytest.raises(KeyboardInterrupt):
            train_adversarial(cfg, data, directory, log=None)
        monkeypatch.setattr(adversarial, "save_checkpoint", real_save)
    return train_adversarial(cfg, data, directory, log=None)


@pytest.mark.parametrize("game", [{}, {"privacy_restart_every": 2, "privacy_steps": 2, "privacy_entropy": "clip"},
                                  {"privacy_ensemble": "small3d,res2d@scratch", "privacy_restart_every": 2,
                                   "dead_zone": True}])
def test_resume_after_kill_gives_exactly_the_uninterrupted_run(tmp_path, tiny_cfg, tiny_data, monkeypatch, game):
    cfg = replace(tiny_cfg, epochs=3, **game)
    straight = run_in(tmp_path / "straight", cfg, tiny_data)
    resumed = run_in(tmp_path / "killed", cfg, tiny_data, interrupt_after_epoch=2, monkeypatch=monkeypatch)
    a = straight.history.drop(columns="seconds")
    b = resumed.history.drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for m1, m2 in ((straight.encoder, resumed.encoder), (straight.action, resumed.action),
                   (straight.privacy, resumed.privacy)):
        for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
            assert torch.equal(v1, v2), k


def test_resume_refuses_a_different_config(tmp_path, tiny_cfg, tiny_data):
    train_adversarial(replace(tiny_cfg, epochs=1), tiny_data, tmp_path / "run", log=None)
    with pytest.raises(ConfigMismatch, match="alpha"):
        train_adversarial(replace(tiny_cfg, epochs=1, alpha=2.0), tiny_data, tmp_path / "run", log=None)
    bind_run_dir(tmp_path / "other", {"a": 1, "num_workers": 0})
    bind_run_dir(tmp_path / "other", {"a": 1, "num_workers": 4})  # fields that do not change results may differ
    bind_run_dir(tmp_path / "other", {"a": 1, "privacy_steps": 1})  # a field added later, at its default: the same
    with pytest.raises(ConfigMismatch, match="privacy_steps"):
        bind_run_dir(tmp_path / "other", {"a": 1, "privacy_steps": 2})


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path, tiny_cfg, tiny_data, monkeypatch):
    cfg = replace(tiny_cfg, epochs=3)
    real_step = adversarial.adversarial_step

    def poisoned(batch, encoder, *args, where, **kwargs):
        if where.startswith("epoch 2;"):  # epoch 2: the encoder's output becomes NaN
            with torch.no_grad():
                encoder.bin_centres.fill_(float("nan"))
        return real_step(batch, encoder, *args, where=where, **kwargs)
    monkeypatch.setattr(adversarial, "adversarial_step", poisoned)
    with pytest.raises(NonFiniteLoss, match=r"epoch 2; last good checkpoint"):
        train_adversarial(cfg, tiny_data, tmp_path / "run", log=None)
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=False)
    assert state["epoch"] == 1 and torch.isfinite(state["states"]["encoder"]["bin_centres"]).all()


def test_time_budget_stops_cleanly_and_resumes(tmp_path, tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, epochs=3, time_budget_h=1e-9)
    first = train_adversarial(cfg, tiny_data, tmp_path / "run", log=None)
    assert first.status == "time_budget" and len(first.history) == 1
    rest = train_adversarial(replace(cfg, time_budget_h=0.0), tiny_data, tmp_path / "run", log=None)
    assert rest.status == "completed" and rest.history["epoch"].tolist() == [1, 2, 3]
    budget = TimeBudget(0)
    budget.record(1e9)
    assert not budget.exhausted()  # no budget: never exhausted


def test_combine_entropies_takes_the_most_confident_attacker_or_the_mean():
    hs = [torch.tensor(2.0), torch.tensor(0.5), torch.tensor(1.0)]
    assert adversarial.combine_entropies(hs, "worst").item() == 0.5
    assert adversarial.combine_entropies(hs, "mean").item() == pytest.approx(3.5 / 3)
    with pytest.raises(ValueError, match="privacy_ensemble_mode"):
        adversarial.combine_entropies(hs, "max")


def test_an_ensemble_game_trains_every_attacker_and_logs_each(tmp_path, tiny_cfg, tiny_data, monkeypatch):
    cfg = replace(tiny_cfg, epochs=2, warmup_epochs=1, privacy_ensemble="small3d,res2d@scratch",
                  privacy_ensemble_mode="mean", dead_zone=True)
    seen = []
    real = adversarial.adversarial_step

    def spy(*args, **kwargs):
        seen.append([(m.training, next(m.parameters()).requires_grad) for m, _, _ in kwargs["ensemble"]])
        return real(*args, **kwargs)
    monkeypatch.setattr(adversarial, "adversarial_step", spy)
    result = train_adversarial(cfg, tiny_data, tmp_path / "run", log=None)
    h = result.history
    assert {"val_privacy_top1_small3d", "val_privacy_top1_res2d@scratch", "entropy_P", "dead_zone"} <= set(h)
    assert h["val_privacy_top1_small3d"].between(0, 1).all()
    assert all(state == [(True, True), (True, True)] for state in seen)  # trainable again after every step 1
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=False)["states"]
    assert {"ensemble0", "ensemble1", "opt_ensemble0", "sched_ensemble1"} <= set(state)
    with pytest.raises(ValueError, match="privacy_ensemble_mode"):
        train_adversarial(replace(cfg, privacy_ensemble_mode="max"), tiny_data, tmp_path / "other", log=None)


class _NoBatchStats(nn.Module):
    """A small network without BatchNorm (clip-level 3-D or frame-level 2-D): its gradient over a batch is the
    weighted sum of its micro-batches' gradients exactly."""

    def __init__(self, classes, three_d):
        super().__init__()
        conv = nn.Conv3d if three_d else nn.Conv2d
        self.body = nn.Sequential(conv(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(2))
        self.head = nn.Linear(4, classes)

    def forward(self, x):
        return self.head(self.body(x).mean(-1))


@pytest.mark.parametrize("privacy_steps", [1, 2])
def test_an_accumulated_step_of_4_x_4_equals_one_step_of_16(privacy_steps):
    """Gradient accumulation reproduces the whole batch's update where no batch statistic enters: networks without
    BatchNorm, per-clip normalisation in E, every frame for P (frames drawn per micro-batch would differ)."""
    g = torch.Generator().manual_seed(3)
    data = (torch.randn(16, 3, 4, 8, 8, generator=g), torch.randint(3, (16,), generator=g),
            torch.randint(5, (16,), generator=g))
    outcomes = []
    for accum in (1, 4):
        torch.manual_seed(0)
        enc, action, privacy = BDQEncoder(), _NoBatchStats(3, True), _NoBatchStats(5, False)
        opt_et = torch.optim.SGD(list(enc.parameters()) + list(action.parameters()), lr=0.5, momentum=0.9)
        opt_p = torch.optim.SGD(privacy.parameters(), lr=0.5, momentum=0.9)
        stats = adversarial_step(data, enc, action, privacy, opt_et, opt_p, alpha=1.0, privacy_frames="all",
                                 privacy_steps=privacy_steps, accum=accum)
        outcomes.append(([(f"{i}.{k}", v.detach().clone()) for i, m in enumerate((enc, action, privacy))
                          for k, v in m.state_dict().items()], stats))
    (whole, s1), (accumulated, s4) = outcomes
    assert [k for k, _ in whole] == [k for k, _ in accumulated]
    for (k, a), (_, b) in zip(whole, accumulated):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=k)
    assert not torch.equal(dict(whole)["0.bin_centres"], torch.arange(15) + 0.5)  # E moved
    for key in s1:
        assert s4[key] == pytest.approx(s1[key], rel=1e-5, abs=1e-6), key


def test_micro_batches_cover_the_batch_with_weights_that_sum_to_one():
    from bdqlib.engine.steps import micro_batches
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    parts = micro_batches((x, y), 4)
    assert [len(p[0][0]) for p in parts] == [3, 3, 2, 2] and sum(w for _, w in parts) == pytest.approx(1.0)
    assert torch.equal(torch.cat([p[0][1] for p in parts]), y)
    assert micro_batches((x, y), 1)[0][0][0] is x  # no accumulation: the same tensors
    with pytest.raises(ValueError, match="cannot be split into 16"):
        micro_batches((x, y), 16)
