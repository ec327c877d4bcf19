"""Hand-crafted privacy baselines, as encoders with BDQEncoder's interface: (B, C, T, H, W) -> same shape.

Sizes are stated at 224 px, as the papers give them, and scaled to the profile's crop size S (so pixelate16 is a
14 x 14 grid of blocks at any S):
* pixelate{x}   average pooling in x x x blocks, blocks shown at full size (SPPA §4.1: x = 4, 16);
* blur_weak / blur_strong   Gaussian blur, kernel 13 / 21, sigma 10 (SPPA §4.1, from Wu et al.);
* downsample{R} area-downsample to R x R, then bilinear back to S x S: the practical form of Ryoo et al.'s extreme
  low resolution (BDQ paper §4.3 uses 112 ... 4).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..core.encoder import gaussian_blur

BASELINES = ("pixelate4", "pixelate16", "blur_weak", "blur_strong", "downsample56", "downsample28", "downsample14")


def _per_frame(fn, video):
    b, c, t, h, w = video.shape
    frames = video.transpose(1, 2).reshape(b * t, c, h, w)
    return fn(frames).view(b, t, c, h, w).transpose(1, 2)


class Pixelate(nn.Module):
    def __init__(self, block_224: int, size: int):
        super().__init__()
        self.block = max(1, round(block_224 * size / 224))
        self.identity = self.block == 1  # e.g. pixelate4 at S = 48: 1-px blocks change nothing

    def forward(self, video):
        def pixelate(frames):
            h, w = frames.shape[-2:]
            small = F.adaptive_avg_pool2d(frames, (math.ceil(h / self.block), math.ceil(w / self.block)))
            return F.interpolate(small, size=(h, w), mode="nearest")
        return _per_frame(pixelate, video)


class FixedBlur(nn.Module):
    def __init__(self, kernel_224: int, sigma_224: float, size: int):
        super().__init__()
        k = max(1, round(kernel_224 * size / 224))
        self.kernel_size = k if k % 2 else k + 1
        self.register_buffer("sigma", torch.tensor(sigma_224 * size / 224))

    def forward(self, video):
        return gaussian_blur(video, self.sigma.to(video.dtype), self.kernel_size)


class Downsample(nn.Module):
    def __init__(self, resolution_224: int, size: int):
        super().__init__()
        self.resolution = max(1, round(resolution_224 * size / 224))
        self.identity = self.resolution >= size

    def forward(self, video):
        def down_up(frames):
            h, w = frames.shape[-2:]
            small = F.interpolate(frames, size=(self.resolution, self.resolution), mode="area")
            return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        return _per_frame(down_up, video)


def is_identity(encoder: nn.Module) -> bool:
    """True for a baseline that leaves every clip unchanged at its size (its result is the raw encoder's)."""
    return bool(getattr(encoder, "identity", False))


def make_baseline(name: str, size: int) -> nn.Module:
    """The baseline encoder called `name` for crops of size S = `size` (elr<R>: bdqlib.methods.comparators.ELR)."""
    if name.startswith("elr"):
        from .comparators import ELR
        return ELR(int(name[len("elr"):]), size)
    if name.startswith("pixelate"):
        return Pixelate(int(name[len("pixelate"):]), size)
    if name == "blur_weak":
        return FixedBlur(13, 10.0, size)
    if name == "blur_strong":
        return FixedBlur(21, 10.0, size)
    if name.startswith("downsample"):
        return Downsample(int(name[len("downsample"):]), size)
    raise ValueError(f"unknown baseline {name!r}; known: {BASELINES} (pixelate<x>, downsample<R>, elr<R> for any "
                     f"x, R)")


def describe(encoder: nn.Module) -> str:
    """What a baseline does at this size, in px (for the results table)."""
    if isinstance(encoder, Pixelate):
        return f"{encoder.block}x{encoder.block} px blocks"
    if isinstance(encoder, FixedBlur):
        return f"kernel {encoder.kernel_size}, sigma {float(encoder.sigma):.2f} px"
    if isinstance(encoder, Downsample) or hasattr(encoder, "bank"):  # ELR: the same, with its transform bank
        return f"{encoder.resolution}x{encoder.resolution} px" + (f", {len(encoder.bank)} training views"
                                                                 if hasattr(encoder, "bank") else "")
    return ""
