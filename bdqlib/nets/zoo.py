"""Networks from a run config, and how frame-level networks see a clip.

T: (B, C, T, H, W) -> (B, num_classes)       `i3d_r50` (paper), `small3d` (cpu profile)
P: (N, C, H, W)    -> (N, num_classes)       `resnet50` (paper), `small2d` (cpu profile)
   `privacy_logits(P, video)` applies P to every frame of a (B, C, T, H, W) clip -> (B, T, num_classes).

Every network is built by name through the registry (bdqlib.nets.registry: `create_network`, `network(name).level`);
all return logits, and every loss in bdqlib takes logits (a softmax fed to CrossEntropyLoss was one of the student
reproduction's bugs).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..config import POPULATION_SEED_OFFSET
from . import families, small  # noqa: F401  (they register their networks)
from .registry import create_network, network, set_last_linear  # noqa: F401
from .weights import PretrainedWeightsUnavailable, load_checkpoint, weights_dir  # noqa: F401


def build_model(name: str, num_classes: int, *, weights="none", width: int | None = None,
                sha256: str | None = None) -> nn.Module:
    """Any registered network by name with a `num_classes` head (bdqlib.nets.registry.create_network)."""
    return create_network(name, num_classes, weights=weights, width=width, sha256=sha256)


def model_level(name: str) -> str:
    """"clip" for 3-D networks on a clip, "frame" for 2-D ones applied to every frame."""
    return network(name).level


# --------------------------------------------------------------------------- factories from a run config
def small_weights_file(cfg, name: str) -> Path:
    """Where bdqlib.train.pretrain keeps the pretrained small3d (actions) or small2d (identities) for this config."""
    width = model_width(cfg, name)
    key = (f"{name}-w{width}-t{cfg.num_frames}-s{cfg.size}-pop{cfg.synthetic_seed + POPULATION_SEED_OFFSET}"
           f"x{cfg.synthetic_subjects}-e{cfg.pretrain_epochs}-v3" + ("" if cfg.seed == 0 else f"-seed{cfg.seed}")
           + ("" if cfg.crop == "square" else f"-{cfg.crop}")  # whole frames: other inputs, other weights
           + ("" if cfg.synthetic_colour else "-grey"))  # a grey population (the default since 2026-12-07)
    return weights_dir(cfg.weights_dir) / f"{key}.pt"


def init_weights(cfg, name: str, init: str = "pretrained"):
    """What to initialise network `name` from: "none", "pretrained", or (small models) bdqlib.train.pretrain's file."""
    if init == "none" or cfg.weights == "none":
        return "none"
    if network(name).pretrained_here:
        path = small_weights_file(cfg, name)
        if not path.is_file():
            raise PretrainedWeightsUnavailable(
                f"pretrained {name} weights not found at {path}: run bdqlib.train.pretrain.pretrain_small_models(cfg, ...) "
                f"(notebook 02 does), or choose random initialisation explicitly with weights='none'")
        return str(path)
    return cfg.weights


def model_width(cfg, name: str) -> int:
    """The width `name` is built with: the config's field for it (small3d: action_width, small2d: privacy_width),
    else its own default, else (an architecture without a width) cfg.privacy_width, which it ignores."""
    net = network(name)
    if net.width_field:
        return getattr(cfg, net.width_field)
    return net.width if net.width is not None else cfg.privacy_width


def make_models(cfg, num_actions: int, num_subjects: int, device):
    """Fresh T and P as the config says (pretrained init when cfg.weights == "pretrained")."""
    t = build_model(cfg.action_model, num_actions, weights=init_weights(cfg, cfg.action_model),
                    width=model_width(cfg, cfg.action_model))
    p = build_model(cfg.privacy_model, num_subjects, weights=init_weights(cfg, cfg.privacy_model),
                    width=model_width(cfg, cfg.privacy_model))
    return t.to(device), p.to(device)


def video_frames(video: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B*T, C, H, W), frame-major within each clip."""
    b, c, t, h, w = video.shape
    return video.transpose(1, 2).reshape(b * t, c, h, w)


def privacy_logits(model: nn.Module, video: torch.Tensor) -> torch.Tensor:
    """P on every frame of a clip batch: (B, C, T, H, W) -> (B, T, num_classes)."""
    b, t = video.shape[0], video.shape[2]
    return model(video_frames(video)).view(b, t, -1)


def in_chunks(fn, frames: torch.Tensor, chunk: int) -> torch.Tensor:
    """fn over (N, ...) frames, `chunk` at a time, outputs concatenated: an inference network's activations for a
    whole batch of clips' frames (16 x 32 at 224 px) do not fit a GPU at once."""
    if len(frames) <= chunk:
        return fn(frames)
    return torch.cat([fn(frames[i:i + chunk]) for i in range(0, len(frames), chunk)])

