"""Intervals and verdicts, recomputed from predictions.csv: every accuracy of a run has seeds and an interval.

The unit of resampling is the test *video*: the clips of one video share its person, background and lighting, so
they are not independent. With several seeds (independent trainings of everything), the interval is that of the
mean over seeds, from a two-stage bootstrap (Davison & Hinkley 1997, §3.8): each replicate draws seeds with
replacement, then, within each drawn seed, its test videos with replacement, and averages the seeds' accuracies.
With one seed it is the plain video bootstrap -- the same resampling scipy.stats.bootstrap does for paired
per-video data, which a test checks it agrees with.

Everything compared in one run is computed on the *same* replicates (`Plan`): a privacy removal uses the raw
video's and the encoder's predictions on the same videos, and a verdict between two methods is the interval of
their difference on the same resamples (paired). Percentile intervals, CONFIDENCE 95 %, RESAMPLES replicates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 20261207  # the resampling's own seed: intervals are reproducible


@dataclass
class Sample:
    """One accuracy's raw material: per seed, the hits and clips of each test video (aligned with Plan.videos)."""
    hits: dict   # seed -> (m_seed,) hits per video
    clips: dict  # seed -> (m_seed,) clips per video

    @property
    def seeds(self) -> list:
        return sorted(self.hits)

    def restricted(self, seeds) -> "Sample":
        return Sample({s: self.hits[s] for s in seeds}, {s: self.clips[s] for s in seeds})

    def point(self) -> float:
        """The mean over seeds of each seed's accuracy (all its test clips)."""
        return float(np.mean([self.hits[s].sum() / self.clips[s].sum() for s in self.seeds]))


@dataclass
class Plan:
    """The bootstrap replicates shared by everything compared: seeds drawn per replicate, videos per seed."""
    seeds: list          # seed values
    videos: dict         # seed -> sorted array of the seed's test videos
    seed_draw: np.ndarray  # (B, k) indices into `seeds`
    video_draw: dict     # seed -> (B, k, m_seed) indices into videos[seed]

    @classmethod
    def make(cls, videos: dict, resamples: int = RESAMPLES, seed: int = SEED) -> "Plan":
        rng = np.random.default_rng(seed)
        seeds = sorted(videos)
        k = len(seeds)
        seed_draw = rng.integers(0, k, size=(resamples, k)) if k > 1 else np.zeros((resamples, 1), dtype=int)
        video_draw = {s: rng.integers(0, len(videos[s]), size=(resamples, k, len(videos[s]))) for s in seeds}
        return cls(seeds, {s: np.asarray(videos[s]) for s in seeds}, seed_draw, video_draw)

    def replicates(self, sample: Sample) -> np.ndarray:
        """(B,) accuracies of `sample` on every replicate (mean over the drawn seeds of the resampled videos)."""
        out = np.zeros(self.seed_draw.shape, dtype=float)
        for i, s in enumerate(self.seeds):
            h, n = sample.hits[s][self.video_draw[s]].sum(-1), sample.clips[s][self.video_draw[s]].sum(-1)
            out = np.where(self.seed_draw == i, h / np.maximum(n, 1), out)
        return out.mean(1)

    @property
    def size(self) -> str:
        n = sorted({len(v) for v in self.videos.values()})
        return f"{'/'.join(map(str, n))} test videos x {len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''}"


def interval(replicates: np.ndarray, confidence: float = CONFIDENCE) -> tuple:
    """(low, high) percentile interval of bootstrap replicates (NaN replicates, e.g. a 0/0 removal, are left out)."""
    r = replicates[np.isfinite(replicates)]
    if len(r) == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(r, tail)), float(np.percentile(r, 100 - tail))


def samples_from(predictions: pd.DataFrame) -> tuple:
    """(per-seed sorted test videos, a function network-rows -> Sample) from predictions.csv rows of one run."""
    videos = {int(s): np.array(sorted(g["video"].unique())) for s, g in predictions.groupby("seed")}

    def sample(rows: pd.DataFrame) -> Sample:
        hits, clips = {}, {}
        for s, g in rows.groupby("seed"):
            s = int(s)
            per = g.assign(hit=(g["label"] == g["pred"]).astype(int)).groupby("video")["hit"].agg(["sum", "count"])
            per = per.reindex(videos[s], fill_value=0)
            hits[s], clips[s] = per["sum"].to_numpy(float), per["count"].to_numpy(float)
        return Sample(hits, clips)
    return videos, sample


def removal(privacy: np.ndarray, raw_privacy: np.ndarray, chance: float) -> np.ndarray:
    """The share of raw's above-chance privacy an encoder removes: (P_raw - P) / (P_raw - chance)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (raw_privacy - privacy) / (raw_privacy - chance)


def f_lambda(action: np.ndarray, privacy: np.ndarray, lam: float = 0.5) -> np.ndarray:
    return (1 - lam) * action + lam * (1 - privacy)


@dataclass
class Verdict:
    """A computed comparison of two quantities on the same replicates."""
    difference: float
    low: float
    high: float
    text: str


def compare(a: np.ndarray, b: np.ndarray, a_point: float, b_point: float, *, names=("A", "B"), what: str = "",
            higher: str = "higher", size: str = "") -> Verdict:
    """"A > B" when the interval of A - B (paired replicates) is above 0, "A < B" when below, else "not
    distinguishable at this size". `what` names the quantity, `higher` what a larger value means."""
    lo, hi = interval(a - b)
    d = a_point - b_point
    label = f"{what} " if what else ""
    if lo > 0:
        text = f"{names[0]} {label}> {names[1]} ({higher}; difference {d:+.3f}, 95% CI {lo:+.3f} to {hi:+.3f})"
    elif hi < 0:
        text = f"{names[0]} {label}< {names[1]} (difference {d:+.3f}, 95% CI {lo:+.3f} to {hi:+.3f})"
    else:
        text = (f"{names[0]} and {names[1]}: {label}not distinguishable at this size (difference {d:+.3f}, 95% CI "
                f"{lo:+.3f} to {hi:+.3f}; n = {size})")
    return Verdict(d, lo, hi, text)


def half_width(low: float, high: float) -> float:
    return (high - low) / 2


def network_verdict(a_rows: pd.DataFrame, b_rows: pd.DataFrame, *, names=("A", "B"), what: str = "accuracy",
                    higher: str = "higher") -> Verdict | None:
    """Two networks' predictions.csv rows on the same test clips (e.g. an attacker on E's output and on its
    reconstruction): their accuracies compared on shared video (and seed) replicates. None if they share no seed."""
    seeds = sorted(set(a_rows["seed"].astype(int)) & set(b_rows["seed"].astype(int)))
    if not seeds or len(a_rows) == 0 or len(b_rows) == 0:
        return None
    both = pd.concat([a_rows[a_rows["seed"].isin(seeds)], b_rows[b_rows["seed"].isin(seeds)]])
    videos, sample = samples_from(both)
    plan = Plan.make(videos)
    sa, sb = sample(a_rows[a_rows["seed"].isin(seeds)]), sample(b_rows[b_rows["seed"].isin(seeds)])
    return compare(plan.replicates(sa), plan.replicates(sb), sa.point(), sb.point(), names=names, what=what,
                   higher=higher, size=plan.size)
