from dataclasses import replace

import pytest
import torch

from bdqlib import methods
from bdqlib.config import make_config
from bdqlib.methods.elr import ELR, apply_transform, transform_bank
from bdqlib.train.probes import EncodedData


def fixed(name, size):
    return methods.build_fixed(name, make_config("cpu", size=size))


def test_a_half_pixel_shift_of_the_bank_moves_a_pattern_by_half_a_low_resolution_pixel():
    size, resolution = 64, 16  # one low-resolution pixel = 4 px here: half of it = 2 px
    frame = torch.zeros(1, 1, size, size)
    frame[..., 20:28, 30:38] = 1.0  # a bright square, centre (23.5, 33.5)
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")

    def centre(img):
        w = img[0, 0]
        return float((w * ys).sum() / w.sum()), float((w * xs).sum() / w.sum())

    bank = transform_bank(resolution)
    assert torch.equal(bank[0], torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]))  # the identity comes first
    y0, x0 = centre(apply_transform(frame, bank[:1]))
    y1, x1 = centre(apply_transform(frame, bank[1:2]))  # dx = half a low-resolution pixel
    assert (y0, x0) == pytest.approx((23.5, 33.5), abs=1e-3)
    assert (y1 - y0, x1 - x0) == pytest.approx((0.0, -2.0), abs=1e-3)  # content moves by -dx: 2 px to the left
    y2, x2 = centre(apply_transform(frame, bank[2:3]))
    assert (y2 - y0, x2 - x0) == pytest.approx((-2.0, 0.0), abs=1e-3)


def test_elr_is_low_resolution_and_augments_only_in_training_mode():
    enc = fixed("elr28", 48)
    assert isinstance(enc, ELR) and enc.resolution == 6  # 28 px at 224 -> 6 px at 48
    x = torch.randn(3, 3, 4, 48, 48)
    out = enc.eval()(x)
    assert torch.equal(out, fixed("downsample28", 48)(x))  # eval: the plain 6 x 6 camera, shown at 48 px
    assert torch.equal(enc(x), out)  # eval: the camera as it is, deterministic
    torch.manual_seed(0)
    trained = enc.train()(x)
    assert trained.shape == x.shape and not torch.allclose(trained, out)  # a transform of the bank was applied


def test_training_views_are_encoded_in_training_mode_and_test_clips_in_eval_mode(tiny_cfg, tiny_data):
    enc = fixed("elr28", tiny_cfg.size)
    cfg = replace(tiny_cfg, val_views=1)
    cached = EncodedData(enc, tiny_data, cfg, device=torch.device("cpu"), views=1)
    plain = EncodedData(enc, tiny_data, cfg, device=torch.device("cpu"), views=0)
    test_cached = torch.cat([b[0] for b in cached.batches("test")])
    test_plain = torch.cat([b[0] for b in plain.batches("test")])
    assert torch.allclose(test_cached, test_plain, atol=1e-2)  # eval mode both ways
    assert not cached.encoder.training and not plain.encoder.training
