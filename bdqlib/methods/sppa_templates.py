"""SPPA's template library (seed 003 §3.1-3.2): the key extractor K and the keys of the selected body parts.

Key extractors, (N, C, H, W) frames normalised with the config's mean/std -> (N, D, h, w) patch keys:
* `SmallKeys` (cpu profile): the pretrained small 2-D network's block-2 features before their ReLU (signed, as
  attention keys are; 4 x 4 px patches at 48 px). The network was pretrained on the pretraining population only.
* `DinoKeys` (paper profile): DINO ViT-S/8's last attention layer keys, the SPPA authors' choice. The model is
  timm's `vit_small_patch8_224`; its weights are the DINO authors' checkpoint (`dino_deitsmall8_pretrain.pth`),
  from a file or a download like every other weight file (bdqlib.nets.zoo.load_checkpoint).

Templates:
* `synthetic_templates`: the cpu profile's library, "clicked" on the body parts of people of the pretraining
  population (bdqlib.data.scenes.person_scene) -- the mean key of each part over `TEMPLATE_PEOPLE` people.
* `file_templates`: a JSON list of {"image": path, "part": name, "x": px, "y": px} clicks on your own pictures
  (the paper's Fig. 3: an IPN and an SBU frame).
The selected parts (cfg.sppa_templates) default to the SPPA authors' choice for KTH and SBU: torso, arm, leg, hair.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ..config import POPULATION_SEED_OFFSET, parse_names
from ..data.scenes import PARTS, person_scene
from ..nets.weights import load_checkpoint
from ..nets.zoo import build_model, in_chunks, init_weights, model_width

TEMPLATE_PEOPLE = 4  # people of the pretraining population each part's template is averaged over ...
TEMPLATE_SCENES = ("d1", "d4")  # ... on an outdoor and an indoor background
INFERENCE_FRAMES = 64  # frames DINO's keys are computed for at once
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class SmallKeys(nn.Module):
    """Pre-activation features of block `block` (1-based) of a small2d network: (N, 3, H, W) -> (N, D, h, w)."""

    def __init__(self, small2d: nn.Sequential, block: int = 2):
        super().__init__()
        blocks = list(small2d.children())
        self.net = nn.Sequential(*blocks[:block - 1], *list(blocks[block - 1].children())[:2]).eval()

    def forward(self, frames):
        return self.net(frames)


class DinoKeys(nn.Module):
    """DINO ViT-S/8 last-layer attention keys, (N, 3, H, W) -> (N, 384, H/8, W/8) (H, W multiples of 8)."""

    def __init__(self, weights="pretrained", *, mean, std):
        super().__init__()
        import timm
        self.vit = timm.create_model("vit_small_patch8_224", pretrained=False, num_classes=0, dynamic_img_size=True)
        if weights != "none":
            state = load_checkpoint("dino_vits8", weights)
            self.vit.load_state_dict({k: v for k, v in state.items() if not k.startswith("head")})
        self.vit.eval()
        shift = [(m - im) / s for m, im, s in zip(mean, IMAGENET_MEAN, IMAGENET_STD)]  # ours -> ImageNet's
        self.register_buffer("scale", torch.tensor([s / i for s, i in zip(std, IMAGENET_STD)]).view(1, 3, 1, 1))
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1))
        self.vit.blocks[-1].attn.qkv.register_forward_hook(_keep_output)

    def forward(self, frames):
        return in_chunks(self._keys, frames, INFERENCE_FRAMES)  # a clip batch's frames do not fit a GPU at once

    def _keys(self, frames):
        n, _, h, w = frames.shape
        qkv_layer = self.vit.blocks[-1].attn.qkv
        qkv_layer.kept_output = None
        self.vit.forward_features(frames * self.scale + self.shift)
        d = self.vit.embed_dim
        keys = qkv_layer.kept_output[:, self.vit.num_prefix_tokens:, d:2 * d]  # qkv = [q | k | v], heads side by side
        qkv_layer.kept_output = None  # no reference to this batch's activations between calls
        return keys.transpose(1, 2).reshape(n, d, h // 8, w // 8)


def _keep_output(module, _inputs, output) -> None:
    """A forward hook that keeps a layer's output on the layer itself -- not on an object a closure holds, so that a
    deep copy of the network (validation copies every encoder) keeps its own outputs, not the original's."""
    module.kept_output = output


def make_keys(cfg) -> nn.Module:
    """The config's key extractor (cfg.sppa_keys: small2d | dino_vits8)."""
    if cfg.sppa_keys == "dino_vits8":
        return DinoKeys("none" if cfg.weights == "none" else cfg.weights, mean=cfg.mean, std=cfg.std)
    if cfg.sppa_keys != "small2d":
        raise ValueError(f"sppa_keys must be 'small2d' or 'dino_vits8', got {cfg.sppa_keys!r}")
    model = build_model("small2d", 10, weights=init_weights(cfg, "small2d"), width=model_width(cfg, "small2d"))
    return SmallKeys(model)


def keys_at(keys: nn.Module, image: torch.Tensor, points) -> torch.Tensor:
    """(K, D) keys of the patches under `points` [(x, y) px] of one normalised (3, H, W) image."""
    with torch.no_grad():
        k = keys(image[None])[0]
    d, h, w = k.shape
    scale_x, scale_y = w / image.shape[-1], h / image.shape[-2]
    return torch.stack([k[:, min(int(y * scale_y), h - 1), min(int(x * scale_x), w - 1)] for x, y in points])


def normalise(image: np.ndarray, mean, std) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float normalised with the config's mean/std."""
    x = torch.from_numpy(image).float().permute(2, 0, 1) / 255
    return (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


def parse_parts(spec) -> list:
    parts = parse_names(spec)
    unknown = [p for p in parts if p not in PARTS]
    if not parts or unknown:
        raise ValueError(f"sppa_templates must name body parts from {PARTS}, got {spec!r}")
    return parts


def synthetic_templates(cfg, keys: nn.Module, parts) -> torch.Tensor:
    """(len(parts), D): each part's key averaged over TEMPLATE_PEOPLE people of the pretraining population on
    each background of TEMPLATE_SCENES, rendered as the data pipeline shows frames (short side cfg.size, centre
    crop)."""
    seed = cfg.synthetic_seed + POPULATION_SEED_OFFSET
    avoid = (cfg.synthetic_seed, cfg.synthetic_subjects)
    side = cfg.size
    width = int(round(side * 4 / 3))
    per_part = {p: [] for p in parts}
    for person, scenario in ((p, s) for p in range(1, TEMPLATE_PEOPLE + 1) for s in TEMPLATE_SCENES):
        image, where = person_scene(seed, person, size=(width, side), scenario=scenario, subjects=TEMPLATE_PEOPLE,
                                    avoid=avoid, colour=cfg.synthetic_colour)
        x0 = (width - side) // 2
        crop = normalise(image[:, x0:x0 + side], cfg.mean, cfg.std)
        found = keys_at(keys, crop, [(where[p][0] - x0, where[p][1]) for p in parts])
        for part, key in zip(parts, found):
            per_part[part].append(key)
    return torch.stack([torch.stack(per_part[p]).mean(0) for p in parts])


def file_templates(path, keys: nn.Module, parts, *, mean, std) -> torch.Tensor:
    """(len(parts), D) from a JSON list of clicks {"image", "part", "x", "y"}; several clicks of a part average."""
    path = Path(path)
    try:
        clicks = json.loads(path.read_text())
        per_part = {p: [] for p in parts}
        for i, c in enumerate(clicks):
            if c["part"] not in per_part:
                continue
            image = cv2.imread(str((path.parent / c["image"]) if not Path(c["image"]).is_absolute() else c["image"]))
            if image is None:
                raise ValueError(f"entry {i}: cannot read image {c['image']!r}")
            per_part[c["part"]].append(keys_at(keys, normalise(image[..., ::-1].copy(), mean, std),
                                               [(float(c["x"]), float(c["y"]))])[0])
    except (OSError, KeyError, TypeError, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"SPPA template file {path}: {type(exc).__name__}: {exc}") from None
    missing = [p for p, v in per_part.items() if not v]
    if missing:
        raise ValueError(f"SPPA template file {path} has no click on {missing}")
    return torch.stack([torch.stack(per_part[p]).mean(0) for p in parts])
