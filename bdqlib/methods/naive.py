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
from .registry import Method, register

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

    def extra_repr(self) -> str:
        return f"{self.block}x{self.block} px blocks"

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

    def extra_repr(self) -> str:
        return f"kernel {self.kernel_size}, sigma {float(self.sigma):.2f} px"

    def forward(self, video):
        return gaussian_blur(video, self.sigma.to(video.dtype), self.kernel_size)


class Downsample(nn.Module):
    def __init__(self, resolution_224: int, size: int):
        super().__init__()
        self.resolution = max(1, round(resolution_224 * size / 224))
        self.identity = self.resolution >= size

    def extra_repr(self) -> str:
        return f"{self.resolution}x{self.resolution} px"

    def forward(self, video):
        def down_up(frames):
            h, w = frames.shape[-2:]
            small = F.interpolate(frames, size=(self.resolution, self.resolution), mode="area")
            return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        return _per_frame(down_up, video)


def _identity_at(encoder) -> bool:
    """A baseline that leaves every clip unchanged at this size (pixelate4 at S = 48: 1-px blocks)."""
    return bool(getattr(encoder, "identity", False))


def _same_as_raw(build):
    return lambda cfg, alpha, arg: ("raw", None) if _identity_at(build(arg, cfg.size)) else None


_pixelate = lambda arg, size: Pixelate(arg, size)  # noqa: E731
_blur = lambda arg, size: FixedBlur(*{"weak": (13, 10.0), "strong": (21, 10.0)}[arg], size)  # noqa: E731
_downsample = lambda arg, size: Downsample(arg, size)  # noqa: E731

register(Method("pixelate", family="pixelate", colour="tab:blue", description="average pooling in x x x blocks at 224 px (SPPA §4.1)",
                pattern=r"pixelate(\d+)", parse=int, build=lambda run, alpha, arg: _pixelate(arg, run.cfg.size),
                strength=lambda arg, alpha: arg / 4, same_as=_same_as_raw(_pixelate)))
register(Method("blur", family="blur", colour="tab:green", description="Gaussian blur, kernel 13 / 21, sigma 10 at 224 px (SPPA §4.1)",
                pattern=r"blur_(weak|strong)", build=lambda run, alpha, arg: _blur(arg, run.cfg.size),
                strength=lambda arg, alpha: {"weak": 1.0, "strong": 2.0}[arg]))
register(Method("downsample", family="downsample", colour="tab:purple",
                description="area-downsampled to R x R at 224 px, bilinear back (extreme low resolution, no bank)",
                pattern=r"downsample(\d+)", parse=int, build=lambda run, alpha, arg: _downsample(arg, run.cfg.size),
                strength=lambda arg, alpha: 112 / arg, same_as=_same_as_raw(_downsample)))
