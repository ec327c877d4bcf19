"""IPN Hand (Benitez-Garcia et al., ICPR 2020): hand gestures in continuous videos; privacy = the subject's gender.

Layout as distributed: one frames folder per video, `<video>/<video>_NNNNNN.jpg` (640x480, 30 fps; also accepted
under a `frames/` sub-folder), and the annotation files: `Annot_List.txt` (`video,label,id,t_start,t_end,frames`,
one line per segment, 1-based inclusive frames), the per-video metadata `metadata_train.csv` /
`metadata_test.csv` (`video,frames,label,...,Set`; `label` is the subject's gender, W or M). They are looked for in
the data folder, its `annotations/`, and `<split_dir>/sppa/ipn/` (the copies SPPA released).

* Action: the 13 gestures (paper §4.1). The non-gesture class D0X (the stretches between gestures) is **dropped**,
  as the paper's 13 classes imply: its segments are no clips here.
* Privacy: gender from the metadata. It is imbalanced (SPPA's lists: 104 M / 44 W videos in train), so chance is
  the test split's majority share, which `bdqlib.metrics.chance_level` computes -- not 1/2.
* Splits: IPN's own train/test lists (by subject: the 50 subjects, `<scene>_<n>_<hand>` before `_#`, are in one
  set only). Validation is carved from train **by subject**, seeded, one woman and one man at least.
* Each gesture segment is its own cache entry (`video` = `<video>@<t_start>`, `recording` = the IPN video), so
  only gesture frames are decoded and cached (590k of the 800k frames in SPPA's annotation list). No recording
  is in two splits (checked with the other split checks).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

IPN_GESTURES = ("B0A", "B0B", "G01", "G02", "G03", "G04", "G05", "G06", "G07", "G08", "G09", "G10", "G11")
NON_GESTURE = "D0X"
GENDERS = ("M", "W")
ANNOT_COLUMNS = ["video", "label", "id", "t_start", "t_end", "frames"]


def find_file(name: str, data_dir, split_dir=None) -> Path:
    """The first of <data_dir>/name, <data_dir>/annotations/name, <split_dir>/sppa/ipn/name that exists."""
    places = [Path(data_dir) / name, Path(data_dir) / "annotations" / name]
    if split_dir:
        places.append(Path(split_dir) / "sppa" / "ipn" / name)
    for p in places:
        if p.is_file():
            return p
    raise FileNotFoundError(f"IPN annotation file {name} not found; looked in {', '.join(map(str, places))}")


def read_annotations(path) -> pd.DataFrame:
    """Annot_List.txt -> one row per segment; errors name the file and line."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines or lines[0].strip().split(",") != ANNOT_COLUMNS:
        raise ValueError(f"{path}, line 1: expected the header {','.join(ANNOT_COLUMNS)}")
    rows = []
    for number, raw in enumerate(lines[1:], 2):
        if not raw.strip():
            continue
        parts = raw.strip().split(",")
        try:
            video, label, cls, start, end, frames = parts[0], parts[1], int(parts[2]), int(parts[3]), int(parts[4]), \
                int(parts[5])
        except (IndexError, ValueError):
            raise ValueError(f"{path}, line {number}: not 'video,label,id,t_start,t_end,frames': {raw!r}") from None
        if label != NON_GESTURE and label not in IPN_GESTURES:
            raise ValueError(f"{path}, line {number}: unknown gesture label {label!r}")
        if not 1 <= start <= end or frames != end - start + 1:
            raise ValueError(f"{path}, line {number}: segment {start}-{end} does not span {frames} frames")
        rows.append((video, label, cls, start, end))
    return pd.DataFrame(rows, columns=["recording", "action", "class_id", "t_start", "t_end"])


def read_metadata(data_dir, split_dir=None) -> pd.DataFrame:
    """Both metadata files -> recording, gender, set (train/test), person."""
    frames = []
    for part in ("train", "test"):
        path = find_file(f"metadata_{part}.csv", data_dir, split_dir)
        df = pd.read_csv(path)
        missing = {"video", "label"} - set(df.columns)
        if missing:
            raise ValueError(f"{path}: lacks columns {sorted(missing)}")
        bad = df[~df["label"].isin(GENDERS)]
        if len(bad):
            raise ValueError(f"{path}, line {bad.index[0] + 2}: gender label {bad['label'].iloc[0]!r} is not W or M")
        frames.append(pd.DataFrame({"recording": df["video"], "gender": df["label"], "set": part}))
    meta = pd.concat(frames, ignore_index=True)
    meta["person"] = meta["recording"].str.rsplit("_#", n=1).str[0]
    both = meta.groupby("person")["set"].nunique()
    if (both > 1).any():
        raise ValueError(f"IPN subject {both.index[both > 1][0]} is in both the train and the test metadata")
    return meta


def frames_dir(data_dir, recording: str) -> Path:
    for base in (Path(data_dir), Path(data_dir) / "frames"):
        if (base / recording).is_dir():
            return base / recording
    raise FileNotFoundError(f"IPN frames folder for {recording} not found in {data_dir} or {Path(data_dir) / 'frames'}")


def carve_people(meta: pd.DataFrame, *, fraction: float, seed: int) -> set:
    """Training subjects that become validation: `fraction` of each gender's, at least one each (seeded)."""
    rng = np.random.default_rng(seed)
    chosen = set()
    train = meta[meta["set"] == "train"].drop_duplicates("person")
    for _, group in train.groupby("gender"):
        people = sorted(group["person"])
        k = max(1, int(round(fraction * len(people))))
        chosen |= set(rng.choice(people, size=min(k, len(people) - 1), replace=False).tolist())
    return chosen


def ipn_manifest(data_dir, *, split_dir=None, missing: str = "error", seed: int = 0, val_fraction: float = 0.15,
                 log=print) -> pd.DataFrame:
    """Gesture segments of an IPN folder: video (segment key), recording, person, subject (gender), action, path,
    start/end (1-based within the segment's own frames), split."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"IPN data directory not found: {data_dir}")
    annot = read_annotations(find_file("Annot_List.txt", data_dir, split_dir))
    meta = read_metadata(data_dir, split_dir)
    unknown = sorted(set(annot["recording"]) - set(meta["recording"]))
    if unknown:
        raise ValueError(f"Annot_List.txt lists {len(unknown)} video(s) without metadata, e.g. {unknown[0]}")
    segs = annot[annot["action"] != NON_GESTURE].merge(meta, on="recording")
    present = {r: _present(data_dir, r) for r in segs["recording"].unique()}
    absent = sorted(r for r, ok in present.items() if not ok)
    if absent and missing == "error":
        raise FileNotFoundError(f"{len(absent)} IPN video(s) have no frames folder in {data_dir}, e.g. {absent[0]} "
                                f"(MISSING='skip' uses the rest)")
    if absent and log:
        log(f"[ipn] {len(absent)} video(s) without a frames folder: skipped ({', '.join(absent[:5])} ...)")
    segs = segs[~segs["recording"].isin(absent)].reset_index(drop=True)
    val_people = carve_people(meta[meta["recording"].isin(segs["recording"])], fraction=val_fraction, seed=seed)
    segs["split"] = np.where(segs["set"] == "test", "test", np.where(segs["person"].isin(val_people), "val", "train"))
    segs["video"] = segs["recording"] + "@" + segs["t_start"].astype(str)
    segs["path"] = [f"{frames_dir(data_dir, r)}/{r}_%06d.jpg#{a}-{b}"
                    for r, a, b in zip(segs["recording"], segs["t_start"], segs["t_end"])]
    segs["start"], segs["end"] = 1, segs["t_end"] - segs["t_start"] + 1
    segs["subject"] = segs["gender"]
    if log:
        counts = segs.drop_duplicates("recording").groupby(["split", "gender"]).size().to_dict()
        log(f"[ipn] {len(segs)} gesture segments ({NON_GESTURE} non-gesture dropped) of {segs['recording'].nunique()} "
            f"videos, {segs['person'].nunique()} subjects; videos per (split, gender): {counts}")
    return segs


def _present(data_dir, recording) -> bool:
    try:
        frames_dir(data_dir, recording)
        return True
    except FileNotFoundError:
        return False
