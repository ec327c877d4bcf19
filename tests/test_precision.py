import copy
from dataclasses import replace

import pytest
import torch

from bdqlib.core.encoder import BDQEncoder
from bdqlib.engine.precision import make_precision, maybe_checkpointed, memory_format
from bdqlib.nets.zoo import build_model
from bdqlib.train.game import adversarial_step, train_adversarial
from bdqlib.train.probes import EncodedData, Probe, train_probe


def test_modes_resolve_per_device():
    cpu = torch.device("cpu")
    assert make_precision("auto", cpu).dtype is None and make_precision("off", cpu).name == "fp32"
    assert make_precision("bf16", cpu).dtype is torch.bfloat16 and make_precision("bf16", cpu).scaler is None
    fp16 = make_precision("fp16", cpu)
    assert fp16.dtype is torch.float16 and fp16.scaler is not None
    with pytest.raises(ValueError, match="amp must be one of"):
        make_precision("half", cpu)
    if torch.cuda.is_available():
        auto = make_precision("auto", torch.device("cuda"))
        assert auto.dtype in (torch.bfloat16, torch.float16) and (auto.scaler is None) == (auto.dtype == torch.bfloat16)


@pytest.mark.parametrize("flags, deterministic, expected", [
    (("avx2", "avx512f", "avx512_bf16"), False, True), (("avx2", "amx_bf16"), False, True),
    (("avx2", "avx512f"), False, False),          # bf16 would be emulated: slower than fp32
    (("avx2", "avx512f", "avx512_bf16"), True, False)])  # the deterministic mode caps the kernels at AVX2
def test_auto_on_a_cpu_takes_bf16_only_where_it_is_native_and_for_networks_faster_so(monkeypatch, flags,
                                                                                      deterministic, expected):
    import bdqlib.platform as platform
    monkeypatch.setattr(platform, "cpu_flags", lambda: flags)
    monkeypatch.setattr(platform, "deterministic_mode", lambda: deterministic)
    cpu = torch.device("cpu")
    bf16 = torch.bfloat16 if expected else None
    assert make_precision("auto", cpu, network="small3d").dtype is bf16
    assert make_precision("auto", cpu, network=["small3d", "res2d"]).dtype is bf16
    assert make_precision("auto", cpu, network=["small3d", "vit2d"]).dtype is None  # vit2d is slower in bf16
    assert make_precision("auto", cpu).dtype is None  # an unnamed network (U-Net, anonymiser) keeps fp32
    assert make_precision("off", cpu, network="small3d").dtype is None


def batch():
    torch.manual_seed(0)
    return torch.randn(4, 3, 4, 16, 16), torch.tensor([0, 1, 2, 0]), torch.tensor([0, 1, 1, 0])


def players():
    torch.manual_seed(1)
    enc = BDQEncoder()
    action, privacy = build_model("small3d", 3, width=4), build_model("small2d", 2, width=4)
    opt_et = torch.optim.SGD(list(enc.parameters()) + list(action.parameters()), lr=0.1)
    opt_p = torch.optim.SGD(privacy.parameters(), lr=0.1)
    return enc, action, privacy, opt_et, opt_p


@pytest.mark.parametrize("mode", ["bf16", "fp16"])
def test_a_game_step_under_autocast_keeps_e_in_fp32_and_every_parameter_fp32(mode):
    precision = make_precision(mode, torch.device("cpu"))
    enc, action, privacy, opt_et, opt_p = players()
    before = enc.bin_centres.detach().clone()
    for _ in range(20):  # fp16: the GradScaler skips the steps whose scaled gradients overflow, halving its scale
        try:
            stats = adversarial_step(batch(), enc, action, privacy, opt_et, opt_p, alpha=1.0, privacy_frames="all",
                                     precision=precision)
        except RuntimeError as err:  # an old CPU build without fp16 autocast kernels
            pytest.skip(f"{mode} autocast not supported on this CPU build: {err}")
        assert all(isinstance(v, float) and v == v for v in stats.values())
        if not torch.equal(enc.bin_centres.detach(), before):
            break
    assert not torch.equal(enc.bin_centres.detach(), before)  # E learned, in fp32
    if precision.scaler is not None:
        assert precision.scaler.get_scale() <= 65536.0
    for module in (enc, action, privacy):
        assert all(p.dtype == torch.float32 for p in module.parameters())


def test_activation_checkpointing_gives_the_same_update():
    results = []
    for checkpointed in (False, True):
        enc, action, privacy, opt_et, opt_p = players()
        adversarial_step(batch(), enc, action, privacy, opt_et, opt_p, alpha=1.0, privacy_frames="all",
                         checkpoint_privacy=checkpointed)
        results.append((enc.bin_centres.detach().clone(), [p.detach().clone() for p in action.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b)
    model = build_model("small2d", 2, width=4)
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    maybe_checkpointed(model, x, enabled=True).sum().backward()
    assert x.grad is not None


def test_channels_last_for_2d_and_3d_networks():
    net2d = memory_format(build_model("small2d", 2, width=4), True)
    conv = next(m for m in net2d.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    net3d = memory_format(build_model("small3d", 2, width=4), True)
    conv3 = next(m for m in net3d.modules() if isinstance(m, torch.nn.Conv3d))
    assert conv3.weight.is_contiguous(memory_format=torch.channels_last_3d)
    plain = build_model("small2d", 2, width=4)
    assert memory_format(plain, False) is plain


def test_training_and_validation_run_end_to_end_in_bf16(tiny_cfg, tiny_data, tmp_path):
    cfg = replace(tiny_cfg, amp="bf16", epochs=2, warmup_epochs=0)
    result = train_adversarial(cfg, tiny_data, tmp_path / "game", log=None)
    assert result.status == "completed" and result.history["loss_action"].notna().all()
    assert result.encoder.bin_centres.dtype == torch.float32
    encoded = EncodedData(copy.deepcopy(result.encoder), tiny_data, cfg, device=torch.device("cpu"), views=1)
    probe = train_probe(Probe("small2d", "identity", "none"), encoded, replace(cfg, val_epochs=2, val_min_epochs=1))
    assert 0.0 <= probe.test_top1 <= 1.0 and len(probe.history) >= 1


@pytest.mark.parametrize("capability, expected", [((6, 0), torch.float16), ((7, 5), torch.float16),
                                                  ((8, 0), torch.bfloat16), ((9, 0), torch.bfloat16)])
def test_auto_takes_fp16_with_a_scaler_below_compute_capability_8(monkeypatch, capability, expected):
    """A T4 (7.5) or P100 (6.0) "supports" bf16 by emulation (torch.cuda.is_bf16_supported() says yes), but cuDNN
    has no bf16 convolutions there: auto must take fp16 with a GradScaler."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: capability)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    chosen = make_precision("auto", torch.device("cuda"))
    assert chosen.dtype is expected and (chosen.scaler is not None) == (expected is torch.float16)


@pytest.mark.parametrize("privacy_steps", [2, 3])
def test_several_p_updates_per_step_under_fp16_and_a_grad_scaler(privacy_steps):
    """privacy_steps >= 2 steps P's optimizer several times in one game step: each is an iteration of its own for
    the GradScaler, which refuses a second step of one optimizer before an update."""
    precision = make_precision("fp16", torch.device("cpu"))
    enc, action, privacy, opt_et, opt_p = players()
    before = [p.detach().clone() for p in privacy.parameters()]
    steps = []
    original = opt_p.step
    opt_p.step = lambda *a, **k: (steps.append(1), original(*a, **k))[1]
    try:
        for _ in range(3):
            stats = adversarial_step(batch(), enc, action, privacy, opt_et, opt_p, alpha=1.0, privacy_frames="all",
                                     privacy_steps=privacy_steps, precision=precision)
    except RuntimeError as err:
        if "already been called" in str(err):
            raise
        pytest.skip(f"fp16 autocast not supported on this CPU build: {err}")
    assert all(v == v for v in stats.values())
    assert len(steps) > 0 and any(not torch.equal(a, b.detach()) for a, b in zip(before, privacy.parameters()))
