import pytest
import torch

from bdqlib import BDQEncoder, methods
from bdqlib.config import make_config
from bdqlib.methods.naive import BASELINES, Downsample, FixedBlur, Pixelate
from bdqlib.report.complexity import complexity_table


def make_baseline(name, size):
    return methods.build_fixed(name, make_config("cpu", size=size))


def same_as_raw(name, size):
    method, arg = methods.resolve(name)
    return method.same_as is not None and method.same_as(make_config("cpu", size=size), None, arg) == ("raw", None)


def test_every_baseline_keeps_the_video_shape():
    x = torch.rand(2, 3, 4, 48, 48)
    for name in BASELINES:
        assert make_baseline(name, 48)(x).shape == x.shape, name


def test_sizes_scale_from_224_px():
    assert make_baseline("pixelate16", 224).block == 16 and make_baseline("pixelate16", 48).block == 3
    weak, strong = make_baseline("blur_weak", 48), make_baseline("blur_strong", 48)
    assert (weak.kernel_size, strong.kernel_size) == (3, 5) and float(weak.sigma) == pytest.approx(10 * 48 / 224)
    assert make_baseline("blur_strong", 224).kernel_size == 21
    assert make_baseline("downsample28", 224).resolution == 28 and make_baseline("downsample28", 48).resolution == 6
    assert make_baseline("pixelate4", 224).extra_repr() == "4x4 px blocks"
    with pytest.raises(ValueError, match="unknown method 'mosaic'; known: .*pixelate<int>"):
        make_baseline("mosaic", 48)


def test_pixelate_makes_blocks_of_the_block_mean():
    x = torch.arange(16.0).view(1, 1, 1, 4, 4).expand(1, 3, 2, 4, 4)
    y = Pixelate(2 * 224 // 4, 4)(x)  # 2 px blocks at S=4
    assert torch.equal(y[0, 0, 0, :2, :2], torch.full((2, 2), (0 + 1 + 4 + 5) / 4))


def test_downsample_removes_detail_and_blur_smooths():
    x = torch.rand(1, 3, 2, 32, 32)
    small = Downsample(7, 32)(x)  # one pixel at S=32: a constant frame
    assert torch.allclose(small[0, :, 0], x[0, :, 0].mean(dim=(1, 2), keepdim=True).expand(3, 32, 32), atol=1e-5)
    assert FixedBlur(13, 10.0, 224)(x).std() < x.std()


def test_complexity_reproduces_the_papers_flop_count():
    table = complexity_table({"bdq": BDQEncoder(), "raw": BDQEncoder(False, False, False),
                              "pixelate16": make_baseline("pixelate16", 224)}).set_index("method")
    assert table.loc["bdq", "params"] == 16 and table.loc["raw", "params"] == 0
    assert table.loc["bdq", "flops_paper_count"] == 2 * 25 * 16 * 3 * 224 * 224  # 120.4 M, as in Table 1
    assert table.loc["bdq", "flops_conv"] == 2 * 10 * 16 * 3 * 224 * 224  # separable: 5 + 5 taps
    assert table.loc["bdq", "flops_total"] > table.loc["bdq", "flops_conv"]
    assert table.loc["raw", "flops_total"] == 0 and table.loc["bdq", "bytes_on_disk"] > 64


def test_identity_baselines_are_recognised():
    # pixelate4 at S=48 has 1-px blocks and downsample to >= S changes nothing: their method says they are the raw
    # video's encoder (same_as), so 04 records raw's result for them.
    video = torch.rand(1, 3, 2, 48, 48)
    for name, size in (("pixelate4", 48), ("downsample224", 48)):
        enc = make_baseline(name, size)
        assert same_as_raw(name, size) and torch.allclose(enc(video), video, atol=1e-6)
    for name in ("pixelate16", "downsample28", "blur_weak"):
        enc = make_baseline(name, 48)
        assert not same_as_raw(name, 48) and not torch.allclose(enc(video), video, atol=1e-3)
