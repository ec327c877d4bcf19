"""ELR -- Ryoo et al. (AAAI 2017, 2018), extreme low resolution, the paper's other comparator (§4.3): the camera
delivers R x R video (area down-sampling); training clips are first moved by one of a bank of sub-pixel transforms
(translation by half a low-resolution pixel, scaling, rotation: the "inverse super-resolution" views of one
high-resolution clip), test clips are taken as they are. Shown back at S x S (bilinear), as
bdqlib.methods.naive's Downsample does. Resolutions are stated at 224 px (the paper: 112 ... 4) and scaled to the
crop size. Method names: elr<R>, e.g. elr28.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..nets.zoo import video_frames
from .registry import Method, register


def transform_bank(resolution: int) -> torch.Tensor:
    """(K, 2, 3) affine matrices (grid_sample's normalised coordinates) of the inverse super-resolution views at
    `resolution`: the identity; translations by half a low-resolution pixel along x, y and both; scalings by 0.9
    and 1.1; rotations by +-5 degrees."""
    half = 1.0 / resolution  # half a low-resolution pixel: the image spans 2 normalised units over R pixels

    def affine(scale=1.0, angle=0.0, dx=0.0, dy=0.0):
        a = math.radians(angle)
        return [[scale * math.cos(a), -scale * math.sin(a), dx], [scale * math.sin(a), scale * math.cos(a), dy]]

    views = [affine(), affine(dx=half), affine(dy=half), affine(dx=half, dy=half), affine(dx=-half, dy=-half),
             affine(scale=0.9), affine(scale=1.1), affine(angle=5), affine(angle=-5)]
    return torch.tensor(views, dtype=torch.float32)


def apply_transform(frames: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """frames (N, C, H, W) resampled by affine matrices theta (N, 2, 3): output pixel p shows input point
    theta @ p (normalised coordinates), so a translation dx > 0 moves the content by -dx. Borders repeat."""
    grid = F.affine_grid(theta.to(frames.dtype), list(frames.shape), align_corners=False)
    return F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=False)


class ELR(nn.Module):
    """Ryoo et al.'s extreme-low-resolution camera at R_224 x R_224 (at 224 px), scaled to crops of `size`.

    In training mode every clip takes a random view from the transform bank (torch's generator; the harness seeds
    it per cached view); in eval mode the identity (the camera as it is). (B, C, T, H, W) -> the same shape.
    """

    def __init__(self, resolution_224: int, size: int):
        super().__init__()
        self.resolution_224 = resolution_224
        self.resolution = max(1, round(resolution_224 * size / 224))
        self.register_buffer("bank", transform_bank(self.resolution), persistent=False)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = video.shape
        frames = video_frames(video)
        if self.training:
            pick = torch.randint(len(self.bank), (b,)).to(self.bank.device)
            frames = apply_transform(frames, self.bank[pick].repeat_interleave(t, dim=0))
        small = F.interpolate(frames, size=(self.resolution, self.resolution), mode="area")
        out = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        return out.view(b, t, c, h, w).transpose(1, 2)

    def extra_repr(self) -> str:
        return f"resolution={self.resolution} (at 224 px: {self.resolution_224})"


register(Method(
    "elr", family="elr", colour="tab:pink", description="extreme low resolution (Ryoo et al.) at R x R px at 224, with its transform bank",
    pattern=r"elr(\d+)", parse=int, build=lambda run, alpha, arg: ELR(arg, run.cfg.size),
    strength=lambda arg, alpha: 112 / arg))
