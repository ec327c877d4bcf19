"""SPPA (seed 003, CVPR 2024): selective, template-guided obfuscation with motion-consistent noise. No learning.

Per frame I of a clip (our tensors: (B, C, T, H, W), normalised with the config's mean and std):
  Eq. 1  s_j = mean over the selected templates tau of max(0, cos(K(tau), K(I_j)))   (per patch j of I)
  Eq. 2  S = R(s_1 .. s_m; h, w): the patch saliencies put back at their patches' pixels (nearest neighbour)
  Eq. 3  N(p, 1) ~ U[mu - sigma, mu + sigma]: the dataset's mean and std -- in our normalised units U[-1, 1]
  Eq. 4  N(p, t) = N(p + v(p, t), t - 1), v the flow that maps frame t's points to frame t-1's: the first noise
         image carried along the video's motion. The paper writes the right side with frame 1; composing the
         per-frame flows is what makes that hold for every t, and is what we do.
  Eq. 5  O = I + S * (N - I)
`noise="iid"` is the paper's ablation (Fig. 8): a fresh noise image per frame.

Keys K: the paper uses DINO ViT-S/8's last-layer attention keys (timm's `vit_small_patch8_224` with the DINO
authors' checkpoint: bdqlib.keys); the cpu profile the pre-activation features of the pretrained small 2-D
network's second block (a 4 x 4 px patch per key at 48 px). Flow: OpenCV's DIS (cpu) or torchvision's RAFT
(paper; the SPPA authors used RAFT).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.encoder import as_input_of
from ..data.dataset import to_unit
from ..engine.steps import resolve_device
from ..nets.weights import load_checkpoint
from ..nets.zoo import video_frames
from .registry import Method, register
from .sppa_templates import file_templates, make_keys, parse_parts, synthetic_templates


def saliency(keys: torch.Tensor, templates: torch.Tensor) -> torch.Tensor:
    """Eq. 1: (N, C, h, w) patch keys and (K, C) template keys -> (N, h, w) saliency in [0, 1]."""
    k = F.normalize(keys, dim=1)
    t = F.normalize(templates, dim=1)
    return torch.einsum("nchw,kc->nkhw", k, t).clamp(min=0).mean(1)


def saliency_map(patch_saliency: torch.Tensor, size) -> torch.Tensor:
    """Eq. 2: (N, h, w) patch saliencies -> (N, H, W), each patch's value on its pixels."""
    return F.interpolate(patch_saliency[:, None], size=tuple(size), mode="nearest")[:, 0]


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """image(p + flow(p)): (N, C, H, W) images, (N, H, W, 2) flows in pixels (x, y); bilinear, border-clamped."""
    n, _, h, w = image.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=flow.dtype, device=flow.device),
                            torch.arange(w, dtype=flow.dtype, device=flow.device), indexing="ij")
    gx = (xs + flow[..., 0]) * (2 / max(w - 1, 1)) - 1
    gy = (ys + flow[..., 1]) * (2 / max(h - 1, 1)) - 1
    return F.grid_sample(image, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="border", align_corners=True)


def motion_noise(first: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
    """Eq. 4: (C, H, W) first noise image, (T-1, H, W, 2) flows (frame t -> t-1) -> (C, T, H, W) noise video."""
    frames = [first[None]]
    for t in range(flows.shape[0]):
        frames.append(warp(frames[-1], flows[t:t + 1]))
    return torch.cat(frames).transpose(0, 1)


def blend(image: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Eq. 5: O = I + S (N - I); `mask` broadcasts over the colour channels."""
    return image + mask * (noise - image)


def to_grey_uint8(video: torch.Tensor, mean, std) -> np.ndarray:
    """(C, T, H, W) normalised clip -> (T, H, W) uint8 grey frames (what a flow algorithm reads)."""
    pixels = (to_unit(video, mean, std, channel_dim=0).clamp(0, 1) * 255).mean(0)
    return pixels.round().to(torch.uint8).cpu().numpy()


class DISFlow:
    """OpenCV's DIS optical flow (medium preset): (T, H, W) uint8 frames -> (T-1, H, W, 2), frame t -> t-1.
    The OpenCV object is made on first use, so the encoder holding this can be copied (EncodedData does)."""

    def __init__(self):
        self.dis = None

    def __getstate__(self):
        return {"dis": None}

    def __call__(self, grey: np.ndarray) -> torch.Tensor:
        if self.dis is None:
            self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flows = [self.dis.calc(grey[t], grey[t - 1], None) for t in range(1, len(grey))]
        return torch.from_numpy(np.stack(flows)) if flows else torch.zeros(0, *grey.shape[1:], 2)


class RAFTFlow:
    """torchvision's RAFT (large) on the same interface. Frames are resized to at least RAFT's smallest input
    (128 px, a multiple of 8) and the flow is resized and rescaled back."""

    MIN_SIDE = 128

    def __init__(self, weights="pretrained", device="cpu"):
        from torchvision.models.optical_flow import raft_large

        self.model = raft_large(weights=None, progress=False).eval().to(device)
        if weights != "none":
            self.model.load_state_dict(load_checkpoint("raft_large", weights))
        self.device = device

    @torch.no_grad()
    def __call__(self, grey: np.ndarray) -> torch.Tensor:
        t, h, w = grey.shape
        k = max(1.0, self.MIN_SIDE / min(h, w))
        hh, ww = (int(np.ceil(h * k / 8)) * 8, int(np.ceil(w * k / 8)) * 8)
        x = torch.from_numpy(grey).float().to(self.device)[:, None].repeat(1, 3, 1, 1) / 127.5 - 1
        x = F.interpolate(x, size=(hh, ww), mode="bilinear", align_corners=False) if (hh, ww) != (h, w) else x
        flow = self.model(x[1:], x[:-1], num_flow_updates=12)[-1]  # (T-1, 2, hh, ww): frame t -> t-1
        if (hh, ww) != (h, w):
            flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
            flow = flow * torch.tensor([w / ww, h / hh], device=flow.device).view(1, 2, 1, 1)
        return flow.permute(0, 2, 3, 1).cpu()


class SPPAEncoder(nn.Module):
    """SPPA on clips: (B, C, T, H, W) -> (B, C, T, H, W), every frame obfuscated where it matches the templates.

    keys: a module (N, C, H, W) -> (N, D, h, w); templates: (K, D) keys of the selected body parts; flow: a
    DISFlow or RAFTFlow. The noise of the i-th clip this encoder sees is drawn from seed + i, so a run is
    reproducible.
    """

    def __init__(self, keys: nn.Module, templates: torch.Tensor, *, flow, mean, std, noise: str = "motion",
                 seed: int = 0):
        super().__init__()
        if noise not in ("motion", "iid"):
            raise ValueError(f"SPPA noise must be 'motion' or 'iid', got {noise!r}")
        self.keys = keys.eval().requires_grad_(False)
        self.register_buffer("templates", templates.detach().clone())
        self.flow, self.mean, self.std, self.noise, self.seed = flow, tuple(mean), tuple(std), noise, seed
        self.clips_seen = 0

    def train(self, mode: bool = True):
        super().train(mode)
        self.keys.eval()  # a fixed feature extractor: its BatchNorm statistics never move
        return self

    @torch.no_grad()
    def saliency(self, video: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, 1, T, H, W) saliency S (Eq. 1-2)."""
        b, _, t, h, w = video.shape
        s = saliency_map(saliency(self.keys(video_frames(video)), self.templates), (h, w))
        return s.view(b, t, 1, h, w).transpose(1, 2)

    @torch.no_grad()
    def noise_video(self, clip: torch.Tensor) -> torch.Tensor:
        """(C, T, H, W) clip -> (C, T, H, W) noise N (Eq. 3-4, or i.i.d. per frame)."""
        c, t, h, w = clip.shape
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.clips_seen)
        self.clips_seen += 1
        if self.noise == "iid":
            return (torch.rand(c, t, h, w, generator=g) * 2 - 1).to(clip)
        first = (torch.rand(c, h, w, generator=g) * 2 - 1).to(clip)
        flows = self.flow(to_grey_uint8(clip, self.mean, self.std)).to(clip)
        return motion_noise(first, flows)

    @torch.no_grad()
    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.dim() != 5:
            raise ValueError(f"SPPA expects (B, C, T, H, W), got {tuple(video.shape)}")
        noise = torch.stack([self.noise_video(clip) for clip in video])
        return blend(video, self.saliency(video), noise)


def make_sppa(cfg, *, noise: str = "motion", device="cpu") -> SPPAEncoder:
    """SPPA as the config says: keys (cfg.sppa_keys), templates (cfg.sppa_templates clicked on the synthetic
    pretraining population, or on cfg.sppa_template_file's pictures), flow (cfg.sppa_flow: dis | raft)."""
    keys = make_keys(cfg)
    parts = parse_parts(cfg.sppa_templates)
    if cfg.sppa_template_file:
        templates = file_templates(cfg.sppa_template_file, keys, parts, mean=cfg.mean, std=cfg.std)
    else:
        templates = synthetic_templates(cfg, keys, parts)
    if cfg.sppa_flow == "raft":
        flow = RAFTFlow("none" if cfg.weights == "none" else cfg.weights, device=device)
    elif cfg.sppa_flow == "dis":
        flow = DISFlow()
    else:
        raise ValueError(f"sppa_flow must be 'dis' or 'raft', got {cfg.sppa_flow!r}")
    return SPPAEncoder(keys, templates, flow=flow, mean=cfg.mean, std=cfg.std, noise=noise, seed=cfg.seed)


def _saliency_panel(encoder, clip, frame: int):
    """SPPA's saliency S of a clip (C, T, H, W) at `frame`: the extra panel the figures show."""
    with torch.no_grad():
        s = encoder.saliency(as_input_of(encoder, clip[None]))
    return [("S", s[0, 0, frame].float().cpu().numpy())]


for _name, _noise, _what in (("sppa", "motion", "noise carried along the optical flow"),
                             ("sppa_iid", "iid", "i.i.d. noise per frame: the paper's ablation")):
    register(Method(_name, family="sppa", colour="tab:olive", description=f"SPPA (template saliency, Eq. 1-5) with {_what}",
                    build=lambda run, alpha, arg, noise=_noise: make_sppa(run.cfg, noise=noise,
                                                                          device=resolve_device(run.cfg.device)),
                    panels=_saliency_panel, crops=("square",)))  # templates are S x S
