"""The paper's learned comparators (§4.3, Fig. 3), as encoders with BDQEncoder's interface (B, C, T, H, W) in.

* `ALFEncoder` -- Wu et al. (ECCV 2018, "Towards privacy-preserving visual recognition via adversarial
  training"): the image-transformation network of Johnson et al. (ECCV 2016) applied to every frame: a 9 x 9
  convolution, two stride-2 convolutions, residual blocks, two fractionally strided (transposed) convolutions and
  a 9 x 9 convolution back to 3 channels, instance normalisation and ReLU between. Output (B, 3, T, H, W), H and
  W divisible by 4. It is trained in the same adversarial game as BDQ (bdqlib.train.game, `encoder="alf"`) with
  Wu et al.'s restarting of the budget model P (`privacy_restart_every`). The paper's Table 1 (1.3 M parameters,
  166.4 GFLOPs on 16 x 224 x 224) matches width 32 with 4 residual blocks, which the paper profile uses.
* `ELR` -- Ryoo et al. (AAAI 2017, 2018), extreme low resolution: the camera delivers R x R video (area
  down-sampling); training clips are first moved by one of a bank of sub-pixel transforms (translation by half a
  low-resolution pixel, scaling, rotation: the "inverse super-resolution" views of one high-resolution clip), test
  clips are taken as they are. Shown back at S x S (bilinear), as `bdqlib.methods.naive.Downsample` does. Resolutions
  are stated at 224 px (the paper: 112 ... 4) and scaled to the crop size.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import parse_names, parse_numbers
from ..metrics import f_lambda
from ..nets.zoo import video_frames


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


# The comparators 05 runs when its parameters are left at None: ELR resolutions at 224 px per profile.
ELR_DEFAULTS = {"paper": "elr112,elr56,elr28,elr14,elr7,elr4",  # the paper's (§4.3)
                "cpu": ""}  # none by default (time: one attack suite, ~2 min each); -p ELR elr28 (6 x 6 px at 48 px;
                            # run 20261201-020148: 0.613 / 0.946, dominated by BDQ)


# The seeds' other systems 05 runs when SYSTEMS is None, per profile (bdqlib.methods.sppa, bdqlib.methods.masking, bdqlib.nets.adaattn)
SYSTEMS = ("sppa", "sppa_iid", "masking", "raprivacy")
SYSTEM_DEFAULTS = {"paper": "sppa,sppa_iid,masking,raprivacy",  # SPPA's i.i.d.-noise ablation too (its Fig. 8)
                   "cpu": "sppa,masking,raprivacy"}              # one attack suite each (~2 min)


def system_names(spec, profile: str) -> list:
    """05's SYSTEMS: None -> the profile's (SYSTEM_DEFAULTS), "" -> none, else names from SYSTEMS."""
    names = parse_names(SYSTEM_DEFAULTS[profile] if spec is None else spec)
    bad = [n for n in names if n not in SYSTEMS]
    if bad:
        raise ValueError(f"SYSTEMS must name methods from {SYSTEMS}; got {bad}")
    return names


# ALF's game in 05 when ALF_ALPHAS is None, per profile: the paper's at BDQ's alpha; none on the cpu profile, whose
# default run cannot hold ALF's game (~3.5 min) beside the seeds' systems within its time limit. `-p ALF_ALPHAS 1`
# runs it (run 20261201-020148: action 0.967, privacy 0.729).
ALF_DEFAULTS = {"paper": True, "cpu": False}


def comparator_alphas(spec, alpha: float, profile: str = "paper") -> list:
    """ALF's game weights from 05's ALF_ALPHAS: None -> the profile's ([alpha], BDQ's, or none: ALF_DEFAULTS),
    "" -> none, "1,2" -> [1.0, 2.0]."""
    if spec is None:
        return [float(alpha)] if ALF_DEFAULTS[profile] else []
    return parse_numbers(spec, "ALF_ALPHAS")


def comparator_names(spec, profile: str) -> list:
    """ELR encoders from 05's ELR: None -> the profile's (ELR_DEFAULTS), "" -> none; each must be elr<R>."""
    names = parse_names(ELR_DEFAULTS[profile] if spec is None else spec)
    bad = [n for n in names if not (n.startswith("elr") and n[3:].isdigit())]
    if bad:
        raise ValueError(f"ELR names must be elr<resolution at 224 px>, e.g. elr28; got {bad}")
    return names


def compare_with_bdq(results, alpha: float, methods: list) -> str:
    """Computed sentences: each comparator's retrain point (results: a run's headline rows) against BDQ at `alpha`
    (f_0.5, and whether either dominates)."""
    retrain = [r for r in results.to_dict("records") if r["protocol"] == "retrain"]
    bdq = next((r for r in retrain if r["method"] == "bdq" and r["alpha"] == alpha), None)
    if bdq is None:
        return "BDQ not validated in this run: nothing to compare with"
    lines = []
    for method in dict.fromkeys(methods):
        rows = [r for r in retrain if r["method"] == method]
        for r in rows:
            f, fb = (f_lambda(x["action_top1"], x["privacy_top1"], 0.5) for x in (r, bdq))
            better = r["action_top1"] >= bdq["action_top1"] and r["privacy_top1"] <= bdq["privacy_top1"]
            worse = r["action_top1"] <= bdq["action_top1"] and r["privacy_top1"] >= bdq["privacy_top1"]
            verdict = ("at least as good as BDQ on both axes" if better else "dominated by BDQ" if worse
                       else "neither dominates")
            label = method + ("" if r["alpha"] != r["alpha"] else f" alpha={r['alpha']:g}")
            lines.append(f"{label}: action {r['action_top1']:.3f}, privacy {r['privacy_top1']:.3f} "
                         f"({r['strongest_attacker']}), f_0.5 {f:.3f} vs BDQ alpha={alpha:g} {bdq['action_top1']:.3f} / "
                         f"{bdq['privacy_top1']:.3f}, f_0.5 {fb:.3f} -> {verdict}")
    return "\n".join(lines) or "no comparator ran"
