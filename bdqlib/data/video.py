"""Video file I/O with OpenCV (torchvision.io.read_video is gone in torchvision 0.29).

Frames are numpy uint8 arrays (T, H, W, 3) in RGB order. Every writer goes through a temporary file in the target
directory and an atomic rename, so a crash never leaves a half-written file under the final name.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_path


class VideoReadError(IOError):
    """A video file exists but cannot be decoded (corrupt, truncated, unsupported)."""


@contextlib.contextmanager
def _capture(path: Path):
    """An opened cv2.VideoCapture of `path`, released afterwards; named errors for missing or unreadable files."""
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoReadError(f"cannot open video file: {path}")
        yield cap
    finally:
        cap.release()


def video_info(path: str | os.PathLike) -> dict:
    """Frame count, fps, width and height as the container declares them (no decoding)."""
    path = Path(path)
    with _capture(path) as cap:
        return {"frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), "fps": float(cap.get(cv2.CAP_PROP_FPS)),
                "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}


def is_frame_sequence(path) -> bool:
    """A folder of still frames rather than a video file: a glob ("<dir>/rgb_*.png", every match in name order) or
    a printf pattern with its frame range ("<dir>/<video>_%06d.jpg#18-55", frames 18..55)."""
    return "*" in str(path) or "%" in str(path)


def frame_files(path) -> list:
    """The image files of a frame sequence (see is_frame_sequence), in order; a missing frame is an error naming it."""
    text = str(path)
    if "%" in text:
        pattern, _, span = text.rpartition("#")
        try:
            first, last = (int(v) for v in span.split("-"))
        except ValueError:
            raise ValueError(f"frame pattern {text!r} needs its range as '#<first>-<last>'") from None
        files = [Path(pattern % i) for i in range(first, last + 1)]
        absent = next((f for f in files if not f.is_file()), None)
        if absent is not None:
            raise FileNotFoundError(f"frame {absent} not found (frames {first}-{last} of {pattern})")
        return files
    files = sorted(Path(text).parent.glob(Path(text).name))
    if not files:
        raise FileNotFoundError(f"no frames match {text}")
    return files


def source_signature(path) -> tuple | None:
    """(bytes, modification time) of a video file or of all files of a frame sequence; None if it is missing."""
    try:
        files = frame_files(path) if is_frame_sequence(path) else [Path(path)]
        stats = [f.stat() for f in files]
    except (FileNotFoundError, ValueError):
        return None
    return sum(s.st_size for s in stats), max(s.st_mtime for s in stats)


def _read_images(path, start: int, end: int | None) -> np.ndarray:
    files = frame_files(path)
    chosen = files[start - 1:end]
    if end is not None and end > len(files) or not chosen:
        raise VideoReadError(f"frames {start}..{end} requested from {path}, which has {len(files)}")
    frames = []
    for f in chosen:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise VideoReadError(f"cannot decode image {f}")
        if frames and img.shape != frames[0].shape:
            raise VideoReadError(f"{f} is {img.shape[1]}x{img.shape[0]}, the frames before it "
                                 f"{frames[0].shape[1]}x{frames[0].shape[0]}")
        frames.append(img)
    return np.stack(frames)[..., ::-1].copy()  # BGR -> RGB


def read_frames(path: str | os.PathLike, *, start: int = 1, end: int | None = None,
                strict: bool = True) -> np.ndarray:
    """Decode frames start..end (1-based, inclusive; default: every frame) as (T, H, W, 3) uint8 RGB.

    Raises FileNotFoundError for a missing file and VideoReadError for one that cannot be decoded; with `strict`,
    also when the decoder stops before the frame count the container declares (a truncated file).
    """
    if is_frame_sequence(path):
        return _read_images(path, start, end)
    path = Path(path)
    with _capture(path) as cap:
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        last = end if end is not None else declared
        if start > 1:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start - 1)
        frames = []
        while end is None or len(frames) < last - start + 1:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    if not frames:
        raise VideoReadError(f"no frame could be decoded from video file: {path}")
    wanted = (last - start + 1) if (end is not None or declared > 0) else len(frames)
    if strict and len(frames) < wanted:
        raise VideoReadError(f"video file is truncated or corrupt: decoded {len(frames)} of {wanted} frames "
                             f"(frames {start}..{last}) from {path}")
    video = np.stack(frames)
    return video[..., ::-1].copy()  # BGR -> RGB


def write_video(path: str | os.PathLike, frames: np.ndarray, *, fps: float = 25.0, fourcc: str = "DIVX") -> Path:
    """Write (T, H, W, 3) uint8 RGB frames as an AVI (MPEG-4 part 2 by default, as KTH is distributed), atomically."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    t, h, w, _ = frames.shape
    with atomic_path(path, suffix=Path(path).suffix) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        if not writer.isOpened():
            raise IOError(f"OpenCV cannot write {fourcc} video to {path}")
        try:
            for frame in frames:
                writer.write(np.ascontiguousarray(frame[..., ::-1]))
        finally:
            writer.release()
    return Path(path)
