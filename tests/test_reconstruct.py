import math
from dataclasses import replace

import pytest
import torch

from bdqlib import BDQEncoder
from bdqlib.train.probes import EncodedData
from bdqlib.train.reconstruct import Levels, Reconstructed, UNet3D, quality, reconstruction_loss, train_reconstruction


@pytest.mark.parametrize("depth, shape", [(1, (2, 3, 3, 8, 8)), (2, (1, 3, 4, 16, 24)), (3, (1, 1, 2, 16, 16))])
def test_unet_keeps_time_and_space_and_maps_channels(depth, shape):
    net = UNet3D(shape[1], 3, width=4, depth=depth)
    assert net(torch.randn(shape)).shape == (shape[0], 3, *shape[2:])


def test_unet_refuses_sizes_its_pooling_cannot_undo():
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet3D(width=4, depth=2)(torch.randn(1, 3, 2, 10, 12))


def test_unet_overfits_one_clip():
    torch.manual_seed(0)
    x, target = torch.randn(1, 3, 2, 8, 8), torch.rand(1, 3, 2, 8, 8)
    net = UNet3D(3, 3, width=8, depth=1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        loss = (net(x) - target).abs().mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first


def test_targets_are_the_last_frames_and_the_loss_is_zero_for_a_perfect_reconstruction():
    levels = Levels((0.45,) * 3, (0.225,) * 3)
    raw = torch.randn(2, 3, 5, 16, 16) * 0.5
    assert torch.equal(Levels.target(raw, raw[:, :, 1:]), raw[:, :, 1:])  # T-1 differences end at frames 1..T-1
    assert reconstruction_loss(raw[:, :, 1:].clone(), raw, levels).item() == pytest.approx(0.0, abs=1e-5)
    assert reconstruction_loss(raw[:, :, :-1].clone(), raw, levels).item() > 0.05  # misaligned by a frame


def test_quality_reports_psnr_of_a_known_error():
    levels = Levels((0.0,) * 3, (1.0,) * 3)  # normalised = grey levels
    x = torch.full((2, 3, 3, 8, 8), 0.5)
    shifted = type("E", (), {"__call__": lambda self, v: v[:, :, 1:] + 0.1})()  # E adds 0.1 everywhere
    ident = torch.nn.Identity()
    out = quality([(x, torch.zeros(2), torch.zeros(2))], shifted, ident, levels, device=torch.device("cpu"))
    assert out["psnr"] == pytest.approx(10 * math.log10(1 / 0.01), rel=1e-3)  # MSE 0.01 -> 20 dB
    assert out["input_psnr"] == pytest.approx(out["psnr"]) and 0 < out["ssim"] <= 1


def test_training_restores_the_best_validation_unet_and_reconstructed_is_an_encoder(tiny_cfg, tiny_data):
    cfg = replace(tiny_cfg, val_views=1)
    raw = EncodedData(BDQEncoder(False, False, False), tiny_data, cfg, device=torch.device("cpu"), views=1)
    encoder = BDQEncoder()
    unet, result = train_reconstruction(encoder, raw, cfg, width=4, depth=1, epochs=2, patience=1)
    assert 1 <= result["best_epoch"] <= result["epochs_trained"] <= 2 and len(result["history"]) == result["epochs_trained"]
    best = min(h["val_loss"] for h in result["history"])
    assert result["val_loss"] == best
    assert math.isfinite(result["psnr"]) and 0 < result["ssim"] <= 1
    x = next(iter(raw.batches("test")))[0]
    out = Reconstructed(encoder, unet)(x)
    assert out.shape == (x.shape[0], 3, x.shape[2] - 1, *x.shape[3:])
