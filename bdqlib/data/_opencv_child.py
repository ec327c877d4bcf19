"""OpenCV decoding in a child process (bdqlib.data.video's fallback when PyAV cannot read a file): a native crash of
the decoder kills this process, not the notebook's kernel. Imports only cv2 and numpy.

    python _opencv_child.py info|frames <path> <start> <end or 0> <out.npy>

Prints one JSON line; frames go to out.npy as (T, H, W, 3) uint8 RGB. Exit code 3: OpenCV cannot open the file.
"""
import json
import sys

import cv2
import numpy as np


def main(mode: str, path: str, start: int, end: int, out: str) -> int:
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            print(f"OpenCV cannot open {path}", file=sys.stderr)
            return 3
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if mode == "info":
            print(json.dumps({"frames": declared, "fps": float(cap.get(cv2.CAP_PROP_FPS)),
                              "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}))
            return 0
        frames, index = [], 0
        while not end or index < end:  # from the first frame, as the PyAV route: no seeking
            ok, frame = cap.read()
            if not ok:
                break
            index += 1
            if index >= start:
                frames.append(frame[..., ::-1])  # BGR -> RGB
    finally:
        cap.release()
    if frames:
        np.save(out, np.stack(frames))
    print(json.dumps({"frames_read": len(frames), "declared": declared}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
