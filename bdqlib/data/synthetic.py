"""A synthetic dataset in KTH's exact on-disk format: the embedded default, needing no download.

`make_kth_like(root)` writes `personNN_<action>_dK_uncomp.avi` (160x120, 25 fps, MPEG-4 in AVI, as KTH is
distributed) and a `00sequences.txt` in the official layout (CRLF, tab-separated, four `start-end` segments per
video), so the very same KTH code path reads it.

What the synthetic people can and cannot show:
* Identity (the privacy label) is carried by a mix of cues at the strengths they have in real footage, none of
  them chosen for what BDQ does or does not remove: clothing (plain, striped or checked garments with several
  pattern periods and contrasts, colours from dark to light), hair colour and length, skin tone, body height and
  proportions (limb, torso and head size), and gait (cadence and arm swing). Each person has two outfits: d3 is
  "different clothes", as in KTH, so clothes alone cannot carry identity across scenarios.
* Action (the target) needs time: walking, jogging and running differ in speed and cadence; boxing, handclapping
  and handwaving in limb trajectories.
* Scenarios follow KTH: d1 outdoor, d2 outdoor with the camera zooming (scale variation), d3 outdoor in the
  second outfit, d4 indoor (dark walls). Backgrounds, lighting and sensor noise depend on the video, never on
  the subject.
* It cannot show how BDQ fares on real faces, hair texture or real backgrounds: the people are rendered stick
  figures with textured garments at KTH's 160x120. Whether BDQ removes their identity is an outcome to measure.

A population can be drawn so that it shares no outfit, hair or body with another (`avoid=`): the cpu profile's
pretraining population (our stand-in for ImageNet/Kinetics) avoids the evaluated one.

Everything is drawn from `numpy.random.SeedSequence([seed, ...])`, so the same arguments give the same files.
"""
from __future__ import annotations

import colorsys
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_path
from .kth import ACTIONS, SCENARIOS
from .video import write_video

FPS = 25
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601: grey = this mix of R, G, B
LOCOMOTION_SPEED = {"walking": 1.6, "jogging": 2.6, "running": 3.6}  # px/frame at 160x120


@dataclass(frozen=True)
class Garment:
    pattern: str       # plain | stripes | checker
    angle: float       # pattern orientation, degrees
    period: float      # pattern period, px at 160x120 and scale 1
    contrast: float    # pattern amplitude (+-), grey levels (0 for plain)


@dataclass(frozen=True)
class Outfit:
    shirt: Garment     # torso and sleeves
    pants: Garment
    shirt_colour: tuple  # RGB before the video's lighting
    pants_colour: tuple

    def signature(self) -> tuple:
        """What makes two outfits "the same outfit": patterns, periods, angles and colour classes."""
        def garment(g, colour):
            hue, _, value = colorsys.rgb_to_hsv(*(c / 255 for c in colour))
            return (g.pattern, g.period, g.angle if g.pattern != "plain" else 0, int(value * 5), int(hue * 6))
        return garment(self.shirt, self.shirt_colour) + garment(self.pants, self.pants_colour)


@dataclass(frozen=True)
class Subject:
    height: float      # px, feet to top of head, at scale 1
    limb: float        # limb thickness, px
    torso: float       # torso width seen from the side, px
    head: float        # head radius, px
    head_aspect: float
    cadence: float     # multiplies every action's frequency
    swing: float       # multiplies arm amplitudes
    skin: tuple        # RGB
    hair: tuple        # RGB
    hair_length: float  # 0 = cropped (cap on the crown) .. 1 = down to the shoulders
    outfits: tuple     # (regular, different clothes for d3)

    def body(self) -> np.ndarray:
        """Build and gait, each scaled to [0, 1] over its range (for "the same body" comparisons)."""
        values = [getattr(self, k) for k in BODY_RANGES]
        return np.array([(v - lo) / (hi - lo) for v, (lo, hi) in zip(values, BODY_RANGES.values())])


# Ranges of build and gait, px at 160x120 (KTH's people are ~75-100 px tall there).
BODY_RANGES = {"height": (80.0, 104.0), "limb": (4.5, 7.5), "torso": (13.0, 21.0), "head": (6.5, 8.8),
               "head_aspect": (0.9, 1.15), "cadence": (0.8, 1.2), "swing": (0.6, 1.3)}
PATTERNS = ("plain", "stripes", "checker")
PERIODS = (5.0, 7.0, 9.5, 13.0)       # px at 160x120 (2-5.5 px at the cpu profile's 64x48)
CONTRASTS = (12.0, 22.0, 35.0)        # grey levels
ANGLES = (0.0, 45.0, 90.0, 135.0)
# "The same" across populations: outfits with one signature, hair within this RGB distance, bodies within this
# distance in the [0, 1]-scaled build-and-gait space.
HAIR_MIN_DISTANCE = 30.0
BODY_MIN_DISTANCE = 0.25


def _colour(rng, hue=None, value=(45, 215), saturation=(0.05, 0.35)):
    """An RGB colour (ints) of the given value (0-255) and saturation ranges; hue uniform unless given."""
    h = rng.uniform(0, 1) if hue is None else hue % 1.0
    rgb = colorsys.hsv_to_rgb(h, rng.uniform(*saturation), rng.uniform(*value) / 255)
    return tuple(int(round(c * 255)) for c in rgb)


def _garment(rng) -> Garment:
    pattern = PATTERNS[int(rng.choice(3, p=(0.4, 0.35, 0.25)))]  # plain clothes are the most common
    if pattern == "plain":
        return Garment("plain", 0.0, PERIODS[0], 0.0)
    return Garment(pattern, float(rng.choice(ANGLES)), float(rng.choice(PERIODS)), float(rng.choice(CONTRASTS)))


def _outfit(rng) -> Outfit:
    return Outfit(_garment(rng), _garment(rng), _colour(rng), _colour(rng, value=(35, 190)))


def _hair(rng) -> tuple:
    """Natural hair colours: black, browns, auburn, blond, grey."""
    kind = rng.integers(5)
    if kind == 4:  # grey / white
        v = rng.uniform(120, 215)
        return tuple(int(v + rng.uniform(-6, 6)) for _ in range(3))
    hue = rng.uniform(0.02, 0.12)
    value = {0: (20, 50), 1: (50, 95), 2: (80, 130), 3: (140, 210)}[int(kind)]
    return _colour(rng, hue, value, (0.3, 0.75))


def _candidate(rng) -> Subject:
    body = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in BODY_RANGES.items()}
    return Subject(**body, skin=_colour(rng, rng.uniform(0.02, 0.1), (90, 215), (0.2, 0.55)), hair=_hair(rng),
                   hair_length=float(rng.uniform(0, 1)), outfits=(_outfit(rng), _outfit(rng)))


def _clashes(cand: Subject, others, signatures: set) -> bool:
    if any(o.signature() in signatures for o in cand.outfits) or cand.outfits[0].signature() == cand.outfits[1].signature():
        return True
    for o in others:
        if np.linalg.norm(np.subtract(cand.hair, o.hair)) < HAIR_MIN_DISTANCE:
            return True
        if np.linalg.norm(cand.body() - o.body()) < BODY_MIN_DISTANCE:
            return True
    return False


def draw_population(seed: int, subjects: int, *, avoid: tuple | None = None) -> list:
    """The `subjects` people of a population (person p is element p-1), deterministic from `seed`.

    Within a population no two outfits are the same (see `Outfit.signature`). avoid=(seed, subjects) names
    another population to share nothing with: no outfit, no hair colour within HAIR_MIN_DISTANCE, no body within
    BODY_MIN_DISTANCE of any of its people.
    """
    others = draw_population(*avoid) if avoid else []
    signatures = {o.signature() for s in others for o in s.outfits}
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7919]))
    people = []
    for _ in range(subjects):
        for _attempt in range(10_000):
            cand = _candidate(rng)
            if not _clashes(cand, others, signatures):
                break
        else:
            raise RuntimeError(f"could not draw {subjects} people that share nothing with population {avoid}")
        people.append(cand)
        signatures.update(o.signature() for o in cand.outfits)
    return people


def make_subject(seed: int, person: int, *, subjects: int | None = None, avoid: tuple | None = None) -> Subject:
    """Person `person` (1-based) of the population drawn by `draw_population(seed, subjects, avoid=avoid)`."""
    return draw_population(seed, subjects or person, avoid=avoid)[person - 1]


# ----------------------------------------------------------------------------------------------- backgrounds
def _smooth_noise(rng, h, w, sigma, amplitude):
    field = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
    return field / (field.std() + 1e-6) * amplitude


def background(rng, scenario: str, h: int, w: int, ground: int) -> np.ndarray:
    """(h, w, 3) float32 background of a video: outdoor for d1-d3, indoor for d4."""
    y = np.arange(h, dtype=np.float32)[:, None, None]
    if scenario == "d4":
        base = np.array([32, 30, 28], np.float32) + rng.uniform(-4, 4, 3)
        img = np.broadcast_to(base, (h, w, 3)).copy()
        for _ in range(3):  # door frames, cupboards: static edges
            # max(1, .): frames smaller than KTH's (a test's 24 px) still draw; the same draws at every usual size
            x0, y0 = int(rng.integers(0, max(1, w - 30))), int(rng.integers(0, max(1, ground - 40)))
            img[y0:y0 + int(rng.integers(25, 50)), x0:x0 + int(rng.integers(12, 35))] += rng.uniform(-10, 10)
        img[ground:] -= 8
    else:
        base = np.array([176, 178, 172], np.float32) + rng.uniform(-4, 4, 3)
        img = base + (1 - y / ground).clip(0, 1) * 14  # brighter sky
        img[ground:] -= 18  # ground
        img = img + (y >= ground - 25) * _smooth_noise(rng, h, w, 3.0, 5.0)[..., None]  # grass/bushes texture
    return img + _smooth_noise(rng, h, w, 9.0, 5.0)[..., None]


# ----------------------------------------------------------------------------------------------- poses
def _polar(origin, length, angle, facing):
    """Point at `length` from `origin`, `angle` from straight down (positive = towards `facing`)."""
    return origin[0] + facing * length * math.sin(angle), origin[1] + length * math.cos(angle)


def pose(action: str, t: float, subj: Subject, phase0: float, facing: int):
    """Joint positions relative to the feet midpoint (x right, y down), in px at scale 1, and a view flag."""
    s = subj.height / 72.0
    leg, torso_len, upper, fore = 34 * s, 21 * s, 12 * s, 11.5 * s
    f = {"walking": 0.9, "jogging": 1.3, "running": 1.65, "boxing": 1.4, "handclapping": 2.0,
         "handwaving": 1.0}[action] * subj.cadence
    phi = 2 * math.pi * f * t / FPS + phase0
    sw = subj.swing
    if action in LOCOMOTION_SPEED:
        amp_leg = {"walking": 0.42, "jogging": 0.6, "running": 0.75}[action]
        bend = {"walking": 0.35, "jogging": 1.2, "running": 1.5}[action]
        lean = {"walking": 0.0, "jogging": 0.08, "running": 0.2}[action]
        bounce = {"walking": 1.0, "jogging": 2.0, "running": 3.0}[action] * abs(math.cos(phi))
        hip = (0.0, -leg - bounce)
        neck = _polar(hip, torso_len, math.pi - lean, facing)
        legs, arms = [], []
        for side in (0, 1):
            a = amp_leg * math.sin(phi + side * math.pi)
            knee = _polar(hip, leg / 2, a, facing)
            shin = a - 0.9 * max(0.0, -math.sin(phi + side * math.pi + 0.6)) - 0.1
            legs.append((hip, knee, _polar(knee, leg / 2, shin, facing)))
            aa = -0.8 * amp_leg * sw * math.sin(phi + side * math.pi)
            elbow = _polar(neck, upper, aa, facing)
            arms.append((neck, elbow, _polar(elbow, fore, aa + bend, facing)))
        return {"hip": hip, "neck": neck, "legs": legs, "arms": arms, "front": False}
    # Standing people are never still: the upper body sways and bobs, so it shows in frame differences too.
    sway = 2.5 * s * math.sin(0.5 * phi + 1.0)
    hip = (sway, -leg - (0.6 + 0.6 * (action == "boxing")) * s * math.sin(2 * phi))
    if action == "boxing":
        neck = _polar(hip, torso_len, math.pi - 0.1, facing)
        legs = [(hip, _polar(hip, leg / 2, d, facing), _polar(_polar(hip, leg / 2, d, facing), leg / 2, d, facing))
                for d in (0.18, -0.18)]
        arms = []
        for side in (0, 1):
            p = max(0.0, math.sin(phi + side * math.pi)) ** 2  # 0 = guard, 1 = fully extended punch
            ua = (1.0 + 0.55 * p) * min(1.0, sw)
            elbow = _polar(neck, upper, ua, facing)
            arms.append((neck, elbow, _polar(elbow, fore, ua + 2.3 * (1 - p), facing)))
        return {"hip": hip, "neck": neck, "legs": legs, "arms": arms, "front": False}
    # facing the camera: handclapping and handwaving
    neck = (sway, hip[1] - torso_len)
    half_hip = 3.5 * s
    legs = [((sway + sx * half_hip, hip[1]), (sway / 2 + sx * half_hip * 1.3, hip[1] + leg / 2),
             (sx * half_hip * 1.6, 0.0)) for sx in (-1, 1)]
    shoulder_dx = 7.0 * s
    arms = []
    for sx in (-1, 1):
        sh = (neck[0] + sx * shoulder_dx, neck[1] + 2 * s)
        if action == "handclapping":
            open_ = 0.5 * (1 + math.cos(phi))  # 1 = hands apart, 0 = clap
            hand = (sway + sx * (1.0 + 13.0 * open_ * sw) * s, neck[1] + 9 * s)
            elbow = (sh[0] + sx * 5 * s, (sh[1] + hand[1]) / 2 + 4 * s)
        else:
            ang = 2.45 + 0.5 * sw * math.sin(phi)  # from straight down, outwards; > pi/2 is above the shoulder
            elbow = (sh[0] + sx * upper * math.sin(ang), sh[1] + upper * math.cos(ang))
            hand = (elbow[0] + sx * fore * math.sin(ang + 0.3), elbow[1] + fore * math.cos(ang + 0.3))
        arms.append((sh, elbow, hand))
    return {"hip": hip, "neck": neck, "legs": legs, "arms": arms, "front": True}


# ----------------------------------------------------------------------------------------------- drawing
_SHIFT = 4  # cv2 fixed-point bits for sub-pixel drawing


def _pt(p):
    return (int(round(p[0] * (1 << _SHIFT))), int(round(p[1] * (1 << _SHIFT))))


def _line(img, a, b, colour, width):
    cv2.line(img, _pt(a), _pt(b), colour, max(1, int(round(width))), cv2.LINE_AA, _SHIFT)


def _texture(g: Garment, u, v, scale):
    """The garment's pattern (+-1) at body-attached coordinates (u, v)."""
    th = math.radians(g.angle)
    a = 2 * np.pi * (u * math.cos(th) + v * math.sin(th)) / (g.period * scale)
    if g.pattern == "checker":
        b = 2 * np.pi * (-u * math.sin(th) + v * math.cos(th)) / (g.period * scale)
        return np.sign(np.sin(a) * np.sin(b))
    return np.sign(np.sin(a))


def draw_person(img, subj: Subject, outfit: Outfit, colours: dict, p: dict, origin, scale: float, facing: int):
    """Draw the posed figure onto float32 image `img` (in place); `origin` = feet midpoint in image px.

    `colours` holds the RGB of "shirt", "pants", "skin" and "hair" in this video (the person's, under its light).

    Each garment is rasterised as one anti-aliased mask over the figure's bounding box and filled with its colour
    and pattern in coordinates attached to the hip, so the texture moves with the body (as real clothing does)
    and shows inside frame differences, not only at the silhouette.
    """
    def at(q):
        return (origin[0] + q[0] * scale, origin[1] + q[1] * scale)

    limb = subj.limb * scale
    hip, neck = at(p["hip"]), at(p["neck"])
    legs = [[at(q) for q in leg] for leg in p["legs"]]
    arms = [[at(q) for q in arm] for arm in p["arms"]]
    r = subj.head * scale
    head = at((p["neck"][0] + (0 if p["front"] else facing * 1.0), p["neck"][1] - subj.head * 1.15))
    pts = np.array([hip, neck, head] + [q for limb_ in legs + arms for q in limb_])
    h, w = img.shape[:2]
    pad = 3 * limb + r
    x0, y0 = (np.floor(pts.min(0) - pad).astype(int)).clip(0)
    x1, y1 = np.minimum(np.ceil(pts.max(0) + pad).astype(int), [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    off = np.array([x0, y0], np.float64)

    def lp(q):  # local fixed-point point
        return (int(round((q[0] - x0) * (1 << _SHIFT))), int(round((q[1] - y0) * (1 << _SHIFT))))

    def seg(mask, a, b, width):
        cv2.line(mask, lp(a), lp(b), 255, max(1, int(round(width))), cv2.LINE_AA, _SHIFT)

    shape = (y1 - y0, x1 - x0)
    pants_m, shirt_m = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    for hp, knee, foot in legs:
        seg(pants_m, hp, knee, limb * 1.15)
        seg(pants_m, knee, foot, limb)
    for sh, elbow, hand in arms:
        seg(shirt_m, sh, elbow, limb * 0.9)
        seg(shirt_m, elbow, hand, limb * 0.8)
    # torso: a quadrilateral from hip to neck
    width = subj.torso * scale * (1.45 if p["front"] else 1.0)
    axis = np.array([neck[0] - hip[0], neck[1] - hip[1]])
    length = float(np.hypot(*axis)) + 1e-6
    normal = np.array([-axis[1], axis[0]]) / length * width / 2
    quad = np.array([np.array(hip) + normal, np.array(hip) - normal, np.array(neck) - normal * 1.1,
                     np.array(neck) + normal * 1.1]) - off
    cv2.fillConvexPoly(shirt_m, np.round(quad * (1 << _SHIFT)).astype(np.int32), 255, cv2.LINE_AA, _SHIFT)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u, v = xx - hip[0], yy - hip[1]
    region = img[y0:y1, x0:x1]

    def paint(mask, g: Garment, colour):
        alpha = (mask.astype(np.float32) / 255)[..., None]
        fill = np.array(colour, np.float32) + (_texture(g, u, v, scale) * g.contrast)[..., None]
        region[...] = region * (1 - alpha) + fill * alpha

    paint(pants_m, outfit.pants, colours["pants"])
    paint(shirt_m, outfit.shirt, colours["shirt"])
    for hp, knee, foot in legs:  # shoes
        _line(img, foot, (foot[0] + facing * (0 if p["front"] else 3 * scale), foot[1]), (66, 62, 58), limb * 0.8)
    for sh, elbow, hand in arms:
        cv2.circle(img, _pt(hand), int(round(limb * 0.55 * (1 << _SHIFT))), colours["skin"], -1, cv2.LINE_AA, _SHIFT)
    axes = (int(round(r * (1 << _SHIFT))), int(round(r * subj.head_aspect * (1 << _SHIFT))))
    length = subj.hair_length
    if length > 0.4:  # long hair falls behind the head towards the shoulders
        back = (head[0] - (0 if p["front"] else facing * r * 0.8), head[1] + r * (0.2 + 0.9 * length))
        _line(img, head, back, colours["hair"], r * (0.9 + 0.6 * length))
    cv2.ellipse(img, _pt(head), axes, 0, 0, 360, colours["skin"], -1, cv2.LINE_AA, _SHIFT)
    cv2.ellipse(img, _pt(head), axes, 0, 180 - 60 * length, 360 + 60 * length, colours["hair"], -1, cv2.LINE_AA,
                _SHIFT)


# ----------------------------------------------------------------------------------------------- videos
def _segments(rng, clips: int, clip_frames: int):
    """KTH-style annotation: `clips` segments of ~clip_frames separated by gaps (1-based inclusive)."""
    segs, cursor = [], 1
    for _ in range(clips):
        n = int(clip_frames + rng.integers(-3, 4))
        segs.append((cursor, cursor + n - 1))
        cursor += n + int(rng.integers(8, 16))
    return segs, cursor - 1


def to_grey(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) float RGB -> the same image in grey (ITU-R BT.601 luma in all three channels), as a grey camera."""
    return np.repeat(img @ np.array(LUMA, np.float32), 3).reshape(img.shape)


def render_video(seed: int, person: int, action: str, scenario: str, *, clips: int, clip_frames: int,
                 size: tuple[int, int], subject: Subject | None = None, colour: bool = False):
    """Frames (T, H, W, 3) uint8 RGB and the annotated segments of one video.

    subject: the person's identity (default: person `person` of `draw_population(seed, person)`).
    colour: False (default) records the scene in grey, as KTH's camera does; the same scene and noise either way.
    """
    w, h = size
    k = w / 160.0  # everything is designed at 160x120 and scaled to `size`
    rng = np.random.default_rng(np.random.SeedSequence(
        [seed, person, ACTIONS.index(action), SCENARIOS.index(scenario)]))
    subj = subject or make_subject(seed, person)
    outfit = subj.outfits[1 if scenario == "d3" else 0]
    segs, total = _segments(rng, clips, clip_frames)
    ground = int(round((112 + rng.integers(-3, 3)) * k))
    bg = background(rng, scenario, h, w, ground)
    base_scale = k * float(rng.normal(1.0, 0.03))
    zoom = (0.82, 1.22) if rng.random() < 0.5 else (1.22, 0.82)
    frames = np.empty((total, h, w, 3), np.uint8)
    in_segment = np.zeros(total, bool)
    seg_of = np.full(total, -1)
    for i, (a, b) in enumerate(segs):
        in_segment[a - 1:b] = True
        seg_of[a - 1:b] = i
    phase0 = float(rng.uniform(0, 2 * math.pi))
    centre_x = w / 2 + rng.uniform(-8, 8) * k
    boxing_facing = 1 if rng.random() < 0.5 else -1
    # The person's colours under this video's lighting: a gain (exposure) and a small colour cast.
    gain, cast = rng.uniform(0.9, 1.1), rng.uniform(-5, 5, 3)
    colours = {name: tuple(np.clip(np.multiply(c, gain) + cast, 0, 255))
               for name, c in (("shirt", outfit.shirt_colour), ("pants", outfit.pants_colour), ("skin", subj.skin),
                               ("hair", subj.hair))}
    noise = rng.standard_normal((16, h, w, 3), dtype=np.float32) * 2.0  # sensor noise, a bank drawn once
    pose_t = 0  # stationary actions pause between segments: the pose freezes at the last annotated frame
    for t in range(total):
        scale = base_scale
        if scenario == "d2":
            scale *= zoom[0] + (zoom[1] - zoom[0]) * t / max(total - 1, 1)
        img = bg.copy()
        if action in LOCOMOTION_SPEED:
            if in_segment[t]:  # one pass across the frame per segment; off screen in the gaps
                a, b = segs[seg_of[t]]
                facing = 1 if seg_of[t] % 2 == 0 else -1  # passes alternate direction, as in KTH
                x = centre_x + facing * LOCOMOTION_SPEED[action] * k * ((t + 1) - (a + b) / 2)
                draw_person(img, subj, outfit, colours, pose(action, t, subj, phase0, facing), (x, ground), scale,
                            facing)
        else:
            if in_segment[t]:
                pose_t = t
            facing = boxing_facing if action == "boxing" else 1
            draw_person(img, subj, outfit, colours, pose(action, pose_t, subj, phase0, facing), (centre_x, ground),
                        scale, facing)
        img += noise[rng.integers(len(noise))]
        frames[t] = np.clip(img if colour else to_grey(img), 0, 255).astype(np.uint8)
    return frames, segs


def sequences_line(video: str, segs) -> str:
    pad = "\t\t" if len(video) < 24 else "\t"
    return f"{video}{pad}frames\t" + ", ".join(f"{a}-{b}" for a, b in segs)


def _write_one(job):
    root, seed, person, action, scenario, clips, clip_frames, size, subject, colour = job
    frames, segs = render_video(seed, person, action, scenario, clips=clips, clip_frames=clip_frames, size=size,
                                subject=subject, colour=colour)
    video = f"person{person:02d}_{action}_{scenario}"
    write_video(Path(root) / f"{video}_uncomp.avi", frames, fps=FPS)
    return video, segs


def make_kth_like(root, *, subjects: int = 10, scenarios=SCENARIOS, clips_per_video: int = 4,
                  clip_frames: int = 40, seed: int = 0, size: tuple[int, int] = (160, 120), workers: int = 2,
                  avoid: tuple | None = None, colour: bool = False, log=print):
    """Write the synthetic dataset into `root` (created) and return `root` as a Path.

    Args:
        subjects: number of people (privacy classes), named person01..personNN.
        scenarios: which of d1..d4 to record; KTH has one video per (subject, action, scenario).
        clips_per_video: annotated segments per video (KTH: 4).
        clip_frames: nominal frames per segment (each varies by +-3); longer than the sampled clip length t.
        seed: everything is derived from it.
        size: (width, height) of the videos; KTH is 160x120.
        workers: processes rendering videos in parallel.
        avoid: (seed, subjects) of another population this one must share no outfit, hair or body with.
        colour: coloured people; False (default): grey videos, as KTH's.
    An existing dataset written with the same arguments is kept as it is (recorded in `synthetic.json`).
    """
    root = Path(root)
    params = {"subjects": subjects, "scenarios": list(scenarios), "clips_per_video": clips_per_video,
              "clip_frames": clip_frames, "seed": seed, "size": list(size), "format": 2,
              "avoid": list(avoid) if avoid else None, "colour": bool(colour)}
    for d in scenarios:
        if d not in SCENARIOS:
            raise ValueError(f"scenarios must be among {SCENARIOS}, got {d!r}")
    if not 1 <= subjects <= 99:
        raise ValueError(f"subjects must be between 1 and 99, got {subjects}")
    stamp = root / "synthetic.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == params and (root / "00sequences.txt").is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    people = draw_population(seed, subjects, avoid=tuple(avoid) if avoid else None)
    jobs = [(str(root), seed, p, a, d, clips_per_video, clip_frames, tuple(size), people[p - 1], bool(colour))
            for p in range(1, subjects + 1) for a in ACTIONS for d in scenarios]
    t0 = time.time()
    results = {}
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        for i, (video, segs) in enumerate(pool.map(_write_one, jobs, chunksize=4), 1):
            results[video] = segs
            if log and (i % 60 == 0 or i == len(jobs)):
                log(f"[synthetic] {i}/{len(jobs)} videos written ({time.time() - t0:.1f}s)")
    lines = ["", "Synthetic dataset in the layout of the KTH action database (00sequences.txt).",
             f"Generated by bdqlib.data.synthetic.make_kth_like with {json.dumps(params, sort_keys=True)}.",
             "Each line: video, then the start-end frames (1-based, inclusive) of its annotated segments.", ""]
    lines += [sequences_line(v, results[v]) for v in sorted(results)]
    with atomic_path(root / "00sequences.txt") as tmp:
        tmp.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    with atomic_path(stamp) as tmp:
        tmp.write_text(json.dumps(params, sort_keys=True))
    return root
