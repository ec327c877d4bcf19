"""The cpu profile's small networks: T (small3d), P (small2d) and the attack suite's residual frame CNN (res2d).

    small3d (B, 3, T, H, W) -> (B, K)    4 blocks of 3-D convolutions, global average pool, linear head
    small2d (N, 3, H, W)    -> (N, K)    4 blocks of 2-D convolutions, for every frame
    res2d   (N, 3, H, W)    -> (N, K)    a full-resolution stem and three residual stages, from random init

small3d and small2d are "pretrained" by bdqlib.train.pretrain on a synthetic population that shares nobody with the
evaluated one (our stand-in for Kinetics / ImageNet).
"""
from __future__ import annotations

import torch
from torch import nn

from .registry import Network, register_network, scratch_builder, sequential_builder


def _block3d(ci, co, stride):
    return nn.Sequential(nn.Conv3d(ci, co, 3, stride=stride, padding=1, bias=False), nn.BatchNorm3d(co),
                         nn.ReLU(inplace=True))


def _block2d(ci, co, stride):
    return nn.Sequential(nn.Conv2d(ci, co, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(co),
                         nn.ReLU(inplace=True))


def small3d(num_classes: int, width: int = 16) -> nn.Module:
    """A 4-block 3-D CNN for the cpu profile: ~0.1 M parameters, global average pool, linear head."""
    w = width
    return nn.Sequential(_block3d(3, w, (1, 2, 2)), _block3d(w, 2 * w, 2), _block3d(2 * w, 4 * w, 2),
                         _block3d(4 * w, 4 * w, 2), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4 * w, num_classes))


def small2d(num_classes: int, width: int = 16) -> nn.Module:
    """A 4-block 2-D CNN for the cpu profile: per-frame identity classifier."""
    w = width
    return nn.Sequential(_block2d(3, w, 2), _block2d(w, 2 * w, 2), _block2d(2 * w, 4 * w, 2),
                         _block2d(4 * w, 4 * w, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, num_classes))


class _Residual(nn.Module):
    def __init__(self, ci, co, stride):
        super().__init__()
        self.body = nn.Sequential(_block2d(ci, co, stride), nn.Conv2d(co, co, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(co))
        self.skip = nn.Sequential(nn.Conv2d(ci, co, 1, stride=stride, bias=False), nn.BatchNorm2d(co))

    def forward(self, x):
        return torch.relu(self.body(x) + self.skip(x))


def res2d(num_classes: int, width: int = 24) -> nn.Module:
    """A residual 2-D CNN for the cpu profile's attack suite: a full-resolution stem (no early stride, so the
    thin edges of a frame difference survive), three residual stages, ~0.4 M parameters at width 24."""
    w = width
    return nn.Sequential(_block2d(3, w, 1), _Residual(w, w, 2), _Residual(w, 2 * w, 2), _Residual(2 * w, 4 * w, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, num_classes))


register_network(Network("small3d", "clip", sequential_builder(small3d), width=16, width_field="action_width",
                         pretrained_here=True))
register_network(Network("small2d", "frame", sequential_builder(small2d), width=16, width_field="privacy_width",
                         pretrained_here=True))
register_network(Network("res2d", "frame", scratch_builder(res2d, "res2d"), width=24))
# The suite's larger from-scratch frame attacker: res2d's architecture at width 64 (~1.2 M parameters), the
# capacity of the frame CNN an outside attacker found more identity with (trained with the "strong" recipe).
register_network(Network("wide2d", "frame", scratch_builder(res2d, "wide2d"), width=64))
