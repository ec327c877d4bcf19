"""Decode once, then read fast: every video decoded a single time into a uint8 .npy, memory-mapped when read.

Layout of a cache directory: `<video>.npy` holding (T, H, W, 3) uint8 RGB frames, resized so the short side is
`short_side` (aspect ratio kept; None keeps the file's size), and `index.csv` describing each entry and the source
file it came from (size and modification time). Re-building skips entries whose source is unchanged and whose
array has the recorded shape, so an interrupted build resumes where it stopped.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..atomic import atomic_path, save_npy_atomic
from .video import read_frames, source_signature

INDEX_COLUMNS = ["video", "source", "source_bytes", "source_mtime", "frames", "height", "width", "channels"]


def resize_frames(frames: np.ndarray, short_side: int | None) -> np.ndarray:
    """Resize (T, H, W, 3) uint8 frames so min(H, W) == short_side (area interpolation when shrinking)."""
    if short_side is None:
        return frames
    t, h, w, _ = frames.shape
    if min(h, w) == short_side:
        return frames
    k = short_side / min(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, size, interpolation=interp) for f in frames])


class FrameCache:
    """Memory-mapped access to a built cache: `cache.clip(video, first, count)` -> (count, H, W, 3) uint8 RGB.

    Grey videos (KTH is grey, stored by its AVIs as three equal channels) are cached with one channel -- a third of
    the disk -- and expanded to three when read; `cache.frames(video)` is the stored (T, H, W, 1 or 3) array."""

    def __init__(self, directory):
        self.directory = Path(directory)
        index_path = self.directory / "index.csv"
        if not index_path.is_file():
            raise FileNotFoundError(f"no frame cache index at {index_path}; build it with build_cache()")
        self.index = pd.read_csv(index_path).set_index("video")
        self._open = {}

    def __contains__(self, video) -> bool:
        return video in self.index.index

    def num_frames(self, video) -> int:
        return int(self.index.at[video, "frames"])

    def frames(self, video) -> np.ndarray:
        arr = self._open.get(video)
        if arr is None:  # opened lazily, once per process (DataLoader workers each get their own)
            arr = self._open[video] = np.load(self.directory / f"{video}.npy", mmap_mode="r")
        return arr

    def clip(self, video, first: int, count: int) -> np.ndarray:
        """Frames first..first+count-1 (1-based) as (count, H, W, 3) uint8."""
        part = np.asarray(self.frames(video)[first - 1:first - 1 + count])
        return np.repeat(part, 3, axis=-1) if part.shape[-1] == 1 else part

    def __getstate__(self):  # memmaps are not sent to worker processes
        return {"directory": self.directory, "index": self.index, "_open": {}}


def _valid(entry, source, npy: Path) -> bool:
    signature = source_signature(source)
    if not npy.is_file() or signature is None:
        return False
    if int(entry["source_bytes"]) != signature[0] or abs(float(entry["source_mtime"]) - signature[1]) > 1e-3:
        return False
    try:
        arr = np.load(npy, mmap_mode="r")
    except (ValueError, OSError):
        return False
    channels = int(entry["channels"]) if "channels" in entry and entry["channels"] == entry["channels"] else 3
    return (arr.shape == (int(entry["frames"]), int(entry["height"]), int(entry["width"]), channels)
            and arr.dtype == np.uint8)


GREY_TOLERANCE = 4  # grey levels: KTH's DivX AVIs decode grey with channels off by <= 3 in <= 0.2 % of pixels


def is_grey(frames: np.ndarray) -> bool:
    """(T, H, W, 3) uint8 frames whose three channels agree within GREY_TOLERANCE everywhere (a grey video)."""
    wide = frames.astype(np.int16)
    return bool((wide.max(-1) - wide.min(-1)).max() <= GREY_TOLERANCE)


def _decode_into(source: Path, npy: Path, short_side: int | None) -> dict:
    frames = resize_frames(read_frames(source), short_side)
    if is_grey(frames):  # one channel on disk, three when read (FrameCache.clip)
        frames = np.round(frames.mean(-1, keepdims=True)).astype(np.uint8)
    save_npy_atomic(npy, frames)
    size, mtime = source_signature(source)
    return {"source": str(source), "source_bytes": size, "source_mtime": mtime,
            "frames": frames.shape[0], "height": frames.shape[1], "width": frames.shape[2],
            "channels": frames.shape[3]}


def build_cache(videos: pd.DataFrame, directory, *, short_side: int | None, log=print,
                every: int = 50, workers: int = 2) -> FrameCache:
    """Decode each distinct (video, path) of `videos` once into `directory`; returns the FrameCache.

    `videos` needs columns `video` (a unique name) and `path` (the file). Videos are decoded by `workers` threads
    (OpenCV releases the GIL while decoding). A progress line is logged every `every` videos and at the end.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    index_path = directory / "index.csv"
    old = pd.read_csv(index_path).set_index("video") if index_path.is_file() else pd.DataFrame(columns=INDEX_COLUMNS).set_index("video")
    todo = videos[["video", "path"]].drop_duplicates("video")
    rows, decoded, t0 = {}, 0, time.time()
    pending = []
    for video, path in todo.itertuples(index=False):
        source, npy = Path(path), directory / f"{video}.npy"
        if video in old.index and _valid(old.loc[video], source, npy):
            rows[video] = {"video": video, **old.loc[video].to_dict()}
        else:
            pending.append((video, source, npy))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        jobs = {video: pool.submit(_decode_into, source, npy, short_side) for video, source, npy in pending}
        for i, video in enumerate(todo["video"], 1):
            if video in jobs:
                rows[video] = {"video": video, **jobs[video].result()}
                decoded += 1
            if log and (i % every == 0 or i == len(todo)):
                log(f"[cache] {i}/{len(todo)} videos ready ({decoded} decoded, {time.time() - t0:.1f}s) in {directory}")
    index = pd.DataFrame([rows[v] for v in todo["video"]], columns=INDEX_COLUMNS)
    kept = old.drop(index=[v for v in index["video"] if v in old.index], errors="ignore").reset_index()
    index = pd.concat([kept, index], ignore_index=True) if len(kept) else index
    with atomic_path(index_path) as tmp:
        index.to_csv(tmp, index=False)
    return FrameCache(directory)


def cache_size_bytes(directory) -> int:
    return sum(os.path.getsize(p) for p in Path(directory).glob("*.npy"))
