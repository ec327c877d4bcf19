"""Action model T (3-D CNN on a clip) and privacy model P (2-D CNN on each frame), built by name.

Both return logits; every loss in bdqlib takes logits (a softmax fed to CrossEntropyLoss was one of the student
reproduction's bugs).

T: (B, C, T, H, W) -> (B, num_classes)       `i3d_r50` (paper), `r3d_18`, `small3d` (cpu profile)
P: (N, C, H, W)    -> (N, num_classes)       `resnet50` (paper), `resnet18`, `small2d` (cpu profile)
   `privacy_logits(P, video)` applies P to every frame of a (B, C, T, H, W) clip -> (B, T, num_classes).

Pretrained weights (Kinetics-400 for T, ImageNet for P, as in the paper) come from `weights=`:
  "pretrained"  the known file, looked up in $BDQ_WEIGHTS_DIR, then torch's hub cache, else downloaded;
                if that is impossible, an error says which file to put where;
  a path       a local checkpoint file (optionally verified with `sha256=`);
  "none"       random initialisation -- always an explicit choice, never a silent fallback.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import nn

from ..config import POPULATION_SEED_OFFSET
from .families import BUILDERS as FAMILY_BUILDERS
from .families import CLIP_FAMILIES, DEFAULT_WIDTH, FRAME_FAMILIES

FAMILIES = CLIP_FAMILIES + FRAME_FAMILIES

# name -> (download URL, what it was trained on)
WEIGHTS = {
    "i3d_r50": ("https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/I3D_8x8_R50.pyth", "Kinetics-400"),
    "r3d_18": ("https://download.pytorch.org/models/r3d_18-b3b3357e.pth", "Kinetics-400"),
    "resnet50": ("https://download.pytorch.org/models/resnet50-0676ba61.pth", "ImageNet-1k"),
    "resnet18": ("https://download.pytorch.org/models/resnet18-f37072fd.pth", "ImageNet-1k"),
    # the seeds' other systems (bdqlib.methods.sppa_templates, bdqlib.methods.sppa, bdqlib.methods.masking): keys, flow, person masks
    "dino_vits8": ("https://dl.fbaipublicfiles.com/dino/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth",
                   "ImageNet-1k, self-supervised (DINO)"),
    "raft_large": ("https://download.pytorch.org/models/raft_large_C_T_SKHT_V2-ff5fadd5.pth",
                   "FlyingChairs, FlyingThings3D, Sintel, KITTI, HD1K"),
    "deeplabv3_resnet50": ("https://download.pytorch.org/models/deeplabv3_resnet50_coco-cd0a2569.pth",
                           "COCO with VOC labels"),
}
ACTION_MODELS = ("i3d_r50", "r3d_18", "small3d")  # clip-level: (B, C, T, H, W) -> (B, K)
PRIVACY_MODELS = ("resnet50", "resnet18", "small2d", "res2d")  # frame-level; any torchvision classifier too
SMALL_MODELS = ("small3d", "small2d")  # the cpu profile's; "pretrained" means bdqlib.train.pretrain's weights


class PretrainedWeightsUnavailable(RuntimeError):
    """Pretrained weights were asked for but neither a local file nor a download could provide them."""


def weights_dir(configured: str = "") -> Path:
    """The weight-file cache: `configured`, else $BDQ_WEIGHTS_DIR, else torch's hub checkpoint folder."""
    if configured:
        return Path(configured)
    return Path(os.environ.get("BDQ_WEIGHTS_DIR", Path(torch.hub.get_dir()) / "checkpoints"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_checkpoint(name: str, weights, sha256: str | None = None) -> dict:
    """The state dict of `name`'s pretrained weights, from a file path or "pretrained" (see module docstring)."""
    if weights == "pretrained":
        url, source = weights_url(name)
        if url is None:
            raise PretrainedWeightsUnavailable(
                f"{name} has no downloadable weights: pretrain it with bdqlib.train.pretrain.pretrain_small_models "
                f"(notebook 02 does) and pass the file, or choose weights='none'")
        candidates = [weights_dir() / Path(url).name, Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            try:
                path = candidates[0]
                path.parent.mkdir(parents=True, exist_ok=True)
                torch.hub.download_url_to_file(url, str(path), progress=False)
            except Exception as exc:  # offline, proxy, disk: say exactly what to do instead
                raise PretrainedWeightsUnavailable(
                    f"{name} needs its {source} weights, which could not be downloaded ({type(exc).__name__}: "
                    f"{exc}). Download {url} and put it at {candidates[0]} (or set BDQ_WEIGHTS_DIR, or pass "
                    f"weights=<path to the file>), or choose random initialisation explicitly with "
                    f"weights='none'.") from None
    else:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"weights file for {name} not found: {path}")
    if sha256 is not None and _sha256(path) != sha256.lower():
        raise ValueError(f"SHA-256 of {path} does not match the expected {sha256}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(state, dict) and "model_state" in state:  # pytorchvideo checkpoints wrap the state dict
        state = state["model_state"]
    return state


def _torchvision_weights(name: str, module=None):
    """torchvision's default weights entry of a classifier by name (its URL, no download), or None: image
    classifiers, or with module=torchvision.models.video the video ones."""
    import torchvision.models as tvm
    if name not in tvm.list_models(module=module or tvm):
        return None
    return tvm.get_model_weights(name).DEFAULT


def _torchvision_video(name: str):
    import torchvision.models.video as tvv
    return _torchvision_weights(name, tvv)


def _pytorchvideo_hub(name: str):
    """pytorchvideo's hub module that builds `name` (and knows its Kinetics-400 checkpoint URL), or None."""
    import importlib
    for module in ("resnet", "x3d", "csn", "r2plus1d"):
        hub = importlib.import_module(f"pytorchvideo.models.hub.{module}")
        if name in getattr(hub, "checkpoint_paths", {}) and not name.endswith("_detection"):
            return hub
    return None


def weights_url(name: str) -> tuple:
    """(URL, what it was trained on) of `name`'s pretrained weights, or (None, None) if there are none."""
    if name in WEIGHTS:
        return WEIGHTS[name]
    if name in FAMILIES or name in SMALL_MODELS or name == "res2d":
        return None, None
    hub = _pytorchvideo_hub(name)
    if hub is not None:
        return hub.checkpoint_paths[name], "Kinetics-400"
    video = _torchvision_video(name)
    if video is not None:
        return video.url, "Kinetics-400"
    image = _torchvision_weights(name)
    return (image.url, "ImageNet-1k") if image is not None else (None, None)


def set_last_linear(model: nn.Module, module: nn.Module) -> nn.Module:
    """Put `module` in place of a network's last nn.Linear, wherever the architecture keeps it (a new head, or
    nn.Identity for features)."""
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
    setattr(parent, name.rpartition(".")[2], module)
    return model


def _replace_last_linear(model: nn.Module, num_classes: int) -> nn.Module:
    """Give a torchvision classifier a new head: its last nn.Linear, wherever the architecture keeps it."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    return set_last_linear(model, nn.Linear(last.in_features, num_classes))


def _block3d(ci, co, stride):
    return nn.Sequential(nn.Conv3d(ci, co, 3, stride=stride, padding=1, bias=False), nn.BatchNorm3d(co),
                         nn.ReLU(inplace=True))


def _block2d(ci, co, stride):
    return nn.Sequential(nn.Conv2d(ci, co, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(co),
                         nn.ReLU(inplace=True))


def _replace_head(model: nn.Sequential, num_classes: int) -> nn.Module:
    model[-1] = nn.Linear(model[-1].in_features, num_classes)
    return model


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


def action_model(name: str, num_classes: int, *, weights="none", sha256: str | None = None, width: int = 16):
    """T by name; `weights` as in the module docstring (small3d: "none" or a file from bdqlib.train.pretrain)."""
    if name == "small3d":
        if weights == "none":
            return small3d(num_classes, width)
        state = load_checkpoint(name, weights, sha256)  # pretrained head: replaced, as for the big models
        model = small3d(state["6.weight"].shape[0], width)
        model.load_state_dict(state)
        return _replace_head(model, num_classes)
    if name in CLIP_FAMILIES:
        return _family(name, num_classes, weights, width)
    hub = _pytorchvideo_hub(name)
    if hub is not None:  # i3d_r50 (paper), slow_r50, c2d_r50, x3d_xs/s/m/l, csn_r101, r2plus1d_r50
        model = getattr(hub, name)(pretrained=False)
        if weights != "none":
            model.load_state_dict(load_checkpoint(name, weights, sha256))
        head = model.blocks[-1]
        for parent in [head, *head.modules()]:  # the hub heads pool a fixed window (e.g. 4x7x7: 8 frames, 224 px)
            for child, module in list(parent.named_children()):
                if isinstance(module, nn.AvgPool3d):
                    setattr(parent, child, nn.AdaptiveAvgPool3d(1))
        return _replace_last_linear(model, num_classes)
    if _torchvision_video(name) is not None:  # r3d_18, mc3_18, r2plus1d_18, swin3d_t, ...
        import torchvision.models as tvm
        model = tvm.get_model(name, weights=None)
        if weights != "none":
            model.load_state_dict(load_checkpoint(name, weights, sha256))
        return _replace_last_linear(model, num_classes)
    raise ValueError(f"unknown action model {name!r}; choose from {ACTION_MODELS}, {CLIP_FAMILIES}, pytorchvideo's "
                     f"hub (x3d_s, slow_r50, csn_r101, r2plus1d_r50, ...) or torchvision's video models")


def privacy_model(name: str, num_classes: int, *, weights="none", sha256: str | None = None, width: int = 16):
    """P by name; `weights` as in the module docstring (small2d: "none" or a file from bdqlib.train.pretrain)."""
    if name == "res2d":
        if weights != "none":
            raise PretrainedWeightsUnavailable("res2d has no pretrained weights: use it from random initialisation "
                                               "('res2d@scratch' in an attack suite)")
        return res2d(num_classes, width)
    if name == "small2d":
        if weights == "none":
            return small2d(num_classes, width)
        state = load_checkpoint(name, weights, sha256)
        model = small2d(state["6.weight"].shape[0], width)
        model.load_state_dict(state)
        return _replace_head(model, num_classes)
    if name in FRAME_FAMILIES:
        return _family(name, num_classes, weights, width)
    if _torchvision_weights(name) is not None:  # resnet50 (paper), resnet18, mobilenet_v3_large, vit_b_16, ...
        import torchvision.models as tvm
        model = tvm.get_model(name, weights=None)
        if weights != "none":
            model.load_state_dict(load_checkpoint(name, weights, sha256))
        return _replace_last_linear(model, num_classes)
    raise ValueError(f"unknown privacy model {name!r}; choose from {PRIVACY_MODELS} or a torchvision classifier")


def model_level(name: str) -> str:
    """"clip" for the 3-D (action-type) networks, "frame" for 2-D ones applied to every frame."""
    if name in ACTION_MODELS or name in CLIP_FAMILIES:
        return "clip"
    if name in SMALL_MODELS or name in FRAME_FAMILIES or name in PRIVACY_MODELS:
        return "frame"
    return "clip" if _pytorchvideo_hub(name) is not None or _torchvision_video(name) is not None else "frame"


def _family(name: str, num_classes: int, weights, width: int) -> nn.Module:
    if weights != "none":
        raise PretrainedWeightsUnavailable(f"{name} has no pretrained weights: use it from random initialisation "
                                           f"('{name}@scratch' in a sweep)")
    return FAMILY_BUILDERS[name](num_classes, width)


def build_model(name: str, num_classes: int, *, weights="none", width: int = 16) -> nn.Module:
    """Any known network by name with a `num_classes` head: 3-D networks (clips) or 2-D ones (frames)."""
    maker = action_model if model_level(name) == "clip" else privacy_model
    return maker(name, num_classes, weights=weights, width=width)


# --------------------------------------------------------------------------- factories from a run config
def small_weights_file(cfg, name: str) -> Path:
    """Where bdqlib.train.pretrain keeps the pretrained small3d (actions) or small2d (identities) for this config."""
    width = cfg.action_width if name == "small3d" else cfg.privacy_width
    key = (f"{name}-w{width}-t{cfg.num_frames}-s{cfg.size}-pop{cfg.synthetic_seed + POPULATION_SEED_OFFSET}"
           f"x{cfg.synthetic_subjects}-e{cfg.pretrain_epochs}-v2")
    return weights_dir(cfg.weights_dir) / f"{key}.pt"


def init_weights(cfg, name: str, init: str = "pretrained"):
    """What to initialise network `name` from: "none", "pretrained", or (small models) bdqlib.train.pretrain's file."""
    if init == "none" or cfg.weights == "none":
        return "none"
    if name in SMALL_MODELS:
        path = small_weights_file(cfg, name)
        if not path.is_file():
            raise PretrainedWeightsUnavailable(
                f"pretrained {name} weights not found at {path}: run bdqlib.train.pretrain.pretrain_small_models(cfg, ...) "
                f"(notebook 02 does), or choose random initialisation explicitly with weights='none'")
        return str(path)
    return cfg.weights


def model_width(cfg, name: str) -> int:
    return {"small3d": cfg.action_width, "res2d": 24, **DEFAULT_WIDTH}.get(name, cfg.privacy_width)


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

