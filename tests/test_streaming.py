import subprocess
import sys

import numpy as np
import pytest
import torch

from bdqlib import BDQEncoder
from bdqlib.core.encoder import frame_difference, gaussian_blur
from bdqlib.core.streaming import ExportedBDQ, StreamingBDQ, calibrate_range, export_torchscript


def frames_and_encoder(seed=0, t=8, h=30, w=40):
    g = np.random.default_rng(seed)
    base = g.integers(40, 200, (h, w, 3))
    frames = [np.clip(base + g.integers(-30, 30, (h, w, 3)) * (i % 3), 0, 255).astype(np.uint8) for i in range(t)]
    enc = BDQEncoder(sigma=1.3)
    with torch.no_grad():
        enc.bin_centres.add_(torch.from_numpy(g.normal(0, 0.3, 15)).float())
    return frames, enc


def as_clip(frames, mean=0.45, std=0.225):
    x = torch.from_numpy(np.stack(frames)).permute(3, 0, 1, 2).float().div(255)[None]
    return (x - mean) / std


def reference(enc, clip, lo, hi):
    d = frame_difference(gaussian_blur(clip, enc.sigma.detach(), enc.kernel_size))
    return enc.quantize(d, torch.tensor(lo), torch.tensor(hi)).detach()


def test_streaming_equals_the_batch_encoder_with_the_same_range():
    frames, enc = frames_and_encoder()
    clip = as_clip(frames)
    lo, hi = calibrate_range(enc, [clip])
    stream = StreamingBDQ(enc, (lo, hi))
    outputs = [stream.encode(f) for f in frames]
    assert outputs[0] is None  # the first frame only primes the state
    got = torch.from_numpy(np.stack(outputs[1:])).permute(3, 0, 1, 2)[None]
    assert torch.allclose(got, reference(enc, clip, lo, hi), atol=1e-5)


def test_uint8_streaming_is_within_a_few_grey_levels():
    frames, enc = frames_and_encoder(1)
    clip = as_clip(frames)
    lo, hi = calibrate_range(enc, [clip])
    stream = StreamingBDQ(enc, (lo, hi), precision="uint8")
    got = torch.from_numpy(np.stack([stream.encode(f) for f in frames][1:])).permute(3, 0, 1, 2)[None]
    error_grey_levels = (got - reference(enc, clip, lo, hi)).abs() * 0.225 * 255
    assert error_grey_levels.mean() < 1.0 and error_grey_levels.max() < 6.0


def test_streaming_checks_its_input():
    _, enc = frames_and_encoder()
    with pytest.raises(ValueError, match="uint8"):
        StreamingBDQ(enc, (-1, 1)).encode(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="B\\+D\\+Q"):
        StreamingBDQ(enc.with_modules("D+Q"), (-1, 1))
    stream = StreamingBDQ(enc, (-1, 1))
    stream.encode(np.zeros((8, 8, 3), np.uint8))
    assert stream.encode(np.zeros((6, 6, 3), np.uint8)) is None  # a new frame size restarts the stream


def test_exported_module_matches_the_encoder():
    frames, enc = frames_and_encoder(2)
    clip = as_clip(frames)
    with torch.no_grad():
        assert torch.allclose(ExportedBDQ(enc)(clip), enc(clip), atol=1e-5)  # per-clip range
        lo, hi = calibrate_range(enc, [clip])
        assert torch.allclose(ExportedBDQ(enc, (lo, hi))(clip), reference(enc, clip, lo, hi), atol=1e-5)


def test_torchscript_export_runs_without_bdqlib(tmp_path):
    frames, enc = frames_and_encoder(3)
    clip = as_clip(frames)
    path = export_torchscript(enc, tmp_path / "bdq.pt")
    torch.save(clip, tmp_path / "clip.pt")
    code = ("import sys; sys.modules['bdqlib'] = None\n"  # any import of bdqlib would now fail
            "import torch\n"
            f"m = torch.jit.load({str(path)!r}); x = torch.load({str(tmp_path / 'clip.pt')!r})\n"
            f"torch.save(m(x), {str(tmp_path / 'out.pt')!r})\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    with torch.no_grad():
        assert torch.allclose(torch.load(tmp_path / "out.pt"), enc(clip), atol=1e-5)
