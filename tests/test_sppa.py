"""SPPA's equations on hand-made tensors (bdqlib.methods.sppa)."""
import numpy as np
import pytest
import torch
from torch import nn

from bdqlib.methods import sppa


def test_saliency_of_an_exact_template_match_is_one_and_negative_similarity_is_clipped():
    keys = torch.zeros(1, 3, 2, 2)
    keys[0, :, 0, 0] = torch.tensor([1.0, 2.0, 0.0])    # the template itself (any length)
    keys[0, :, 0, 1] = torch.tensor([-1.0, -2.0, 0.0])  # its opposite: cos -1, clipped to 0
    keys[0, :, 1, 0] = torch.tensor([0.0, 0.0, 5.0])    # orthogonal: 0
    keys[0, :, 1, 1] = torch.tensor([2.0, 4.0, 0.0])    # parallel: 1
    s = sppa.saliency(keys, torch.tensor([[0.5, 1.0, 0.0]]))
    assert torch.allclose(s, torch.tensor([[[1.0, 0.0], [0.0, 1.0]]]), atol=1e-6)


def test_saliency_is_the_mean_over_templates():
    keys = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
    s = sppa.saliency(keys, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))  # cos 1 and 0
    assert s.item() == pytest.approx(0.5)


def test_saliency_map_puts_each_patch_value_on_its_pixels():
    s = sppa.saliency_map(torch.tensor([[[0.0, 1.0], [0.25, 0.5]]]), (4, 4))
    assert s.shape == (1, 4, 4)
    assert torch.equal(s[0, :2, 2:], torch.ones(2, 2)) and torch.equal(s[0, 2:, :2], torch.full((2, 2), 0.25))


def test_motion_noise_follows_a_known_translation():
    """The scene moves right by 2 px per frame: flow t -> t-1 is (-2, 0), so the noise moves right by 2 px."""
    g = torch.Generator().manual_seed(0)
    first = torch.rand(3, 16, 20, generator=g)
    flows = torch.zeros(3, 16, 20, 2)
    flows[..., 0] = -2.0
    noise = sppa.motion_noise(first, flows)
    assert noise.shape == (3, 4, 16, 20)
    assert torch.equal(noise[:, 0], first)
    for t in range(1, 4):
        assert torch.allclose(noise[:, t, :, 2 * t:], first[:, :, :20 - 2 * t], atol=1e-5)


def test_dis_flow_measures_the_translation():
    rng = np.random.default_rng(0)
    texture = (rng.random((48, 64)) * 255).astype(np.uint8)
    import cv2
    texture = cv2.GaussianBlur(texture, (0, 0), 1.5)
    grey = np.stack([np.roll(texture, 2 * t, axis=1) for t in range(3)])
    flow = sppa.DISFlow()(grey)
    assert flow.shape == (2, 48, 64, 2)
    inner = flow[:, 8:-8, 8:-8]
    assert inner[..., 0].median().item() == pytest.approx(-2.0, abs=0.3)
    assert inner[..., 1].abs().median().item() < 0.3


def test_blend_at_zero_and_one():
    image, noise = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    assert torch.equal(sppa.blend(image, torch.zeros(2, 1, 4, 4), noise), image)
    assert torch.allclose(sppa.blend(image, torch.ones(2, 1, 4, 4), noise), noise)
    half = sppa.blend(image, torch.full((2, 1, 4, 4), 0.5), noise)
    assert torch.allclose(half, (image + noise) / 2)


class _Constant(nn.Module):
    """Keys that match the template everywhere (saliency 1): SPPA must then output its noise."""

    def forward(self, frames):
        return torch.ones(frames.shape[0], 2, frames.shape[2] // 4, frames.shape[3] // 4)


def _clip():
    """A static textured scene (so that the flow is measurable) with a bright square moving right."""
    texture = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 48, 48, generator=torch.Generator().manual_seed(1)),
                                             3, 1, 1)[0, 0] * 2 - 1
    x = texture.expand(1, 3, 4, 48, 48).clone()
    for t in range(4):
        x[0, :, t, 4:12, 2 + 2 * t:10 + 2 * t] = 2.0  # a bright square moving right by 2 px per frame
    return x


@pytest.mark.parametrize("noise", ["motion", "iid"])
def test_sppa_encoder_replaces_salient_pixels_with_its_noise(noise):
    enc = sppa.SPPAEncoder(_Constant(), torch.ones(1, 2), flow=sppa.DISFlow(), mean=(0.45,) * 3, std=(0.225,) * 3,
                           noise=noise, seed=3)
    x = _clip()
    out = enc(x)
    assert out.shape == x.shape and out.abs().max() <= 1.0 + 1e-6  # all noise: U[-1, 1] in normalised units
    assert not torch.allclose(out, x)
    again = sppa.SPPAEncoder(_Constant(), torch.ones(1, 2), flow=sppa.DISFlow(), mean=(0.45,) * 3,
                             std=(0.225,) * 3, noise=noise, seed=3)(x)
    assert torch.equal(out, again)  # reproducible from the seed
    still = (out[0, :, 1, 32:] - out[0, :, 0, 32:]).abs().mean()  # rows where nothing moves: flow ~ 0
    assert (still < 0.05) if noise == "motion" else (still > 0.4)  # carried noise vs fresh noise per frame


def test_sppa_rejects_unknown_noise_and_non_video():
    with pytest.raises(ValueError, match="noise"):
        sppa.SPPAEncoder(_Constant(), torch.ones(1, 2), flow=sppa.DISFlow(), mean=(0,) * 3, std=(1,) * 3,
                         noise="gauss")
    enc = sppa.SPPAEncoder(_Constant(), torch.ones(1, 2), flow=sppa.DISFlow(), mean=(0,) * 3, std=(1,) * 3)
    with pytest.raises(ValueError, match="B, C, T, H, W"):
        enc(torch.zeros(3, 48, 48))


def test_raft_flow_runs_on_small_frames_without_weights():
    flow = sppa.RAFTFlow("none")(np.random.default_rng(0).integers(0, 255, (2, 24, 32), dtype=np.uint8))
    assert flow.shape == (1, 24, 32, 2) and torch.isfinite(flow).all()
