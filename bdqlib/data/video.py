"""Video file I/O: decoding with PyAV (FFmpeg), OpenCV as a contained fallback; writing with OpenCV.

Frames are numpy uint8 arrays (T, H, W, 3) in RGB order. Every writer goes through a temporary file in the target
directory and an atomic rename, so a crash never leaves a half-written file under the final name.

Why PyAV first: opencv-python's decoder has been seen to kill the whole process (``malloc_consolidate(): invalid
chunk size``, a segmentation fault) on real files -- the Weizmann dataset's uncompressed AVIs -- which in a notebook
is a dead kernel with no word about which file did it. PyAV (the FFmpeg binding torchvision and pytorchvideo use)
raises Python errors instead. On the MPEG-4 part 2 files of KTH and of our synthetic data both give the same bytes
(tests/test_data.py checks it on every such file it has). A file PyAV cannot read at all goes to OpenCV in a child
process (`_opencv_child.py`), so that even a native crash there becomes a VideoReadError naming the file.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_path

try:
    import av  # PyAV; without it every file takes the contained OpenCV route
except ImportError:  # pragma: no cover - av is a dependency; kept for a platform that lacks a wheel
    av = None

_CHILD = Path(__file__).with_name("_opencv_child.py")  # imports only cv2 and numpy: starts in well under a second


class VideoReadError(IOError):
    """A video file exists but cannot be decoded (corrupt, truncated, unsupported)."""


def _pyav_open(path: Path):
    """(container, its first video stream) with PyAV, or None where PyAV is missing or cannot open the file."""
    if av is None:
        return None
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, ValueError, OSError):
        return None
    if not container.streams.video:
        container.close()
        return None
    return container, container.streams.video[0]


def _pyav_frames(path: Path, start: int, end: int | None):
    """(frames start..end as RGB arrays, the frame count the container declares), decoding from the first frame
    (exact: no seeking); None where PyAV decodes nothing. A decode error after some frames ends the list there
    (the caller's truncation check names it)."""
    opened = _pyav_open(path)
    if opened is None:
        return None
    container, stream = opened
    frames, decoded = [], 0
    with container:
        declared = int(stream.frames or 0)
        try:
            for decoded, frame in enumerate(container.decode(stream), start=1):
                if decoded >= start:
                    frames.append(frame.to_ndarray(format="rgb24"))
                if end is not None and decoded >= end:
                    break
        except (av.error.FFmpegError, ValueError):
            if decoded == 0:
                return None  # nothing decodable here: let OpenCV try
    return frames, declared


def _opencv_in_child(path: Path, mode: str, start: int = 1, end: int | None = None, *, child: Path | None = None):
    """OpenCV on `path` in a child process: mode "info" -> the info dict, "frames" -> (RGB frames, declared count).
    A native crash of the decoder there is a VideoReadError naming the file here, not a dead kernel."""
    with tempfile.TemporaryDirectory(prefix="bdq-decode-") as tmp:
        out = Path(tmp) / "frames.npy"
        try:
            done = subprocess.run([sys.executable, str(child or _CHILD), mode, str(path), str(start), str(end or 0),
                                   str(out)], capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            raise VideoReadError(f"decoding {path} with OpenCV did not finish in 900 s") from None
        detail = done.stderr.strip()[-400:]
        if done.returncode == 3:  # the child's word: OpenCV opened nothing / decoded nothing
            raise VideoReadError(f"cannot decode video file: {path} ({detail})")
        if done.returncode != 0:
            how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit code {done.returncode}"
            raise VideoReadError(f"the video decoder crashed on {path} (OpenCV, in a child process: {how}): {detail}")
        info = json.loads(done.stdout.strip().splitlines()[-1])
        if mode == "info":
            return info
        return (list(np.load(out)) if info["frames_read"] else []), int(info["declared"])


def video_info(path: str | os.PathLike) -> dict:
    """Frame count, fps, width and height as the container declares them (no decoding)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    opened = _pyav_open(path)
    if opened is None:
        return _opencv_in_child(path, "info")
    container, stream = opened
    with container:
        return {"frames": int(stream.frames or 0), "fps": float(stream.average_rate or 0),
                "width": int(stream.codec_context.width), "height": int(stream.codec_context.height)}


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


def is_mat_source(path) -> bool:
    """A video stored as an array in a MATLAB file: '<file>.mat#<struct>/<field>', the field an H x W x T array
    (the Weizmann dataset's masks; bdqlib.data.weizmann)."""
    return ".mat#" in str(path)


@functools.lru_cache(maxsize=4)
def _mat_structs(path: str, mtime: float) -> dict:
    """{struct: {field: array}} of every 1x1 struct of a MATLAB file (loaded once per process and file version)."""
    from scipy.io import loadmat  # scipy is a dependency; imported here because only MATLAB sources need it

    try:
        mat = loadmat(path)
    except Exception as e:
        raise VideoReadError(f"{path}: not a readable MATLAB file ({type(e).__name__}: {e})") from None
    return {name: {field: np.asarray(value[0, 0][field]) for field in value.dtype.names}
            for name, value in mat.items() if not name.startswith("__") and getattr(value, "dtype", None) is not None
            and value.dtype.names is not None and value.size == 1}


def mat_fields(path, struct: str) -> dict:
    """{field: array} of one struct of a MATLAB file; errors name the file and what it holds."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MATLAB file not found: {path}")
    structs = _mat_structs(str(path.resolve()), path.stat().st_mtime)
    if struct not in structs:
        raise VideoReadError(f"{path}: no struct '{struct}' (it holds {', '.join(structs) or 'no 1x1 struct'})")
    return structs[struct]


def _read_mat(path, start: int, end: int | None) -> np.ndarray:
    """'<file>.mat#<struct>/<field>' (an H x W x T array; non-zero = foreground) -> frames start..end as grey RGB
    (0 / 255)."""
    file, _, inner = str(path).partition("#")
    struct, _, field = inner.partition("/")
    fields = mat_fields(file, struct)
    if field not in fields:
        raise VideoReadError(f"{file}: struct '{struct}' has no field {field!r}")
    array = fields[field]
    if array.ndim != 3:
        raise VideoReadError(f"{file}: {struct}.{field} is {array.shape}, expected H x W x T")
    total = array.shape[-1]
    if end is not None and end > total or start > total:
        raise VideoReadError(f"frames {start}..{end} requested from {path}, which has {total}")
    grey = (np.moveaxis(array[..., start - 1:end], -1, 0) > 0).astype(np.uint8) * 255
    return np.repeat(grey[..., None], 3, axis=-1)


def source_signature(path) -> tuple | None:
    """(bytes, modification time) of a video file or of all files of a frame sequence; None if it is missing."""
    try:
        files = [Path(str(path).partition("#")[0])] if is_mat_source(path) else \
            frame_files(path) if is_frame_sequence(path) else [Path(path)]
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

    Raises FileNotFoundError for a missing file and VideoReadError for one that cannot be decoded (also where the
    decoder itself crashes: see the module docstring); with `strict`, also when decoding stops before the frame
    count the container declares (a truncated file).
    """
    if is_mat_source(path):
        return _read_mat(path, start, end)
    if is_frame_sequence(path):
        return _read_images(path, start, end)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    if start < 1 or (end is not None and end < start):
        raise ValueError(f"frames {start}..{end} of {path}: start must be >= 1 and end >= start")
    decoded = _pyav_frames(path, start, end)
    frames, declared = decoded if decoded is not None else _opencv_in_child(path, "frames", start, end)
    last = end if end is not None else declared
    if not frames:
        raise VideoReadError(f"no frame could be decoded from video file: {path}")
    wanted = (last - start + 1) if (end is not None or declared > 0) else len(frames)
    if strict and len(frames) < wanted:
        raise VideoReadError(f"video file is truncated or corrupt: decoded {len(frames)} of {wanted} frames "
                             f"(frames {start}..{last}) from {path}")
    return np.stack(frames)


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
