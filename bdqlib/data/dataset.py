"""Clip sampling and the dataset every split goes through (paper §4.2).

Training: t consecutive frames from a random start inside the annotated segment; a random scale from
{1, 2^-1/4, 2^-3/4, 1/2} of the frame's short side and a random position (multi-scale crop), resized to S x S.
Validation/test: the t frames at the centre of the segment (no random shift); each frame is resized so its short
side is S (KTH's 120 px -> 224 px in the paper profile: the same magnification a scale-1 training crop gets) and
centre-cropped to S x S. We resize instead of zero-padding (the student reproduction padded silently): padded
borders would be static black bands that the Difference module sees as a constant scene.
Segments shorter than t are skipped and counted (`short_clips="skip"`, default) or looped (`"loop"`; the jump
at the loop point then shows as a large frame difference).

Values: x / 255, then (x - mean) / std per channel (recorded in the run config).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .cache import resize_frames
from .video import read_frames

MULTISCALE = (1.0, 2 ** -0.25, 2 ** -0.75, 0.5)  # paper §4.2
KINETICS_MEAN, KINETICS_STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)


def add_labels(manifest: pd.DataFrame, actions) -> pd.DataFrame:
    """Integer labels: `action_idx` by position in `actions`, `subject_idx` by sorted subject over all splits."""
    unknown = sorted(set(manifest["action"]) - set(actions))
    if unknown:
        raise ValueError(f"actions {unknown} are not among the dataset's classes {list(actions)}")
    subjects = sorted(manifest["subject"].unique())
    out = manifest.copy()
    out["action_idx"] = out["action"].map({a: i for i, a in enumerate(actions)}).astype(int)
    out["subject_idx"] = out["subject"].map({s: i for i, s in enumerate(subjects)}).astype(int)
    return out


def to_unit(video, mean, std, *, channel_dim: int = 1):
    """The inverse of this module's normalisation: normalised video -> grey levels in the [0, 1] scale (not
    clamped), the channels at `channel_dim` ((B, C, T, H, W): 1; one clip (C, T, H, W): 0)."""
    shape = [1] * video.dim()
    shape[channel_dim] = -1
    m = torch.as_tensor(mean, dtype=video.dtype, device=video.device).view(shape)
    s = torch.as_tensor(std, dtype=video.dtype, device=video.device).view(shape)
    return video * s + m


class DecodedFrames:
    """Frame source that decodes the needed frames from the video file on every request (no cache).

    This is how the student reproduction read clips; kept for the loading benchmark and for datasets too large
    to cache. `short_side` resizes like the cache does, so both sources give the same clips.
    """

    def __init__(self, paths: dict, short_side: int | None = None):
        self.paths, self.short_side = paths, short_side

    def clip(self, video: str, first: int, count: int) -> np.ndarray:
        return resize_frames(read_frames(self.paths[video], start=first, end=first + count - 1), self.short_side)


class CachedFrames:
    """Frame source over a FrameCache (memory-mapped .npy per video)."""

    def __init__(self, cache):
        self.cache = cache

    def clip(self, video: str, first: int, count: int) -> np.ndarray:
        return self.cache.clip(video, first, count)


def temporal_window(start: int, end: int, t: int, *, train: bool, generator=None) -> np.ndarray:
    """1-based frame numbers of the t frames sampled from segment start..end (looped if it is shorter)."""
    length = end - start + 1
    if length < t:
        return start + np.arange(t) % length
    offset = int(torch.randint(0, length - t + 1, (1,), generator=generator)) if train else (length - t) // 2
    return start + offset + np.arange(t)


CROPS = ("square", "frame")


def spatial_transform(frames: torch.Tensor, size: int, *, train: bool, scales=MULTISCALE,
                      generator=None, crop: str = "square") -> torch.Tensor:
    """(T, 3, H, W) float -> (T, 3, size, size): multi-scale random crop (train) or resize + centre crop.

    crop "frame": (T, 3, size, W') with W' = W * size / H (short side `size`, the frame's aspect kept): training
    crops of `scales` of the whole frame (both sides), at a random position; the test sees the whole frame."""
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {', '.join(CROPS)}, got {crop!r}")
    _, _, h, w = frames.shape
    short = min(h, w)
    if crop == "frame":
        out = (size, max(size, round(w * size / h))) if h <= w else (max(size, round(h * size / w)), size)
    else:
        out = (size, size)
    if train:
        s = scales[int(torch.randint(0, len(scales), (1,), generator=generator))]
        ch, cw = (max(1, round(s * h)), max(1, round(s * w))) if crop == "frame" else (max(1, round(s * short)),) * 2
        y0 = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
        x0 = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
        frames = frames[:, :, y0:y0 + ch, x0:x0 + cw]
    elif crop == "square":
        if short != size:
            k = size / short
            frames = F.interpolate(frames, size=(max(size, round(h * k)), max(size, round(w * k))),
                                   mode="bilinear", antialias=True, align_corners=False)
            h, w = frames.shape[-2:]
        y0, x0 = (h - size) // 2, (w - size) // 2
        frames = frames[:, :, y0:y0 + size, x0:x0 + size]
    if tuple(frames.shape[-2:]) != out:
        frames = F.interpolate(frames, size=out, mode="bilinear", antialias=True, align_corners=False)
    return frames


class VideoClipDataset(torch.utils.data.Dataset):
    """Clips of a manifest as `(clip, action, subject)`: clip float (C, T, S, S), labels int.

    Args:
        manifest: rows with video, start, end (1-based inclusive), action_idx, subject_idx (see add_labels).
        frames: a CachedFrames or DecodedFrames source.
        num_frames: t. size: S. train: random sampling (True) or the deterministic test sampling.
        mean, std: per-channel normalisation after scaling to [0, 1].
        crop: "square" (S x S) or "frame" (the frame's aspect, short side S; see spatial_transform).
        short_clips: "skip" (default; `self.skipped` counts them) or "loop".
    Randomness comes from torch's global generator (seeded per run and per DataLoader worker), so a run with
    a fixed seed samples the same clips, and a resumed run continues the same sequence.
    """

    def __init__(self, manifest: pd.DataFrame, frames, *, num_frames: int, size: int, train: bool,
                 mean=KINETICS_MEAN, std=KINETICS_STD, scales=MULTISCALE, short_clips: str = "skip",
                 crop: str = "square"):
        if short_clips not in ("skip", "loop"):
            raise ValueError(f"short_clips must be 'skip' or 'loop', got {short_clips!r}")
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {', '.join(CROPS)}, got {crop!r}")
        self.crop = crop
        missing = {"video", "start", "end", "action_idx", "subject_idx"} - set(manifest.columns)
        if missing:
            raise ValueError(f"manifest lacks columns {sorted(missing)}")
        short = (manifest["end"] - manifest["start"] + 1) < num_frames
        self.skipped = int(short.sum()) if short_clips == "skip" else 0
        self.manifest = (manifest[~short] if short_clips == "skip" else manifest).reset_index(drop=True)
        self.frames, self.num_frames, self.size, self.train = frames, num_frames, size, train
        self.scales = tuple(scales)
        # (x / 255 - mean) / std as one multiply-add on grey levels: x * gain + bias, per channel
        std_t, mean_t = torch.tensor(std, dtype=torch.float32), torch.tensor(mean, dtype=torch.float32)
        self.gain = (1.0 / (255.0 * std_t)).view(3, 1, 1, 1)
        self.bias = (-mean_t / std_t).view(3, 1, 1, 1)
        self._rows = list(zip(self.manifest["video"], self.manifest["start"], self.manifest["end"],
                              self.manifest["action_idx"], self.manifest["subject_idx"]))

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):
        video, start, end, action, subject = self._rows[i]
        idx = temporal_window(int(start), int(end), self.num_frames, train=self.train)
        first = int(idx.min())
        raw = self.frames.clip(video, first, int(idx.max()) - first + 1)[idx - first]  # (T, H, W, 3) uint8
        x = torch.from_numpy(np.ascontiguousarray(raw)).permute(0, 3, 1, 2).float()  # grey levels 0..255
        x = spatial_transform(x, self.size, train=self.train, scales=self.scales, crop=self.crop)  # (T, 3, S, S); linear, so
        out = torch.empty(x.shape[1], x.shape[0], *x.shape[2:])  # (C, T, S, S), contiguous
        torch.addcmul(self.bias, x.permute(1, 0, 2, 3), self.gain, out=out)  # normalising after it is the same
        return out, int(action), int(subject)
