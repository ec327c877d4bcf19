"""Pretrained weight files: where they are looked for, downloaded, checked and read.

weights="pretrained" means the network's known file, looked up in $BDQ_WEIGHTS_DIR, then torch's hub cache, else
downloaded; if that is impossible, an error says which file to put where. A path is a local checkpoint file
(optionally verified with `sha256=`). "none" is random initialisation -- always an explicit choice, never a silent
fallback.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

# The seeds' other systems' networks (bdqlib.methods.sppa, .masking): name -> (download URL, trained on). The
# classifiers' weights are their Network entries' (bdqlib.nets.registry).
WEIGHT_FILES = {
    "dino_vits8": ("https://dl.fbaipublicfiles.com/dino/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth",
                   "ImageNet-1k, self-supervised (DINO)"),
    "raft_large": ("https://download.pytorch.org/models/raft_large_C_T_SKHT_V2-ff5fadd5.pth",
                   "FlyingChairs, FlyingThings3D, Sintel, KITTI, HD1K"),
    "deeplabv3_resnet50": ("https://download.pytorch.org/models/deeplabv3_resnet50_coco-cd0a2569.pth",
                           "COCO with VOC labels"),
}


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


def load_checkpoint(name: str, weights, sha256: str | None = None, *, url: str | None = None, source: str = "") -> dict:
    """The state dict of `name`'s pretrained weights: weights="pretrained" (the file of `url` -- or of WEIGHT_FILES
    for the seeds' systems' networks -- in $BDQ_WEIGHTS_DIR or torch's hub cache, else downloaded) or a file path,
    optionally checked against `sha256`."""
    if weights == "pretrained":
        if url is None and name in WEIGHT_FILES:
            url, source = WEIGHT_FILES[name]
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
