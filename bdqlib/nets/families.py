"""Small networks of other families, for the cpu profile's robustness sweeps (06; paper §5.2-5.3).

The paper sweeps ten ImageNet classifiers as attackers and five Kinetics 3-D networks as action models; on a CPU
those are out of reach, so the cpu profile sweeps small members of different families instead -- a network that
differs in *how* it sees (depthwise-separable convolutions, self-attention, factorised space-time convolutions)
is what tests whether E's protection depends on its training attacker's architecture. All from random
initialisation (`name@scratch` in a sweep).

    mobile2d     (N, 3, H, W) -> (N, K)        depthwise-separable 2-D CNN (MobileNet's block), ~30 k parameters
    vit2d        (N, 3, H, W) -> (N, K)        a small vision transformer: 6 x 6 patches (an 8 x 8 grid at 48 px),
                                               3 layers, 4 heads, width 64
    small2plus1d (B, 3, T, H, W) -> (B, K)     (2+1)-D CNN: each 3-D convolution factorised into a spatial 1x3x3
                                               and a temporal 3x1x1 one (R(2+1)D's block)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Network, register_network, scratch_builder


def _separable(ci, co, stride):
    return nn.Sequential(nn.Conv2d(ci, ci, 3, stride=stride, padding=1, groups=ci, bias=False), nn.BatchNorm2d(ci),
                         nn.ReLU(inplace=True), nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co),
                         nn.ReLU(inplace=True))


def mobile2d(num_classes: int, width: int = 32) -> nn.Module:
    """A full-resolution 3x3 stem, then four depthwise-separable blocks (stride 2 each), pool, linear head."""
    w = width
    return nn.Sequential(nn.Conv2d(3, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                         _separable(w, w, 2), _separable(w, 2 * w, 2), _separable(2 * w, 4 * w, 2),
                         _separable(4 * w, 4 * w, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4 * w, num_classes))


class ViT2d(nn.Module):
    """Patch embedding (patch x patch, stride patch), a class token, learned position embeddings (interpolated to
    the input's patch grid, so any H and W divisible by `patch` work), pre-norm transformer layers, linear head."""

    def __init__(self, num_classes: int, *, dim: int = 64, depth: int = 3, heads: int = 4, patch: int = 6,
                 grid: int = 8):
        super().__init__()
        self.patch = patch
        self.embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, dim, grid, grid) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.patch or x.shape[-2] % self.patch:
            raise ValueError(f"vit2d needs H and W divisible by its patch size {self.patch}, got {tuple(x.shape)}")
        tokens = self.embed(x)  # (N, dim, h, w)
        pos = F.interpolate(self.pos, size=tokens.shape[-2:], mode="bilinear", align_corners=False)
        tokens = (tokens + pos).flatten(2).transpose(1, 2)  # (N, h*w, dim)
        tokens = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], dim=1)
        return self.head(self.norm(self.blocks(tokens)[:, 0]))


def vit2d(num_classes: int, width: int = 64) -> nn.Module:
    return ViT2d(num_classes, dim=width)


def _block2plus1d(ci, co, stride):
    st, ss = (stride, stride) if isinstance(stride, int) else (stride[0], stride[-1])
    mid = co  # R(2+1)D sizes the middle to match the 3-D block's parameters; equal width keeps it small here
    return nn.Sequential(nn.Conv3d(ci, mid, (1, 3, 3), stride=(1, ss, ss), padding=(0, 1, 1), bias=False),
                         nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
                         nn.Conv3d(mid, co, (3, 1, 1), stride=(st, 1, 1), padding=(1, 0, 0), bias=False),
                         nn.BatchNorm3d(co), nn.ReLU(inplace=True))


def small2plus1d(num_classes: int, width: int = 16) -> nn.Module:
    """small3d's layout (strides (1,2,2), 2, 2, 2; widths w, 2w, 4w, 4w) with (2+1)-D blocks."""
    w = width
    return nn.Sequential(_block2plus1d(3, w, (1, 2, 2)), _block2plus1d(w, 2 * w, 2), _block2plus1d(2 * w, 4 * w, 2),
                         _block2plus1d(4 * w, 4 * w, 2), nn.AdaptiveAvgPool3d(1), nn.Flatten(),
                         nn.Linear(4 * w, num_classes))


for _name, _level, _fn, _width in (("mobile2d", "frame", mobile2d, 32), ("vit2d", "frame", vit2d, 64),
                                   ("small2plus1d", "clip", small2plus1d, 16)):
    # fp32 on a CPU under "auto": vit2d is 1.9x slower in bf16 there (bench/bench_precision.py); small2plus1d is
    # 1.4x faster but learned less in bf16 -- on all six encoders of the default run its action accuracy fell
    # (e.g. BDQ alpha=1 0.829 -> 0.771, masking 0.888 -> 0.704; run 20261207-135916 against 20261207-113800)
    register_network(Network(_name, _level, scratch_builder(_fn, _name), width=_width,
                             cpu_bf16=_name not in ("vit2d", "small2plus1d")))
