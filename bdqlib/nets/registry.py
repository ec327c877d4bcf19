"""The network registry, after timm's `register_model` / `create_model`: one entry per architecture.

    create_network("resnet50", 25, weights="pretrained")   # ImageNet weights, a 25-class head
    network("small3d").level                                # "clip": (B, C, T, H, W) -> (B, K)

A `Network` says what the harness needs of an architecture: its level ("clip" for a 3-D network on a clip, "frame"
for a 2-D one applied to every frame), its default width, where its pretrained weights come from (a URL with the
digest its file name carries, or bdqlib.train.pretrain for the cpu profile's small networks, or none) and how it
is built -- from random initialisation, or from a loaded state dict -- with a `num_classes` head. The small
networks register themselves (bdqlib.nets.small, bdqlib.nets.families); any torchvision classifier (image or video)
and any model of pytorchvideo's hub is registered the first time it is named.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from torch import nn

from .weights import PretrainedWeightsUnavailable, load_checkpoint


@dataclass(frozen=True)
class Network:
    name: str
    level: str                        # "clip" | "frame"
    build: Callable                   # build(num_classes, width, state) -> nn.Module; state None: random init
    width: int | None = None          # default width (None: the architecture has no width parameter)
    width_field: str | None = None    # the config field that sets its width (small3d: action_width)
    url: str | None = None            # pretrained weights to download
    trained_on: str = ""              # what those weights were trained on
    pretrained_here: bool = False     # its pretrained weights are made by bdqlib.train.pretrain (the cpu profile's)
    cpu_bf16: bool = True             # faster under bf16 autocast on a CPU that has it (amp "auto" uses it there;
                                      # bench/bench_precision.py measures each network)

    def __post_init__(self):
        if self.level not in ("clip", "frame"):
            raise ValueError(f"network {self.name}: level must be 'clip' or 'frame', got {self.level!r}")


NETWORKS: dict = {}


def register_network(net: Network) -> Network:
    if net.name in NETWORKS:
        raise ValueError(f"network {net.name!r} is registered twice")
    NETWORKS[net.name] = net
    return net


def network(name: str) -> Network:
    """The registered network `name`; a torchvision classifier or pytorchvideo hub model is registered on first
    use. An unknown name is an error naming what is known."""
    if name not in NETWORKS:
        found = _from_libraries(name)
        if found is None:
            raise ValueError(f"unknown network {name!r}; registered: {', '.join(sorted(NETWORKS))}, or any "
                             f"torchvision classifier (image or video) or pytorchvideo hub model by name")
        register_network(found)
    return NETWORKS[name]


def is_network(name: str) -> bool:
    try:
        network(name)
        return True
    except ValueError:
        return False


def create_network(name: str, num_classes: int, *, weights="none", width: int | None = None,
                   sha256: str | None = None) -> nn.Module:
    """`name` with a `num_classes` head. weights: "none" (random init), "pretrained" (its known weights, looked up
    in $BDQ_WEIGHTS_DIR or downloaded: bdqlib.nets.weights) or a file path (optionally checked against `sha256`)."""
    net = network(name)
    state = None
    if weights != "none":
        if weights == "pretrained" and net.url is None:
            how = ("pretrain it with bdqlib.train.pretrain.pretrain_small_models (notebook 02 does) and pass the file"
                   if net.pretrained_here else f"use it from random initialisation ('{name}@scratch')")
            raise PretrainedWeightsUnavailable(f"{name} has no downloadable weights: {how}, or choose weights='none'")
        state = load_checkpoint(name, weights, sha256, url=net.url, source=net.trained_on)
    return net.build(num_classes, width if width is not None else net.width, state)


# --------------------------------------------------------------------------- how families of architectures build
def replace_last_linear(model: nn.Module, num_classes: int) -> nn.Module:
    """Give a classifier a new `num_classes` head: its last nn.Linear, wherever the architecture keeps it."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    return set_last_linear(model, nn.Linear(last.in_features, num_classes))


def set_last_linear(model: nn.Module, module: nn.Module) -> nn.Module:
    """Put `module` in place of a network's last nn.Linear (a new head, or nn.Identity for features)."""
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
    setattr(parent, name.rpartition(".")[2], module)
    return model


def sequential_builder(fn) -> Callable:
    """build() of a small nn.Sequential network `fn(num_classes, width)` whose last layer is its head: a loaded
    state keeps its own head size, then gets a new one."""
    def build(num_classes, width, state):
        if state is None:
            return fn(num_classes, width)
        head = max(int(k.split(".")[0]) for k in state if k.split(".")[0].isdigit())  # the last layer's index
        model = fn(state[f"{head}.weight"].shape[0], width)
        model.load_state_dict(state)
        model[-1] = nn.Linear(model[-1].in_features, num_classes)
        return model
    return build


def scratch_builder(fn, name: str) -> Callable:
    """build() of a network with no pretrained weights."""
    def build(num_classes, width, state):
        if state is not None:
            raise PretrainedWeightsUnavailable(f"{name} has no pretrained weights: use it from random initialisation "
                                               f"('{name}@scratch')")
        return fn(num_classes, width)
    return build


def _torchvision_builder(name: str) -> Callable:
    def build(num_classes, width, state):
        import torchvision.models as tvm
        model = tvm.get_model(name, weights=None)
        if state is not None:
            model.load_state_dict(state)
        return replace_last_linear(model, num_classes)
    return build


def _pytorchvideo_builder(hub, name: str) -> Callable:
    def build(num_classes, width, state):
        model = getattr(hub, name)(pretrained=False)
        if state is not None:
            model.load_state_dict(state)
        head = model.blocks[-1]
        for parent in [head, *head.modules()]:  # the hub heads pool a fixed window (e.g. 4x7x7: 8 frames, 224 px)
            for child, module in list(parent.named_children()):
                if isinstance(module, nn.AvgPool3d):
                    setattr(parent, child, nn.AdaptiveAvgPool3d(1))
        return replace_last_linear(model, num_classes)
    return build


def _from_libraries(name: str) -> Network | None:
    """A Network for a pytorchvideo hub model (i3d_r50, x3d_m, slow_r50, csn_r101, r2plus1d_r50: Kinetics-400) or a
    torchvision classifier (video: r3d_18, mc3_18, ...; image: resnet50, mobilenet_v3_large, vit_b_16, ...)."""
    for module in ("resnet", "x3d", "csn", "r2plus1d"):
        hub = importlib.import_module(f"pytorchvideo.models.hub.{module}")
        if name in getattr(hub, "checkpoint_paths", {}) and not name.endswith("_detection"):
            return Network(name, "clip", _pytorchvideo_builder(hub, name), url=hub.checkpoint_paths[name],
                           trained_on="Kinetics-400")
    import torchvision.models as tvm
    import torchvision.models.video as tvv
    for module, level, source in ((tvv, "clip", "Kinetics-400"), (tvm, "frame", "ImageNet-1k")):
        if name in tvm.list_models(module=module):
            return Network(name, level, _torchvision_builder(name), url=tvm.get_model_weights(name).DEFAULT.url,
                           trained_on=source)
    return None
