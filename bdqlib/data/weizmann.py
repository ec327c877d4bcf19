"""Weizmann "actions as space-time shapes" (Gorelick, Blank, Shechtman, Irani & Basri, PAMI 2007): real people.

9 people (daria, denis, eli, ido, ira, lena, lyova, moshe, shahar) x 10 actions (bend, jack, jump, pjump, run, side,
skip, walk, wave1, wave2); lena has a second take of run, skip and walk: 93 videos of 28-146 frames. Free for
research; cite the paper.

Two sources, both read here:
* the official foreground masks, `classification_masks.mat`: MATLAB structs `original_masks` (frame-aligned with the
  RGB videos, 144 x 180 x T uint8 in {0, 1}) and `aligned_masks` (cropped and centred), one field per video named
  `<person>_<action>` (`lena_run1`, `lena_run2`, ...). A silhouette is shape and motion only -- no colour, no
  texture: what BDQ leaves of a person on our synthetic data, on real bodies. Masks are read as grey video
  (0 / 255), cached with one channel like KTH.
* the RGB videos, `<person>_<action>.avi` (uncompressed 24-bit AVI, 180 x 144, 25 fps), decoded with PyAV
  (bdqlib.data.video: OpenCV aborts the process on these files).

DATA_DIR is the masks file (`.../classification_masks.mat`, the `original_masks` struct), the file with the struct
named (`.../classification_masks.mat#aligned_masks`), or a folder of the RGB videos.

Splits (`split="kfold<k>"`, default k = 5): a 93-video dataset tested on one split would test on ~18 videos, so every
video is tested exactly once over k folds. Fold of a person's i-th video (in name order): (i + person) mod k -- each
fold tests about two videos of every person, and each action's videos spread over the folds, so every fold's
training part holds every person and every action. The run's seed picks the fold (fold = seed mod k): SEEDS
0,...,k-1 are the k folds, and the pooled test predictions over those seeds test every video once (seeds beyond k
repeat folds with other initialisations). Validation is carved from the training part by video: one video of
every person, rotating with the seed. Each video is cut into up to 4 consecutive clips, as KTH's are.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .video import mat_fields, video_info

PEOPLE = ("daria", "denis", "eli", "ido", "ira", "lena", "lyova", "moshe", "shahar")
WEIZMANN_ACTIONS = ("bend", "jack", "jump", "pjump", "run", "side", "skip", "walk", "wave1", "wave2")
STRUCTS = ("original_masks", "aligned_masks")
DEFAULT_FOLDS = 5
CLIPS_PER_VIDEO = 4


def parse_name(name: str) -> tuple[str, str, int]:
    """'lena_run2' -> ('lena', 'run', 2); 'eli_wave1' -> ('eli', 'wave1', 1): wave1/wave2 are actions, not takes."""
    person, _, rest = name.partition("_")
    if person not in PEOPLE:
        raise ValueError(f"Weizmann video {name!r}: unknown person {person!r} (expected one of {', '.join(PEOPLE)})")
    if rest in WEIZMANN_ACTIONS:
        return person, rest, 1
    m = re.fullmatch(r"([a-z]+)(\d)", rest)
    if m and m.group(1) in WEIZMANN_ACTIONS:
        return person, m.group(1), int(m.group(2))
    raise ValueError(f"Weizmann video {name!r}: unknown action {rest!r} (expected one of "
                     f"{', '.join(WEIZMANN_ACTIONS)}, optionally with a take number)")


def split_source(data_dir) -> tuple[Path, str | None]:
    """DATA_DIR -> (masks file, struct) or (RGB folder, None); see the module docstring."""
    text = str(data_dir)
    path, _, struct = text.partition("#")
    path = Path(path)
    if path.suffix == ".mat":
        struct = struct or STRUCTS[0]
        if struct not in STRUCTS:
            raise ValueError(f"{text}: the struct after '#' must be one of {', '.join(STRUCTS)}, got {struct!r}")
        if not path.is_file():
            raise FileNotFoundError(f"Weizmann masks file not found: {path}")
        return path, struct
    if struct:
        raise ValueError(f"{text}: '#<struct>' only follows a .mat masks file")
    if not path.is_dir():
        raise FileNotFoundError(f"Weizmann data not found: {path} is neither a .mat masks file nor a folder of "
                                f"<person>_<action>.avi videos")
    return path, None


def _videos(data_dir) -> pd.DataFrame:
    """video, person, action, take, path, frames of every video of the source."""
    source, struct = split_source(data_dir)
    rows = []
    if struct:
        for name, mask in sorted(mat_fields(source, struct).items()):
            rows.append((name, *parse_name(name), f"{source}#{struct}/{name}", int(mask.shape[-1])))
    else:
        for avi in sorted(source.glob("*.avi")):
            rows.append((avi.stem, *parse_name(avi.stem), str(avi), video_info(avi)["frames"]))
    if not rows:
        raise FileNotFoundError(f"no Weizmann videos in {data_dir} (expected <person>_<action>.avi files)")
    return pd.DataFrame(rows, columns=["video", "person", "action", "take", "path", "frames"])


def video_lengths(data_dir) -> dict:
    """video name -> frames, for every video of the source (e.g. to render synthetic people video for video:
    bdqlib.data.silhouettes)."""
    return dict(zip(*_videos(data_dir)[["video", "frames"]].T.values))


def fold_of(videos: pd.DataFrame, k: int) -> pd.Series:
    """Each video's fold: (its index among its person's videos in name order + the person's index) mod k."""
    order = videos.sort_values("video").groupby("person").cumcount()
    return (order + videos["person"].map(PEOPLE.index)) % k


def parse_folds(split: str) -> int:
    m = re.fullmatch(r"kfold(\d*)", split)
    if not m:
        raise ValueError(f"Weizmann is split by video-level k-fold cross-validation: SPLIT='kfold' or "
                         f"'kfold<k>' (e.g. kfold5), got {split!r}")
    k = int(m.group(1) or DEFAULT_FOLDS)
    if not 2 <= k <= 10:
        raise ValueError(f"SPLIT={split!r}: k must be 2..10")
    return k


def weizmann_manifest(data_dir, *, split: str = "kfold5", seed: int = 0, log=print) -> pd.DataFrame:
    """Clips of the Weizmann videos: video, subject (person), action, take, path, start/end (1-based, inclusive),
    clip, fold, split (train / val / test for fold seed mod k; see the module docstring)."""
    k = parse_folds(split)
    videos = _videos(data_dir)
    videos["fold"] = fold_of(videos, k)
    test_fold = seed % k
    videos["split"] = np.where(videos["fold"] == test_fold, "test", "train")
    for p, person in enumerate(PEOPLE):  # validation: one training video per person, rotating with the seed
        mine = videos[(videos["person"] == person) & (videos["split"] == "train")].sort_values("video")
        if len(mine) > 1:
            videos.loc[mine.index[(seed + p) % len(mine)], "split"] = "val"
    rows = []
    for v in videos.itertuples(index=False):
        parts = max(1, min(CLIPS_PER_VIDEO, v.frames // 8))
        edges = np.linspace(0, v.frames, parts + 1).round().astype(int)
        for c in range(parts):
            rows.append((v.video, v.person, v.action, v.take, v.path, int(edges[c]) + 1, int(edges[c + 1]), c + 1,
                         int(v.fold), v.split))
    clips = pd.DataFrame(rows, columns=["video", "subject", "action", "take", "path", "start", "end", "clip", "fold",
                                        "split"])
    if log:
        counts = videos.groupby("split")["video"].nunique().to_dict()
        log(f"[weizmann] {len(videos)} videos ({clips['subject'].nunique()} people, {videos['action'].nunique()} "
            f"actions), {len(clips)} clips; fold {test_fold} of {k} tests (seed {seed}); videos per split {counts}")
    return clips
