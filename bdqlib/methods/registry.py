"""The method registry: every privacy method is one module of bdqlib.methods that registers itself here.

A `Method` says everything the harness needs to know about a method, so that nothing else ever compares its name:
  * its name in results.csv -- or a family of names with one parameter (`pattern`: "elr28" is ELR at 28 px, "dvs_0.4"
    the event camera at contrast threshold 0.4);
  * `build(run, alpha, arg)`: the frozen encoder of a run's results.csv row (trained ones are read from the run
    folder);
  * `fit(run, data, alpha, arg, log)`: what trains it before it can be built (None for a fixed encoder); the game's
    methods (BDQ, the hardened game, ALF) also give `game(cfg, alpha)`, the config of their adversarial game, and
    `make_encoder(cfg)`, the encoder that game starts from;
  * its `family` (legends, colours, markers), `strength` (marker size), `trained_in` (the notebook that fits it);
  * `same_as`: an encoder that is another row's encoder (B+D+Q is BDQ itself; a 1-px pixelation is the raw video),
    whose rows are then copied rather than computed twice;
  * `panels`: extra images a figure shows beside its output (SPPA's saliency).
`run` is the run folder's object (bdqlib.experiments.run.Run): methods use its `cfg`, `run_dir`, `budget()` and
`adversarial_dir(alpha, method)`, and never import it (imports point one way: experiments use methods).

Adding a method: one module here that calls `register`, imported in bdqlib/methods/__init__.py; its profile defaults
in bdqlib/config.py (RUN_DEFAULTS); a test; a page in docs/methods.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Method:
    name: str                                  # results.csv's method, or the prefix of a family of names
    family: str                                # legend group in the figures
    description: str                           # one line: what it is (tables, docs)
    build: Callable                            # build(run, alpha, arg) -> the frozen encoder
    colour: str = ""                           # its family's colour in the figures (matplotlib name; "": a default)
    fit: Callable | None = None                # fit(run, data, alpha, arg, log): trains what build reads
    game: Callable | None = None               # game(cfg, alpha) -> the config of its adversarial game
    make_encoder: Callable | None = None       # make_encoder(cfg) -> the encoder its game starts from
    pattern: str | None = None                 # regex of the family's names, one group: the parameter
    parse: Callable = str                      # the parameter's type (int, float, str)
    takes_alpha: bool = False                  # its rows carry an alpha (the game's weight)
    trained_in: str = ""                       # the notebook that fits it ("" for fixed encoders)
    strength: Callable = lambda arg, alpha: 1.0  # a degradation rank for marker sizes
    same_as: Callable | None = None            # same_as(cfg, alpha, arg) -> (method, alpha) whose encoder this is
    panels: Callable | None = None             # panels(encoder, clip, frame) -> [(title, (H, W) image)]
    crops: tuple = ("square", "frame")         # the run crops (Config.crop) its encoder is defined on

    def __post_init__(self):
        if self.pattern is not None and re.compile(self.pattern).groups != 1:
            raise ValueError(f"method {self.name}: pattern {self.pattern!r} needs exactly one group (the parameter)")


REGISTRY: dict = {}


def register(method: Method) -> Method:
    """Add a method (a module of bdqlib.methods calls this once, at import)."""
    if method.name in REGISTRY:
        raise ValueError(f"method {method.name!r} is registered twice")
    REGISTRY[method.name] = method
    return method


def check_crop(method: Method, cfg, name: str = "") -> None:
    """Refuse a method whose encoder is not defined on the run's crop (SPPA's templates and RAPrivacy's style
    pictures are S x S), before anything is trained or written."""
    if cfg.crop not in method.crops:
        raise ValueError(f"method {name or method.name!r} needs crop {' or '.join(method.crops)}, and this run has "
                         f"crop={cfg.crop!r} (CROP): run it in a run folder with CROP square")


def resolve(name: str) -> tuple:
    """(Method, parameter) of a results.csv method name: an exact name (parameter None), else the family whose
    pattern matches the whole name ("elr28" -> (ELR, 28)). An unknown name is an error naming every method."""
    if name in REGISTRY and REGISTRY[name].pattern is None:
        return REGISTRY[name], None
    for method in REGISTRY.values():
        if method.pattern is not None:
            m = re.fullmatch(method.pattern, name)
            if m:
                return method, method.parse(m.group(1))
    raise ValueError(f"unknown method {name!r}; known: {', '.join(known())}")


def known() -> list:
    """Every registered name; a family as its names (`blur_weak`, `blur_strong`) or its pattern (`elr<int>`)."""
    out = []
    for m in REGISTRY.values():
        if m.pattern is None:
            out.append(m.name)
            continue
        head, group, tail = re.match(r"(.*?)\((.*)\)(.*)", m.pattern).groups()
        if "|" in group:  # alternatives: list them
            out += [head + g.replace("\\", "") + tail for g in group.split("|")]
        else:
            out.append(f"{head}<{m.parse.__name__}>{tail}")
    return out


def is_method(name: str) -> bool:
    try:
        resolve(name)
        return True
    except ValueError:
        return False


def family(name: str) -> str:
    return resolve(name)[0].family


def colour(family_name: str) -> str:
    """The colour of a family: the first of its methods that names one, else one of matplotlib's tab10 by name."""
    for m in REGISTRY.values():
        if m.family == family_name and m.colour:
            return m.colour
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray",
               "tab:olive", "tab:cyan"]
    return palette[sum(map(ord, family_name)) % len(palette)]


class _ConfigOnly:
    """What a fixed encoder's build reads of a run: its config."""

    def __init__(self, cfg):
        self.cfg = cfg


def build_fixed(name: str, cfg, alpha=None):
    """The encoder of a method that needs no training, from a config alone (the naive baselines, ELR, the event
    camera, SPPA, masking, raw); a trained method is an error saying where it is trained."""
    method, arg = resolve(name)
    if method.fit is not None:
        raise ValueError(f"{name} is trained ({method.trained_in}): build it from a run (bdqlib.experiments.pipeline."
                         f"encoder_of)")
    check_crop(method, cfg, name)
    return method.build(_ConfigOnly(cfg), alpha, arg)


def games() -> list:
    """The names of the methods trained in the adversarial game."""
    return [m.name for m in REGISTRY.values() if m.game is not None]
