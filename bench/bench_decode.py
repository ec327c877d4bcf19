"""Decoding speed: PyAV (what bdqlib.data.video.read_frames uses) against OpenCV in-process (what it used before),
on the same files, each file decoded whole.

    .venv/bin/python bench/bench_decode.py [folder with .avi files] [--files 40] [--repeats 3]

Default folder: data/synthetic (the default run's videos; written on first use of the default run). Prints the
seconds per file of each decoder (best of `repeats`), their ratio, and whether every file gave the same bytes.
OpenCV is timed in this process on purpose (no child process) -- the fallback route's startup is not what is compared.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from bdqlib.data import video


def opencv_frames(path: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame[..., ::-1])
    cap.release()
    return np.stack(frames)


def best_of(fn, files, repeats: int) -> tuple[float, list]:
    times, out = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = [fn(f) for f in files]
        times.append(time.perf_counter() - t0)
    return min(times) / len(files), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="data/synthetic")
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    files = sorted(Path(args.folder).glob("*.avi"))[:args.files]
    if not files:
        print(f"error: no .avi files in {args.folder}", file=sys.stderr)
        return 2
    pyav, a = best_of(video.read_frames, files, args.repeats)
    ocv, b = best_of(opencv_frames, files, args.repeats)
    same = all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))
    frames = sum(len(x) for x in a) / len(a)
    print(f"{len(files)} files of {args.folder} ({frames:.0f} frames each on average), best of {args.repeats}:")
    print(f"  PyAV   {pyav * 1000:7.1f} ms per file")
    print(f"  OpenCV {ocv * 1000:7.1f} ms per file")
    print(f"  PyAV / OpenCV = {pyav / ocv:.2f}; same bytes on every file: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
