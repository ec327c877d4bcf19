"""Single synthetic frames with known geometry, for the methods that need pictures rather than videos.

* `person_scene` -- one person of a population in a known pose on an outdoor background, and the pixel position
  of each body part: SPPA's template library on the cpu profile (templates are "clicked" at these points).
* `depth_scene` / `depth_styles` -- depth maps of posed people (near = bright, a floor that comes closer towards
  the bottom of the frame, a far wall): RAPrivacy's style images on the cpu profile (the paper draws them from
  SBU's depth frames, which bdqlib.data.sbu's layout also holds).

Both draw with the synthetic renderer (bdqlib.data.synthetic), so a population's people look as in its videos.
Callers pass the *pretraining* population (another seed, sharing nobody with the evaluated people), so neither
templates nor styles show anyone who is evaluated.
"""
from __future__ import annotations

import numpy as np

from .kth import ACTIONS
from .synthetic import Garment, Outfit, background, draw_person, make_subject, pose, to_grey

PARTS = ("head", "hair", "torso", "arm", "hand", "leg")  # what a template can be clicked on
_PLAIN = Garment("plain", 0.0, 5.0, 0.0)


def _layout(subj, p, origin, scale, facing):
    """Pixel (x, y) of each body part of a posed person (the same geometry as draw_person)."""
    def at(q):
        return (origin[0] + q[0] * scale, origin[1] + q[1] * scale)

    r = subj.head * scale
    head = at((p["neck"][0] + (0 if p["front"] else facing * 1.0), p["neck"][1] - subj.head * 1.15))
    hip, neck = at(p["hip"]), at(p["neck"])
    shoulder, elbow, hand = (at(q) for q in p["arms"][0])
    thigh, knee, _ = (at(q) for q in p["legs"][0])
    return {"head": head, "hair": (head[0], head[1] - 0.7 * r), "torso": ((hip[0] + neck[0]) / 2, (hip[1] + neck[1]) / 2),
            "arm": ((shoulder[0] + elbow[0]) / 2, (shoulder[1] + elbow[1]) / 2), "hand": hand,
            "leg": ((thigh[0] + knee[0]) / 2, (thigh[1] + knee[1]) / 2)}


def person_scene(seed: int, person: int, *, size=(160, 120), action: str = "handwaving", t: int = 0,
                 scenario: str = "d1", subjects: int | None = None, avoid: tuple | None = None, colour: bool = False):
    """(image (H, W, 3) uint8 RGB, {part: (x, y) px}) of person `person` of population `seed`, centred, feet on
    the ground line, in the first outfit, on the background of `scenario` (d1 outdoor, d4 indoor); in grey unless
    `colour`, as the population's videos (bdqlib.data.synthetic.render_video)."""
    w, h = size
    k = w / 160.0
    subj = make_subject(seed, person, subjects=subjects, avoid=avoid)
    outfit = subj.outfits[0]
    rng = np.random.default_rng(np.random.SeedSequence([seed, person, 4242]))
    ground = int(round(112 * k))
    img = background(rng, scenario, h, w, ground)
    colours = {"shirt": outfit.shirt_colour, "pants": outfit.pants_colour, "skin": subj.skin, "hair": subj.hair}
    p = pose(action, t, subj, 0.0, 1)
    origin = (w / 2, ground)
    draw_person(img, subj, outfit, colours, p, origin, k, 1)
    return np.clip(img if colour else to_grey(img), 0, 255).astype(np.uint8), _layout(subj, p, origin, k, 1)


def depth_scene(seed: int, person: int, *, size=(160, 120), action: str = "walking", t: int = 0, x: float = 0.5,
                depth: float = 0.5, subjects: int | None = None, avoid: tuple | None = None) -> np.ndarray:
    """(H, W, 3) uint8 depth map of a posed person at horizontal position `x` (0..1 of the width) and distance
    `depth` (0 near .. 1 far): grey = nearness, as a depth camera's frames are usually shown."""
    w, h = size
    k = w / 160.0
    subj = make_subject(seed, person, subjects=subjects, avoid=avoid)
    ground = int(round((100 + 14 * (1 - depth)) * k))
    y = np.arange(h, dtype=np.float32)[:, None]
    wall = 55.0
    floor = wall + 95.0 * ((y - ground * 0.75) / max(h - ground * 0.75, 1)).clip(0, 1)  # the floor comes closer
    img = np.repeat(np.broadcast_to(np.maximum(wall, floor), (h, w))[..., None], 3, -1).astype(np.float32)
    grey = float(235 - 110 * depth)
    colours = {name: (grey, grey, grey) for name in ("shirt", "pants", "skin", "hair")}
    outfit = Outfit(_PLAIN, _PLAIN, colours["shirt"], colours["pants"])
    scale = k * (1.15 - 0.4 * depth)
    draw_person(img, subj, outfit, colours, pose(action, t, subj, 0.0, 1), (x * w, ground), scale, 1)
    return np.clip(img, 0, 255).astype(np.uint8)


def depth_styles(seed: int, subjects: int, count: int, *, size=(160, 120), avoid: tuple | None = None) -> np.ndarray:
    """(count, H, W, 3) uint8 depth maps of the population's people in varied actions, poses, places and depths
    (deterministic from `seed`)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31337]))
    out = np.empty((count, size[1], size[0], 3), np.uint8)
    for i in range(count):
        out[i] = depth_scene(seed, int(rng.integers(1, subjects + 1)), size=size,
                             action=ACTIONS[int(rng.integers(len(ACTIONS)))], t=int(rng.integers(0, 50)),
                             x=float(rng.uniform(0.3, 0.7)), depth=float(rng.uniform(0.1, 0.9)), subjects=subjects,
                             avoid=avoid)
    return out
