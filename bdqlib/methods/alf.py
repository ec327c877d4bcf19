"""ALF -- Wu et al. (ECCV 2018, "Towards privacy-preserving visual recognition via adversarial training"), the paper's
learned comparator (§4.3, Fig. 3): the image-transformation network of Johnson et al. (ECCV 2016) applied to every
frame -- a 9 x 9 convolution, two stride-2 convolutions, residual blocks, two fractionally strided (transposed)
convolutions and a 9 x 9 convolution back to 3 channels, instance normalisation and ReLU between. Output
(B, 3, T, H, W), H and W divisible by 4. It is trained in BDQ's adversarial game (bdqlib.train.game) with Wu et al.'s
restarting of the budget model P every `alf_restart_every` steps. The paper's Table 1 (1.3 M parameters, 166.4
GFLOPs on 16 x 224 x 224) matches width 32 with 4 residual blocks, which the paper profile uses.
"""
from __future__ import annotations

import torch
from torch import nn

from ..nets.zoo import video_frames
from .games import fit_game, trained_encoder, with_alpha
from .registry import Method, register


def _conv(ci, co, k, stride=1):
    return nn.Sequential(nn.Conv2d(ci, co, k, stride=stride, padding=k // 2), nn.InstanceNorm2d(co, affine=True),
                         nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3), nn.Conv2d(c, c, 3, padding=1), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x):
        return x + self.body(x)


def _up(ci, co):
    return nn.Sequential(nn.ConvTranspose2d(ci, co, 3, stride=2, padding=1, output_padding=1),
                         nn.InstanceNorm2d(co, affine=True), nn.ReLU(inplace=True))


class ALFEncoder(nn.Module):
    """Johnson et al.'s transformation network on every frame: (B, C, T, H, W) -> (B, 3, T, H, W)."""

    def __init__(self, *, width: int = 32, blocks: int = 4, kernel: int = 9, in_channels: int = 3):
        super().__init__()
        c = width
        self.net = nn.Sequential(_conv(in_channels, c, kernel), _conv(c, 2 * c, 3, 2), _conv(2 * c, 4 * c, 3, 2),
                                 *[_Residual(4 * c) for _ in range(blocks)], _up(4 * c, 2 * c), _up(2 * c, c),
                                 nn.Conv2d(c, 3, kernel, padding=kernel // 2))
        self.width, self.blocks = width, blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"expected a video batch (B, C, T, H, W), got shape {tuple(x.shape)}")
        b, _, t, h, w = x.shape
        if h % 4 or w % 4:
            raise ValueError(f"ALF's two stride-2 stages need H and W divisible by 4, got {h} x {w}")
        return self.net(video_frames(x)).view(b, t, 3, h, w).transpose(1, 2)

    def extra_repr(self) -> str:
        return f"width={self.width}, blocks={self.blocks}"


def make_alf(cfg) -> ALFEncoder:
    return ALFEncoder(width=cfg.alf_width, blocks=cfg.alf_blocks, kernel=cfg.alf_kernel)


ALF = register(Method(
    "alf", family="alf", colour="tab:brown", description="ALF (Wu et al.): Johnson et al.'s network per frame, trained in BDQ's game with P "
                                     "restarted every alf_restart_every steps",
    game=lambda cfg, alpha: with_alpha(cfg, alpha, encoder="alf", privacy_restart_every=cfg.alf_restart_every),
    make_encoder=make_alf,
    build=lambda run, alpha, arg: trained_encoder(ALF, run, alpha),
    fit=lambda run, data, alpha, arg, log: fit_game(ALF, run, data, alpha, log),
    takes_alpha=True, trained_in="05_comparators", strength=lambda arg, alpha: 1.0 if alpha is None else alpha))
