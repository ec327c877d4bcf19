"""Synthetic people as silhouettes in Weizmann's masks layout, with the strength of their identity cues as knobs.

Why: every privacy number of the default run is measured on synthetic people whose build and gait cues have
hand-set strengths. Rendered as silhouettes (white on black, no colour, no texture) and written in the layout of
Weizmann's masks file, the same people go through exactly the pipeline, folds and attack suite that real people go
through (`DATASET weizmann`, `DATA_DIR` = the written file), so the two populations' identifiability can be
compared and the cues calibrated (docs/weizmann.md, `docs/studies/calibrate_silhouettes.py`).

The knobs (`Cues`):
  * `spread`: how far apart people are in build and gait -- every value of `synthetic.BODY_RANGES` (height, limb
    and torso width, head size and aspect, cadence, arm swing) pulled towards its range's centre by this factor
    (1: the default population's, 0: everyone built and moving alike);
  * `within`: how much one person varies between videos -- each of those values redrawn per video around the
    person's own, with this standard deviation as a fraction of its range (0: identical in every video);
  * `placement`: "fixed" (every video centred, facing right, one phase per person: the SMOKE file) or "random"
    (per video: where an in-place action stands, which way the person faces and walks, the start of the cycle),
    as people do in the real videos.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_text_atomic
from .synthetic import BODY_RANGES, LOCOMOTION_SPEED, Subject, draw_person, draw_population, pose
from .weizmann import PEOPLE, WEIZMANN_ACTIONS, parse_name

# Which of the renderer's motions stands in for each Weizmann action (it knows KTH's six).
WEIZMANN_MOTION = dict(zip(WEIZMANN_ACTIONS, ("boxing", "handwaving", "jogging", "handclapping", "running", "walking",
                                              "jogging", "walking", "handwaving", "handclapping")))
WHITE = {name: (255.0, 255.0, 255.0) for name in ("shirt", "pants", "skin", "hair")}


@dataclass(frozen=True)
class Cues:
    spread: float = 1.0        # between-person spread of build and gait (1: the default population's)
    within: float = 0.0        # per-video SD of each build/gait value, as a fraction of its range
    placement: str = "fixed"   # fixed | random: per-video position, direction and phase

    def __post_init__(self):
        if not 0.0 <= self.spread <= 1.0:
            raise ValueError(f"Cues.spread must be in [0, 1], got {self.spread}")
        if not 0.0 <= self.within <= 1.0:
            raise ValueError(f"Cues.within must be in [0, 1], got {self.within}")
        if self.placement not in ("fixed", "random"):
            raise ValueError(f"Cues.placement must be fixed or random, got {self.placement!r}")


def shrink(subject: Subject, spread: float) -> Subject:
    """The person with every build and gait value pulled towards its range's centre by `spread` (1: unchanged)."""
    return replace(subject, **{k: (lo + hi) / 2 + spread * (getattr(subject, k) - (lo + hi) / 2)
                               for k, (lo, hi) in BODY_RANGES.items()})


def vary(subject: Subject, within: float, rng) -> Subject:
    """The person as one video shows them: each build and gait value redrawn around theirs with SD `within` x its
    range, kept inside the range."""
    if within == 0:
        return subject
    return replace(subject, **{k: float(np.clip(rng.normal(getattr(subject, k), within * (hi - lo)), lo, hi))
                               for k, (lo, hi) in BODY_RANGES.items()})


def render_silhouette(subject: Subject, motion: str, frames: int, size=(180, 144), *, phase: float, facing: int = 1,
                      x_stand: float | None = None) -> np.ndarray:
    """(H, W, T) uint8 in {0, 1}: `subject` doing the renderer's `motion`, white on black. A moving person crosses
    the frame's centre at mid-video (slowed if the video is too long to cross within 80 % of the width); a person in
    place stands at `x_stand` (default: the centre)."""
    w, h = size
    scale = h / 120.0
    speed = min(LOCOMOTION_SPEED.get(motion, 0.0) * scale, 0.8 * w / max(frames, 1))
    masks = np.zeros((h, w, frames), np.uint8)
    for t in range(frames):
        img = np.zeros((h, w, 3), np.float32)
        x = (w / 2 if x_stand is None else x_stand) + facing * speed * (t - frames / 2)
        draw_person(img, subject, subject.outfits[0], WHITE, pose(motion, t, subject, phase, facing), (x, h * 0.9),
                    scale, facing)
        masks[..., t] = img[..., 0] > 127
    return masks


def silhouette_videos(*, people: int, lengths: dict, seed: int = 0, cues: Cues = Cues(), size=(180, 144)) -> dict:
    """`<person>_<action><take>` -> (H, W, T) uint8 masks for the first `people` of Weizmann's names: a video for
    every name of `lengths` (its value: T) whose person is among them. Deterministic from (seed, cues)."""
    population = [shrink(s, cues.spread) for s in draw_population(seed, people)]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4242]))
    w, _ = size
    out = {}
    for p, name in enumerate(PEOPLE[:people]):
        for video in sorted(v for v in lengths if v.split("_")[0] == name):
            motion = WEIZMANN_MOTION[parse_name(video)[1]]
            subject = vary(population[p], cues.within, rng)
            if cues.placement == "fixed":
                phase, facing, x_stand = 0.3 * p, 1, None
            else:
                phase, facing = float(rng.uniform(0, 2 * np.pi)), int(rng.choice((-1, 1)))
                x_stand = float(rng.uniform(0.3 * w, 0.7 * w))
            out[video] = render_silhouette(subject, motion, int(lengths[video]), size, phase=phase, facing=facing,
                                           x_stand=x_stand)
    return out


def weizmann_names(people: int) -> list:
    """The dataset's video names of its first `people` people: ten actions each, lena's run, skip, walk twice."""
    return [f"{name}_{a}{t}" for name in PEOPLE[:people] for a in WEIZMANN_ACTIONS
            for t in (("1", "2") if name == "lena" and a in ("run", "skip", "walk") else ("",))]


def write_silhouette_masks(root, *, people: int = 9, lengths: dict | int = 16, seed: int = 0, cues: Cues = Cues(),
                           size=(180, 144), log=print) -> Path:
    """classification_masks.mat under `root` in Weizmann's layout (structs `original_masks` and `aligned_masks`,
    H x W x T uint8 in {0, 1}, one field per video) with synthetic people. `lengths`: T for every video, or a mapping
    name -> T (e.g. the real file's, so that clips and folds match it video for video). Written once per parameter
    set (layout.json), atomically. Returns the file's path (the DATA_DIR of a Weizmann run)."""
    from scipy.io import savemat  # only this writer needs it

    root = Path(root)
    out = root / "classification_masks.mat"
    names = weizmann_names(people)
    lengths = {n: lengths for n in names} if isinstance(lengths, int) else \
        {n: int(lengths[n]) for n in names if n in lengths}
    params = {"kind": "weizmann", "people": people, "seed": seed, "size": list(size), "cues": asdict(cues),
              "lengths": lengths}
    stamp = root / "layout.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == params and out.is_file():
        return out
    fields = silhouette_videos(people=people, lengths=lengths, seed=seed, cues=cues, size=size)
    w, h = size
    aligned = {k: v[h // 8:h - h // 8, w // 4:w - w // 4] for k, v in fields.items()}
    root.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, suffix=".mat") as tmp:
        savemat(tmp, {"original_masks": fields, "aligned_masks": aligned}, do_compression=True)
    write_text_atomic(stamp, json.dumps(params))
    if log:
        log(f"[layout] Weizmann-format masks of {len(fields)} videos of {people} synthetic people ({cues}) written "
            f"to {out}")
    return out
