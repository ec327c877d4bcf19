"""Streaming BDQ at the point of capture: frames/s on one CPU thread, and a real video encoded end to end.

    .venv/bin/python bench/bench_streaming.py [--video path.avi] [--frames 120]

Part 1 feeds synthetic camera frames (uint8 RGB, 1920x1080 and KTH's 160x120) to `StreamingBDQ` one at a time
and prints frames/s for both precisions (float: the batch encoder's arithmetic; uint8: 8-bit blur + table lookup).
Part 2 decodes a real video with OpenCV and encodes it frame by frame, printing decode vs encode time; the video is
the first of ../shared/data/kth-sample when present, else a synthetic KTH-format video written to a temp folder.
The encoder is BDQ with sigma 2 and the default bins (a trained encoder runs at the same speed: same operations).
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from bdqlib import BDQEncoder
from bdqlib.core.streaming import StreamingBDQ
from bdqlib.data.video import read_frames

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kth-sample"
TARGETS = {(1080, 1920): 30.0, (120, 160): 300.0}  # frames/s, issue "Performance"


def camera_frames(h, w, n, seed=0):
    """A moving smooth pattern plus noise: realistic-looking differences without any file I/O."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (h // 16 + 2, w // 16 + 2, 3), dtype=np.uint8), (w + 32, h + 32))
    return [np.ascontiguousarray(base[i % 32:i % 32 + h, i % 32:i % 32 + w]) for i in range(n)]


def frames_per_second(stream, frames):
    stream.reset()
    stream.encode(frames[0])
    start = time.perf_counter()
    for f in frames[1:]:
        stream.encode(f)
    return (len(frames) - 1) / (time.perf_counter() - start)


def find_video(tmp: Path) -> Path:
    videos = sorted(SAMPLE.glob("*.avi")) if SAMPLE.is_dir() else []
    if videos:
        return videos[0]
    from bdqlib.data.synthetic import make_kth_like
    root = make_kth_like(tmp / "synthetic", subjects=1, scenarios=("d1",), log=None)
    return sorted(Path(root).glob("*.avi"))[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="a video file to encode end to end (default: a KTH sample)")
    parser.add_argument("--frames", type=int, default=120, help="frames per speed measurement")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    encoder = BDQEncoder(sigma=2.0).eval()
    value_range = (-2.0, 2.0)
    print(f"machine: {platform.processor() or platform.machine()}, 1 thread (torch and OpenCV), "
          f"OpenCV {cv2.__version__}, torch {torch.__version__}")
    print(f"{'resolution':<12}{'precision':<10}{'frames/s (best of ' + str(args.repeats) + ')':>26}{'target':>9}")
    for (h, w), target in TARGETS.items():
        frames = camera_frames(h, w, args.frames)
        for precision in ("float", "uint8"):
            stream = StreamingBDQ(encoder, value_range, precision=precision, threads=1)
            fps = max(frames_per_second(stream, frames) for _ in range(args.repeats))
            print(f"{w}x{h:<8}{precision:<10}{fps:>26.0f}{target:>8.0f}{'  met' if fps >= target else '  NOT met'}")

    with tempfile.TemporaryDirectory() as tmp:
        video = args.video or find_video(Path(tmp))
        start = time.perf_counter()
        frames = read_frames(video)
        decode = time.perf_counter() - start
        print(f"\nend to end: {video.name}, {len(frames)} frames of {frames.shape[2]}x{frames.shape[1]}")
        print(f"  decode (OpenCV, all frames)  {decode * 1e3:8.1f} ms  ({len(frames) / decode:7.0f} frames/s)")
        for precision in ("float", "uint8"):
            stream = StreamingBDQ(encoder, value_range, precision=precision, threads=1)
            start = time.perf_counter()
            for f in frames:
                stream.encode(f)
            encode = time.perf_counter() - start
            print(f"  encode ({precision:<5})               {encode * 1e3:8.1f} ms  ({len(frames) / encode:7.0f} "
                  f"frames/s)")


if __name__ == "__main__":
    main()
