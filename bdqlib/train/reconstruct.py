"""The reconstruction attack (paper §5.4, Fig. 7): a 3-D U-Net trained to map E's output back to the raw clip.

The attacker knows E (it can encode any video it likes), so it trains a network on pairs (E(x), x). The paper
trains a 3-D U-Net (Cicek et al., MICCAI 2016) for 200 epochs on SBU and shows frames. Here, beyond the figure:
  * PSNR and SSIM of the best-validation U-Net on the test split, from torchmetrics (per frame, on the [0, 1]
    grey levels: the normalisation undone);
  * the reconstruction itself is attacked: `Reconstructed(E, U)` is an encoder like any other, so the harness
    trains identity attackers on U(E(x)) -- an encoder is only as private as what can be recovered from it.

Frames: E with the Difference module gives T-1 frames for T; frame t of its output ends at input frame t+1, so
the target is the input's last T_out frames (x[:, :, -T_out:]).

Shapes: UNet3D (B, C_in, T, H, W) -> (B, C_out, T, H, W); H and W divisible by 2**depth (the cpu profile's 48 by 4).
Loss: L1 + (1 - SSIM), both on [0, 1] grey levels. The loss's SSIM is pytorch-msssim's (separable Gaussian window:
its backward pass is 9x faster on a CPU than torchmetrics', which dominated a training step); the reported PSNR and
SSIM are torchmetrics' (the reference implementations, Gaussian 11 x 11, sigma 1.5, reflect padding).
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
from pytorch_msssim import ssim as fast_ssim
from torch import nn
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from ..data.dataset import to_unit
from ..engine import loop, memory
from ..engine.checkpoint import ConfigMismatch, restore, same_config, save_checkpoint
from ..engine.precision import make_precision, memory_format
from ..engine.steps import check_finite, micro_batches, quiet, run_epoch
from ..nets.zoo import video_frames


def _double_conv(ci, co):
    return nn.Sequential(nn.Conv3d(ci, co, 3, padding=1, bias=False), nn.BatchNorm3d(co), nn.ReLU(inplace=True),
                         nn.Conv3d(co, co, 3, padding=1, bias=False), nn.BatchNorm3d(co), nn.ReLU(inplace=True))


class UNet3D(nn.Module):
    """Cicek et al.'s 3-D U-Net, sized by `width` and `depth`: two 3x3x3 convolutions per level, 1x2x2 max-pool
    down (time is short: it is kept), 1x2x2 transposed convolution up, skip connections by concatenation, and a
    1x1x1 convolution to `out_channels`. The paper's: width 32, depth 3 (at 224 px)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, *, width: int = 16, depth: int = 2):
        super().__init__()
        widths = [width * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList([_double_conv(in_channels, widths[0])] +
                                  [_double_conv(widths[i], widths[i + 1]) for i in range(depth)])
        self.pool = nn.MaxPool3d((1, 2, 2))
        self.up = nn.ModuleList([nn.ConvTranspose3d(widths[i + 1], widths[i], (1, 2, 2), stride=(1, 2, 2))
                                 for i in reversed(range(depth))])
        self.merge = nn.ModuleList([_double_conv(2 * widths[i], widths[i]) for i in reversed(range(depth))])
        self.out = nn.Conv3d(widths[0], out_channels, 1)
        self.depth = depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2**self.depth or x.shape[-2] % 2**self.depth:
            raise ValueError(f"UNet3D of depth {self.depth} needs H and W divisible by {2**self.depth}, "
                             f"got {tuple(x.shape)}")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips[:-1])):
            x = merge(torch.cat([up(x), skip], dim=1))
        return self.out(x)


class Reconstructed(nn.Module):
    """U(E(x)): what the reconstruction attacker recovers, as an encoder (B, C, T, H, W) -> (B, C, T_out, H, W)."""

    def __init__(self, encoder: nn.Module, unet: UNet3D):
        super().__init__()
        self.encoder, self.unet = encoder, unet

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unet(self.encoder(x))

    def train(self, mode: bool = True):
        """The trained U-Net stays in eval mode (its BatchNorm statistics), whatever mode the harness asks for."""
        super().train(mode)
        self.unet.eval()
        return self


class Levels:
    """Normalised video <-> [0, 1] grey levels (the config's mean and std), and the target frames of an output."""

    def __init__(self, mean, std):
        self.mean, self.std = tuple(mean), tuple(std)

    def to_unit(self, video: torch.Tensor) -> torch.Tensor:
        return to_unit(video, self.mean, self.std)

    @staticmethod
    def target(raw: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """The raw frames an output of T_out frames reconstructs: the last T_out."""
        return raw[:, :, raw.shape[2] - output.shape[2]:]


def reconstruction_loss(output: torch.Tensor, raw: torch.Tensor, levels: Levels) -> torch.Tensor:
    """L1 + (1 - SSIM) between the output (normalised units) and its target frames, on [0, 1] grey levels: L1 on
    every channel, SSIM on the channel mean (luminance: a third of the cost, and KTH's and the synthetic data's
    three channels are one grey level anyway)."""
    y, x = levels.to_unit(output), levels.to_unit(Levels.target(raw, output))
    ssim = fast_ssim(video_frames(y.mean(1, keepdim=True)), video_frames(x.mean(1, keepdim=True)), data_range=1.0,
                     size_average=True)
    return (y - x).abs().mean() + (1 - ssim)


@torch.no_grad()
def quality(batches, encoder, unet, levels: Levels, *, device) -> dict:
    """Mean per-frame PSNR (dB) and SSIM of U(E(x)) against x over `batches` of (x, action, subject) raw clips,
    output clamped to [0, 1]; also of E(x) itself (`input_psnr`, `input_ssim`: what no attack at all gives)."""
    sums, n = {"psnr": 0.0, "ssim": 0.0, "input_psnr": 0.0, "input_ssim": 0.0}, 0
    unet.eval()
    for x, *_ in batches:
        x = x.to(device).float()
        e = encoder(x)
        target = video_frames(levels.to_unit(Levels.target(x, e)).clamp(0, 1))
        for prefix, out in (("", unet(e)), ("input_", e)):
            y = video_frames(levels.to_unit(out).clamp(0, 1))
            # per frame, then summed: the mean over frames does not depend on how frames fall into batches
            psnr = peak_signal_noise_ratio(y, target, data_range=1.0, reduction="none", dim=(1, 2, 3))
            ssim = structural_similarity_index_measure(y, target, data_range=1.0, reduction="none")
            sums[prefix + "psnr"] += float(psnr.sum())
            sums[prefix + "ssim"] += float(ssim.sum())
        n += len(target)
    return {k: v / max(n, 1) for k, v in sums.items()}


def unet_loss(unet, encoder, x, levels: Levels, precision) -> torch.Tensor:
    """The reconstruction loss of U(E(x)) against x: E frozen (fp32, no autograd), U under the precision's autocast,
    the loss in fp32."""
    with torch.no_grad():
        e = encoder(x)
    with precision.autocast():
        out = unet(e)
    return reconstruction_loss(out.float(), x, levels)


def throwaway_unet(encoder, clip_shape, in_channels: int, out_channels: int, cfg, *, width: int, depth: int, device):
    """For bdqlib.engine.memory.fit: a U-Net of this size (random init) and step(n) on n random raw clips of `clip_shape`."""
    device = torch.device(device)

    def make_step():
        unet = memory_format(UNet3D(in_channels, out_channels, width=width, depth=depth).to(device), True)
        opt, precision = torch.optim.Adam(unet.parameters()), make_precision(cfg.amp, device)
        levels = Levels(cfg.mean, cfg.std)

        def step(n):
            loss = unet_loss(unet, encoder, torch.randn(n, *clip_shape, device=device), levels, precision)
            opt.zero_grad(set_to_none=True)
            precision.step(loss, opt)
            precision.update()
        return step
    return make_step


def train_reconstruction(encoder, raw, cfg, *, width: int = 16, depth: int = 2, epochs: int = 30,
                         patience: int = 5, lr: float = 2e-3, log=quiet, checkpoint=None) -> tuple:
    """Train a UNet3D on (E(x), x) to its best validation loss; returns (unet, result dict).

    raw: the raw clips as bdqlib.train.probes.EncodedData of the identity encoder (cached augmented training views,
    deterministic validation and test clips). E runs frozen on every batch. The result holds the test PSNR/SSIM,
    the best epoch, epochs trained and the per-epoch history (loss, validation loss, seconds). checkpoint: a file
    saved after every epoch and resumed from (a run stopped mid-training continues where it stopped).
    """
    log = log or quiet
    device = raw.device
    encoder = copy.deepcopy(encoder).to(device).eval().requires_grad_(False)
    levels = Levels(cfg.mean, cfg.std)
    torch.manual_seed(cfg.seed)
    with torch.no_grad():
        x0 = next(iter(raw.batches("val")))[0][:1].to(device)
        out_channels, in_channels = x0.shape[1], encoder(x0).shape[1]
    # channels-last 3-D: 1.7x faster training on this 2-core CPU (measured), and the fast layout on GPUs too
    unet = memory_format(UNet3D(in_channels, out_channels, width=width, depth=depth).to(device), True)
    opt = torch.optim.Adam(unet.parameters(), lr=lr)
    precision = make_precision(cfg.amp, device)
    history, generator = [], torch.Generator()
    config = {**cfg.to_dict(), "unet": [width, depth, epochs, patience, lr], "encoder": repr(encoder)}
    accum = memory.resolve(cfg.accum_steps, f"the reconstruction U-Net (width {width}, depth {depth})",
                           cfg.batch_size, throwaway_unet(encoder, x0.shape[1:], in_channels, out_channels, cfg,
                                                          width=width, depth=depth, device=device), device, log=log)

    def step(x, *_):
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for (xm,), w in micro_batches((x,), accum):
            loss = unet_loss(unet, encoder, xm, levels, precision)
            check_finite(loss, "the reconstruction loss")
            precision.backward(loss * w if accum > 1 else loss)
            total += w * loss.item()
        precision.apply(opt)
        precision.update()
        return {"loss": total}

    @torch.no_grad()
    def val_loss():
        unet.eval()
        losses = [float(reconstruction_loss(unet(encoder(x.to(device))), x.to(device), levels))
                  for x, *_ in raw.batches("val")]
        unet.train()
        return sum(losses) / max(len(losses), 1)

    objects = {"unet": unet, "opt": opt, "precision": precision}
    start, best = 0, {}
    if checkpoint is not None and Path(checkpoint).is_file():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if not same_config(saved["config"], config):
            raise ConfigMismatch(f"U-Net checkpoint {checkpoint} belongs to another config, encoder or size; delete it "
                                 f"or use another run folder")
        restore(saved, objects=objects)
        start, history, best = saved["epoch"], saved["history"], saved["best"]
        log(f"[reconstruct] resuming after epoch {start}")

    def epoch_row(epoch: int) -> dict:
        t0 = time.time()
        generator.manual_seed(cfg.seed * 1_000_003 + epoch)
        unet.train()
        stats = run_epoch(raw.batches("train", epoch=epoch, shuffle=True, generator=generator), step, device=device)
        val = val_loss()
        return {"epoch": epoch, "loss": stats.get("loss", float("nan")), "val_loss": val, "seconds": time.time() - t0}

    def describe(row: dict) -> str:
        return (f"[reconstruct] epoch {row['epoch']}: loss {row['loss']:.3f}, validation {row['val_loss']:.3f} "
                f"({row['seconds']:.1f}s)")

    done = loop.fit(epoch_row, epochs=epochs, start=start, history=history, best=best, monitor="val_loss", mode="min",
                    patience=patience, min_epochs=1, snapshot=lambda: copy.deepcopy(unet.state_dict()), log=log,
                    describe=describe,
                    save=None if checkpoint is None else
                    lambda e, hist, b: save_checkpoint(checkpoint, objects=objects, epoch=e, history=hist,
                                                       config=config, best=b))
    history, epoch = done.history, done.epoch
    best = {"val": done.best["value"], "epoch": done.best["epoch"], "state": done.best["state"]}
    unet.load_state_dict(best["state"])
    scores = quality(raw.batches("test"), encoder, unet, levels, device=device)
    log(f"[reconstruct] best validation loss {best['val']:.3f} at epoch {best['epoch']} of {epoch}; test PSNR "
        f"{scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f} (E's output itself: {scores['input_psnr']:.2f} dB, "
        f"{scores['input_ssim']:.3f}) ({sum(h['seconds'] for h in history):.0f}s)")
    return unet.eval(), {**scores, "best_epoch": best["epoch"], "epochs_trained": epoch, "val_loss": best["val"],
                         "history": history}
