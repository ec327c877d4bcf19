"""The chain with everything on one device: the CPU here, and a CUDA GPU too where one exists
(scripts/gpu_check.sh runs this file there). Device or dtype mix-ups -- a CUDA tensor handed to numpy, OpenCV or
matplotlib, a CPU clip fed to a CUDA encoder, a float32 clip to a float64 encoder -- fail here."""
import copy
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from bdqlib.core.encoder import BDQEncoder, gaussian_blur  # noqa: E402
from bdqlib.experiments.validate import validate_encoder  # noqa: E402
from bdqlib.report import plots
from bdqlib.study import views  # noqa: E402
from bdqlib.train.game import train_adversarial  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_train_validate_and_look_on_one_device(device, tiny_cfg, tiny_data, tmp_path):
    cfg = replace(tiny_cfg, device=device, epochs=1, warmup_epochs=0, val_epochs=1, val_views=1)
    result = train_adversarial(cfg, tiny_data, tmp_path / "game", log=None)
    encoder = result.encoder
    assert encoder.bin_centres.device.type == device
    rows, _ = validate_encoder(encoder, tiny_data, cfg, method="bdq", alpha=1.0, log=None)
    assert 0 <= rows[-1]["privacy_top1"] <= 1
    clip = tiny_data.test[0][0]  # a CPU float32 clip, as the datasets give it, for an encoder on `device`
    frames = views.encoded_frames(encoder, clip, mean=cfg.mean, std=cfg.std)
    assert isinstance(frames, np.ndarray) and frames.shape[0] == clip.shape[1] - 1
    plots.plot_quant_steps({"learned": encoder.bins}, tmp_path / "steps.png")  # bins on `device`
    plots.plot_encoder_stages(encoder, clip, 0, tmp_path / "stages.png", mean=cfg.mean, std=cfg.std)
    assert (tmp_path / "steps.png").is_file() and (tmp_path / "stages.png").is_file()


@pytest.mark.parametrize("device", DEVICES)
def test_the_hardened_game_plays_on_one_device(device, tiny_cfg, tiny_data, tmp_path):
    """The ensemble (a temporal attacker included) and the dead zone, trained and validated in the game on
    `device`: their entropies are combined there, and the dead zone's projection runs on the device's tensor."""
    cfg = replace(tiny_cfg, device=device, epochs=1, warmup_epochs=0, eval_every=1,
                  privacy_ensemble="small3d,res2d@scratch", dead_zone=True)
    result = train_adversarial(cfg, tiny_data, tmp_path / "game", log=None)
    assert result.encoder.dead_zone.device.type == device and float(result.encoder.dead_zone.detach()) >= 0
    last = result.history.iloc[-1]
    for name in ("small3d", "res2d@scratch"):
        assert 0 <= last[f"val_privacy_top1_{name}"] <= 1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_blur_paths_agree_on_every_device_and_dtype(device, dtype):
    torch.manual_seed(0)
    video = torch.randn(1, 3, 3, 12, 12, dtype=dtype, device=device)
    sigma = torch.tensor(1.3, dtype=dtype, device=device)
    fast = gaussian_blur(video, sigma, 5)  # CPU float32 without grad: OpenCV; otherwise torch's convolution
    exact = gaussian_blur(video.double().cpu(), sigma.double().cpu(), 5, separable=False)
    assert fast.device.type == device and fast.dtype == dtype
    torch.testing.assert_close(fast.double().cpu(), exact, rtol=1e-5, atol=1e-5)


def test_a_half_precision_or_float64_encoder_takes_the_datasets_float32_clips():
    clip = torch.randn(3, 5, 10, 10)
    for enc in (BDQEncoder().double(), copy.deepcopy(BDQEncoder()).to(torch.bfloat16)):
        frames = views.encoded_frames(enc, clip, mean=(0.5,) * 3, std=(0.25,) * 3)
        assert frames.dtype == np.float32 and np.isfinite(frames).all()


@pytest.mark.parametrize("device", DEVICES)
def test_the_seed_systems_run_on_one_device(device, tiny_cfg, tiny_data, tmp_path):
    """SPPA (its flow runs in OpenCV on the CPU), masking and RAPrivacy (trained here) on `device`'s clips."""
    from bdqlib.methods.masking import make_masking
    from bdqlib.methods.raprivacy import train_raprivacy
    from bdqlib.methods.sppa import make_sppa
    cfg = replace(tiny_cfg, device=device, rap_epochs=1, rap_style_count=2)
    anonymiser = train_raprivacy(cfg, tiny_data, tmp_path / "rap", log=None).anonymiser
    clip = tiny_data.test[0][0][None].to(device)
    for enc in (make_sppa(cfg, device=device), make_masking(cfg), anonymiser):
        out = enc.to(device)(clip)
        assert out.device.type == device and out.dtype == torch.float32 and torch.isfinite(out).all()
        frames = views.encoded_frames(enc, tiny_data.test[0][0], mean=cfg.mean, std=cfg.std)  # a CPU clip in
        assert isinstance(frames, np.ndarray) and np.isfinite(frames).all()


def test_the_notebooks_figure_helpers_move_a_cpu_clip_to_the_networks_device():
    """A U-Net or encoder trained on a GPU meets the dataset's CPU clips in the notebooks' figures. The meta device
    stands in for CUDA on a CPU machine: feeding it a CPU tensor fails exactly as CUDA would."""
    from bdqlib.core.encoder import as_input_of, encode_clip
    from bdqlib.train.reconstruct import UNet3D
    clip = torch.randn(1, 3, 4, 8, 8)
    unet = UNet3D(3, 3, width=2, depth=1).to("meta")
    with pytest.raises((RuntimeError, NotImplementedError)):
        unet(clip)  # what the notebook did before
    assert encode_clip(unet, clip).device.type == "meta"
    fixed = torch.nn.Module()
    fixed.register_buffer("kernel", torch.ones(3, device="meta", dtype=torch.float64))  # no parameters, a buffer
    moved = as_input_of(fixed, clip)
    assert moved.device.type == "meta" and moved.dtype == torch.float64


@pytest.mark.parametrize("device", DEVICES)
def test_the_streaming_encoder_and_its_export_take_an_encoder_from_any_device(device):
    """A camera runs on the CPU: StreamingBDQ and the TorchScript export copy a (GPU-)trained encoder there."""
    from bdqlib.core.streaming import ExportedBDQ, StreamingBDQ
    frames = np.random.default_rng(0).integers(0, 255, (3, 12, 16, 3), dtype=np.uint8)
    enc = BDQEncoder().to(device)
    stream = StreamingBDQ(enc, (-1.0, 1.0))
    outs = [stream.encode(f) for f in frames]
    assert outs[0] is None and outs[1].shape == (12, 16, 3) and np.isfinite(outs[2]).all()
    exported = ExportedBDQ(enc)
    assert exported.taps.device.type == "cpu" and exported.bins.device.type == "cpu"
