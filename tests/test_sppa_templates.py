"""SPPA's template library and the synthetic scenes it is clicked on (bdqlib.methods.sppa_templates, bdqlib.data.scenes)."""
import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from bdqlib.methods.sppa import make_sppa
from bdqlib.config import make_config
from bdqlib.data.scenes import PARTS, depth_styles, person_scene
from bdqlib.methods import sppa_templates as templates


def test_person_scene_puts_every_part_on_the_person():
    image, parts = person_scene(1000, 1, size=(64, 48), subjects=2)
    assert image.shape == (48, 64, 3) and set(parts) == set(PARTS)
    empty, _ = person_scene(1000, 1, size=(64, 48), subjects=2)  # deterministic
    assert np.array_equal(image, empty)
    for name, (x, y) in parts.items():
        assert 0 <= x < 64 and 0 <= y < 48, name
    assert parts["hair"][1] < parts["head"][1] < parts["torso"][1] < parts["leg"][1]


def test_depth_styles_are_grey_depth_maps_with_a_near_person():
    styles = depth_styles(1000, 3, 3, size=(64, 48))
    assert styles.shape == (3, 48, 64, 3)
    assert np.abs(styles[..., 0].astype(int) - styles[..., 2]).max() <= 8  # grey (the shoes: nearly)
    assert styles.max() > 120 and styles[:, :5].max() <= 60  # a person nearer than the far wall


class _Grid(nn.Module):
    """Keys that encode the patch position: channel 0 = row, channel 1 = column (4 x 4 px patches)."""

    def forward(self, frames):
        n, _, h, w = frames.shape
        rows = torch.arange(h // 4, dtype=torch.float32).view(1, 1, -1, 1).expand(n, 1, h // 4, w // 4)
        cols = torch.arange(w // 4, dtype=torch.float32).view(1, 1, 1, -1).expand(n, 1, h // 4, w // 4)
        return torch.cat([rows, cols], 1)


def test_keys_at_reads_the_patch_under_each_point():
    k = templates.keys_at(_Grid(), torch.zeros(3, 48, 48), [(0, 0), (13.0, 30.0), (47, 47)])
    assert k.tolist() == [[0, 0], [7, 3], [11, 11]]


def test_small_keys_are_block_two_pre_activation_and_templates_have_one_row_per_part():
    cfg = make_config("cpu", weights="none")
    keys = templates.make_keys(cfg)
    out = keys(torch.randn(2, 3, 48, 48))
    assert out.shape == (2, 2 * cfg.privacy_width, 12, 12) and (out < 0).any()  # signed: before the ReLU
    t = templates.synthetic_templates(cfg, keys, ["torso", "hair"])
    assert t.shape == (2, 2 * cfg.privacy_width) and torch.isfinite(t).all()
    with pytest.raises(ValueError, match="body parts"):
        templates.parse_parts("torso,face")


def test_file_templates_read_clicks_and_name_bad_entries(tmp_path):
    image = np.zeros((48, 48, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    clicks = [{"image": "a.png", "part": "torso", "x": 13, "y": 30}, {"image": "a.png", "part": "torso", "x": 0, "y": 0}]
    (tmp_path / "t.json").write_text(json.dumps(clicks))
    t = templates.file_templates(tmp_path / "t.json", _Grid(), ["torso"], mean=(0,) * 3, std=(1,) * 3)
    assert t.tolist() == [[3.5, 1.5]]  # the mean of two clicks
    with pytest.raises(ValueError, match="no click on \\['arm'\\]"):
        templates.file_templates(tmp_path / "t.json", _Grid(), ["torso", "arm"], mean=(0,) * 3, std=(1,) * 3)
    (tmp_path / "bad.json").write_text(json.dumps([{"image": "missing.png", "part": "torso", "x": 1, "y": 1}]))
    with pytest.raises(ValueError, match="bad.json.*missing.png"):
        templates.file_templates(tmp_path / "bad.json", _Grid(), ["torso"], mean=(0,) * 3, std=(1,) * 3)


def test_make_sppa_on_the_cpu_profile_and_dino_keys_shape():
    enc = make_sppa(make_config("cpu", weights="none"))
    x = torch.randn(1, 3, 4, 48, 48)
    assert enc(x).shape == x.shape and enc.saliency(x).shape == (1, 1, 4, 48, 48)
    dino = templates.DinoKeys("none", mean=(0.45,) * 3, std=(0.225,) * 3)
    assert dino(torch.randn(1, 3, 32, 48)).shape == (1, 384, 4, 6)
    with pytest.raises(ValueError, match="sppa_flow"):
        make_sppa(make_config("cpu", weights="none", sppa_flow="farneback"))


def test_dino_keys_of_a_deep_copy_are_the_copys_own():
    """Validation deep-copies every encoder. A hook closing over the original module made the copy read the
    original's keys (None before the original ever ran, stale after)."""
    import copy
    dino = templates.DinoKeys("none", mean=(0.45,) * 3, std=(0.225,) * 3)
    twin = copy.deepcopy(dino)
    frames = torch.randn(2, 3, 16, 16)
    keys = twin(frames)
    assert keys.shape == (2, 384, 2, 2)
    torch.testing.assert_close(keys, dino(frames))  # same weights, same keys
    with torch.no_grad():
        for p in twin.parameters():
            p.add_(0.1)  # the copy changes; the original's keys must not follow, nor the copy's stay the original's
    other = twin(frames)
    assert not torch.allclose(other, dino(frames))
    torch.testing.assert_close(twin(frames), other)
