"""RAPrivacy (seed 004): a style-transfer anonymiser (AdaAttN) with depth images as styles, trained adversarially.

The anonymiser A works per frame: a frozen encoder gives features at L levels (the paper: VGG-19's relu1_1 ..
relu5_1; the cpu profile: the four blocks of the pretrained small 2-D network); AdaAttN modules at the three
deepest levels merge each content frame with a style image (a depth map); a decoder that mirrors the encoder
turns them back into a frame (Eq. 1-3). Losses, per AdaAttN (Liu et al., ICCV 2021) and the paper:
  Eq. 4  L_gs = sum over the last four levels of |mu(E_x(I_cs)) - mu(F_s^x)|^2 + |sigma(E_x(I_cs)) - sigma(F_s^x)|^2
  Eq. 5  L_lf = sum over the last three levels of |E_x(I_cs) - AdaAttN*(F_c^x, F_s^x, F_c^1:x, F_s^1:x)|^2
         (AdaAttN*: the module's attention without learned projections)
  Eq. 6  L_act = CE(T(I_cs video), action)
  Eq. 7  L_pri = mean over frame pairs of  y D^2 + (1 - y) max(0, m - D)^2,  D the Euclidean distance of the
         privacy branch's unit-length frame features.
         The paper's text is self-contradictory about the pairs (it pairs by action, yet says it needs no privacy
         labels and that A *maximises* L_pri to hide identity). We take the reading of the self-supervised
         privacy work it compares with (SPAct, its [17]): two frames of one clip form a positive pair, frames of
         different clips a negative one; the privacy branch minimises L_pri, A maximises it.
  Eq. 8-9  phase 1: A minimises lambda_g L_gs + lambda_l L_lf (T frozen); phase 2: A minimises
         lambda_g L_gs + lambda_l L_lf + lambda_a L_act - lambda_p L_pri, T minimises L_act.
MSE means (AdaAttN's code) stand for the squared norms. Weights lambda_g = 10, lambda_l = 3 are AdaAttN's
defaults; lambda_a = lambda_p = 1 and m = 1 are not stated in the paper (our choice, in the config).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .zoo import video_frames


def mean_std(f: torch.Tensor, eps: float = 1e-5):
    """Per-channel spatial mean and std of (N, C, H, W): two (N, C, 1, 1) tensors."""
    mean = f.mean(dim=(2, 3), keepdim=True)
    std = ((f - mean).square().mean(dim=(2, 3), keepdim=True) + eps).sqrt()  # 5x faster than var() on CPU here
    return mean, std


def mean_variance_norm(f: torch.Tensor) -> torch.Tensor:
    mean, std = mean_std(f)
    return (f - mean) / std


def keys_up_to(feats: list, level: int) -> torch.Tensor:
    """F^{1:x} of Eq. 1: every level up to `level` (0-based), normalised and resized to its size, concatenated."""
    size = feats[level].shape[-2:]
    return torch.cat([mean_variance_norm(F.interpolate(f, size=size, mode="nearest") if f.shape[-2:] != size else f)
                      for f in feats[:level + 1]], dim=1)


def attention_stats(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor):
    """Attention-weighted mean and std of `value` (N, C, Hs, Ws) for every query position: query (N, D, Hc, Wc),
    key (N, D, Hs, Ws) -> mean, std (N, C, Hc, Wc)."""
    n, _, hc, wc = query.shape
    q = query.flatten(2).transpose(1, 2)                     # (N, Nc, D)
    a = torch.softmax(torch.bmm(q, key.flatten(2)), dim=-1)  # (N, Nc, Ns)
    v = value.flatten(2).transpose(1, 2)                     # (N, Ns, C)
    mean = torch.bmm(a, v)
    std = torch.relu(torch.bmm(a, v * v) - mean * mean).sqrt()
    shape = lambda t: t.transpose(1, 2).reshape(n, -1, hc, wc)  # noqa: E731
    return shape(mean), shape(std)


class AdaAttN(nn.Module):
    """AdaAttN (Liu et al., ICCV 2021): content (N, C, Hc, Wc), style (N, C, Hs, Ws), their keys F^{1:x}
    (N, D, H*, W*) -> (N, C, Hc, Wc) = attention-weighted std(style) * norm(content) + weighted mean(style)."""

    def __init__(self, channels: int, key_channels: int):
        super().__init__()
        self.f = nn.Conv2d(key_channels, key_channels, 1)
        self.g = nn.Conv2d(key_channels, key_channels, 1)
        self.h = nn.Conv2d(channels, channels, 1)

    def forward(self, content, style, content_key, style_key):
        mean, std = attention_stats(self.f(content_key), self.g(style_key), self.h(style))
        return std * mean_variance_norm(content) + mean


def adaattn_star(content, style, content_key, style_key):
    """AdaAttN* of Eq. 5: the same statistics without learned projections (the local feature loss's target)."""
    mean, std = attention_stats(content_key, style_key, style)
    return std * mean_variance_norm(content) + mean


class FeatureEncoder(nn.Module):
    """A frozen encoder split into levels: (N, 3, H, W) normalised frames -> [F^1, ..., F^L]."""

    def __init__(self, levels: list, *, scale=None, shift=None):
        super().__init__()
        self.levels = nn.ModuleList(levels).eval().requires_grad_(False)
        self.register_buffer("scale", torch.ones(1, 3, 1, 1) if scale is None else scale.view(1, 3, 1, 1))
        self.register_buffer("shift", torch.zeros(1, 3, 1, 1) if shift is None else shift.view(1, 3, 1, 1))

    def train(self, mode: bool = True):
        return super().train(False)  # frozen: BatchNorm statistics included

    def forward(self, x):
        feats, x = [], x * self.scale + self.shift
        for level in self.levels:
            x = level(x)
            feats.append(x)
        return feats

    def channels(self, size: int = 32) -> list:
        with torch.no_grad():
            return [f.shape[1] for f in self(torch.zeros(1, 3, size, size, device=self.scale.device))]


def _conv(ci, co):
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ci, co, 3), nn.ReLU(inplace=True))


class Decoder(nn.Module):
    """Mirrors the encoder: from the deepest stylised level up, each shallower one added after upsampling, then
    upsampled to the frame size; outputs pixels in [0, 1] (N, 3, H, W)."""

    def __init__(self, channels: list, ups: int):
        super().__init__()
        self.merge = nn.ModuleList([_conv(hi, lo) for hi, lo in zip(channels[:0:-1], channels[-2::-1])])
        c = channels[0]
        self.up = nn.ModuleList([_conv(c if i == 0 else max(c // 2 ** i, 8), max(c // 2 ** (i + 1), 8))
                                 for i in range(ups)])
        self.out = nn.Conv2d(max(c // 2 ** ups, 8) if ups else c, 3, 3, padding=1)

    def forward(self, feats: list, size):
        x = feats[-1]
        for merge, skip in zip(self.merge, feats[-2::-1]):
            x = merge(F.interpolate(x, size=skip.shape[-2:], mode="nearest")) + skip
        for up in self.up:
            x = up(F.interpolate(x, scale_factor=2, mode="nearest"))
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False) if x.shape[-2:] != tuple(size) else x
        return torch.sigmoid(self.out(x))


def contrastive(z: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 7 over all frame pairs of a batch: z (B, k, D) features of k frames of B clips; frames of one clip are
    positive pairs, frames of different clips negative ones (see the module docstring)."""
    b, k, _ = z.shape
    z = F.normalize(z.flatten(0, 1), dim=1)
    dist = torch.cdist(z, z)
    clip = torch.arange(b, device=z.device).repeat_interleave(k)
    same = (clip[:, None] == clip[None, :]).float()
    pairs = torch.triu(torch.ones_like(dist), diagonal=1)
    loss = same * dist ** 2 + (1 - same) * torch.relu(margin - dist) ** 2
    return (loss * pairs).sum() / pairs.sum().clamp(min=1)


class Anonymiser(nn.Module):
    """RAPrivacy's anonymiser as an encoder: (B, C, T, H, W) -> (B, 3, T, H, W), each clip's frames restyled by
    one depth image of its style bank (`styles`: (S, 3, H, W), normalised like the video). The style of the i-th
    clip it encodes is drawn from seed + i, so a run is reproducible."""

    def __init__(self, encoder: FeatureEncoder, styles: torch.Tensor, *, mean, std, seed: int = 0, probe: int = 64):
        super().__init__()
        self.encoder = encoder
        chans = encoder.channels(probe)
        with torch.no_grad():
            sizes = [f.shape[-1] for f in encoder(torch.zeros(1, 3, probe, probe, device=encoder.scale.device))]
        self.first = len(chans) - 3  # AdaAttN on the three deepest levels (VGG: relu3_1, relu4_1, relu5_1)
        self.adaattn = nn.ModuleList([AdaAttN(chans[i], sum(chans[:i + 1])) for i in range(self.first, len(chans))])
        ups = max(int(round(torch.log2(torch.tensor(probe / sizes[self.first])).item())), 0)
        self.decoder = Decoder(chans[self.first:], ups)
        self.register_buffer("styles", styles.detach().clone())
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.seed, self.clips_seen = seed, 0

    def stylise(self, frames: torch.Tensor, style: torch.Tensor):
        """frames (N, 3, H, W), styles (N or 1, 3, H, W) -> (stylised frames (N, 3, H, W) normalised, and the
        style losses' inputs: (content features, style features))."""
        fc, fs = self.encoder(frames), self.encoder(style)
        if len(style) != len(frames):  # one style for every frame: encoded once
            fs = [f.expand(len(frames), -1, -1, -1) for f in fs]
        cs = [m(fc[i], fs[i], keys_up_to(fc, i), keys_up_to(fs, i))
              for m, i in zip(self.adaattn, range(self.first, len(fc)))]
        pixels = self.decoder(cs, frames.shape[-2:])
        return (pixels - self.mean) / self.std, (fc, fs)

    def style_loss(self, out: torch.Tensor, fc: list, fs: list, *, lambda_global: float, lambda_local: float):
        """lambda_g L_gs (Eq. 4, the last four levels) + lambda_l L_lf (Eq. 5, the last three), on stylised frames."""
        fo = self.encoder(out)
        global_ = sum(F.mse_loss(mo, ms) + F.mse_loss(so, ss)
                      for (mo, so), (ms, ss) in ((mean_std(a), mean_std(b)) for a, b in zip(fo[-4:], fs[-4:])))
        local = sum(F.mse_loss(fo[i], adaattn_star(fc[i], fs[i], keys_up_to(fc, i), keys_up_to(fs, i)))
                    for i in range(self.first, len(fc)))
        return lambda_global * global_ + lambda_local * local

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.dim() != 5:
            raise ValueError(f"the RAPrivacy anonymiser expects (B, C, T, H, W), got {tuple(video.shape)}")
        b, c, t, h, w = video.shape
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.clips_seen)
        self.clips_seen += b
        idx = torch.randint(len(self.styles), (b,), generator=g).to(self.styles.device)
        out, _ = self.stylise(video_frames(video), self.styles[idx].repeat_interleave(t, dim=0))
        return out.view(b, t, 3, h, w).transpose(1, 2)
