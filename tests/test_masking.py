"""The masking baseline (bdqlib.methods.masking)."""
import pytest
import torch

from bdqlib.config import make_config
from bdqlib.methods import masking

MEAN, STD = (0.45,) * 3, (0.225,) * 3


def test_fill_with_mean_replaces_the_masked_region_by_its_mean_colour():
    video = torch.arange(2 * 1 * 4, dtype=torch.float32).view(1, 2, 1, 2, 2)  # 2 channels
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(1, 1, 1, 2, 2)
    out = masking.fill_with_mean(video, mask)
    assert torch.equal(out[0, 0, 0], torch.tensor([[1.5, 1.0], [2.0, 1.5]]))  # channel 0: mean of 0 and 3
    assert torch.equal(out[0, 1, 0], torch.tensor([[5.5, 5.0], [6.0, 5.5]]))
    assert torch.equal(masking.fill_with_mean(video, torch.zeros_like(mask)), video)  # nothing masked


def test_background_mask_finds_the_moving_person_and_not_the_static_scene():
    pixels = torch.full((1, 3, 5, 16, 16), 0.5)
    pixels[..., 10:, :] = 0.3  # static ground
    for t in range(5):
        pixels[0, :, t, 4:10, 2 * t:2 * t + 3] = 0.9  # a person walking right
    video = (pixels - 0.45) / 0.225
    mask = masking.BackgroundMask(mean=MEAN, std=STD, threshold=0.06, dilate=0)(video)
    assert mask.shape == (1, 1, 5, 16, 16)
    assert mask[0, 0, 2, 4:10, 4:7].all() and mask[0, 0, :, 11:].sum() == 0 and mask[0, 0, 2, :, 12:].sum() == 0


def test_masking_encoder_and_factory():
    enc = masking.make_masking(make_config("cpu"))
    assert isinstance(enc.mask, masking.BackgroundMask)
    x = torch.randn(2, 3, 4, 16, 16)
    out = enc.train()(x)
    assert out.shape == x.shape and not enc.mask.training
    with pytest.raises(ValueError, match="mask_model"):
        masking.make_masking(make_config("cpu", mask_model="yolo"))


def test_segmentation_mask_builds_without_weights():
    seg = masking.SegmentationMask("none", mean=MEAN, std=STD)
    assert seg(torch.randn(1, 3, 2, 32, 32)).shape == (1, 1, 2, 32, 32)
