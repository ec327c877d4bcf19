"""A simulated event camera (DVS), as an encoder with BDQEncoder's interface (paper §5.6, Fig. 8).

The model is the one of video-to-events simulators (ESIM; Gehrig et al., CVPR 2020, whom the paper uses; v2e):
every pixel keeps a reference log intensity L_ref; whenever log intensity L moves a contrast threshold C away
from it, the pixel fires an event of that sign and L_ref moves by C toward L -- so a change of k C fires k events,
and the reference is reset to the level of the last event, not to L:

    n_t = trunc((L_t - L_ref) / C)          signed number of events between frame t-1 and frame t
    L_ref <- L_ref + n_t C                  (L_ref starts at L_0)

Events between two frames are counted, not timed: with the simulators' linear interpolation of L between frames
the count is the same, and an event frame (the representation the paper's networks are trained on) only needs the
count. v2e (PyPI) simulates this model and more (frame interpolation, noise, refractory period) from video files on
disk; here the encoder runs on the clips the harness already reads, so it is these lines, tested on hand-computed
pixels (tests/test_dvs.py).

Shapes: (B, C, T, H, W) normalised video in -> (B, 3, T-1, H, W) event frames out, channels (ON count, OFF count,
ON - OFF): T frames give T-1 intervals, as BDQ's Difference gives T-1 frames.
"""
from __future__ import annotations

import torch
from torch import nn

from ..data.dataset import to_unit
from .registry import Method, register

LOG_EPS = 1.0 / 255  # L = log(I + LOG_EPS), I in [0, 1]: one grey level of offset keeps black pixels finite


def log_intensity(video: torch.Tensor, mean, std) -> torch.Tensor:
    """(B, C, T, H, W) normalised video -> (B, T, H, W) log of its grey level in [0, 1] (channel mean)."""
    grey = to_unit(video, mean, std).mean(dim=1).clamp(0, 1)
    return torch.log(grey + LOG_EPS)


def simulate_events(log_video: torch.Tensor, threshold: float) -> torch.Tensor:
    """Signed event counts per pixel and frame interval: (..., T, H, W) log intensity -> (..., T-1, H, W).

    Positive entries count ON events (brighter by `threshold` per event), negative ones OFF events.
    """
    if threshold <= 0:
        raise ValueError(f"the contrast threshold must be positive, got {threshold}")
    if log_video.shape[-3] < 2:
        raise ValueError(f"events need at least 2 frames, got T={log_video.shape[-3]}")
    ref = log_video[..., 0, :, :].clone()
    counts = []
    for t in range(1, log_video.shape[-3]):
        n = torch.trunc((log_video[..., t, :, :] - ref) / threshold)
        ref = ref + n * threshold
        counts.append(n)
    return torch.stack(counts, dim=-3)


class EventCamera(nn.Module):
    """Video -> event frames at contrast threshold `threshold` (log-intensity units). No parameters.

    mean, std: the input's normalisation (the config's), undone before taking the log intensity.
    """

    def __init__(self, threshold: float, *, mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225)):
        super().__init__()
        if threshold <= 0:
            raise ValueError(f"the contrast threshold must be positive, got {threshold}")
        self.threshold, self.mean, self.std = float(threshold), tuple(mean), tuple(std)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.dim() != 5:
            raise ValueError(f"expected a video batch (B, C, T, H, W), got shape {tuple(video.shape)}")
        n = simulate_events(log_intensity(video.float(), self.mean, self.std), self.threshold)
        on, off = n.clamp(min=0), (-n).clamp(min=0)
        return torch.stack([on, off, on - off], dim=1).to(video.dtype)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold:g}"


def event_method(threshold: float) -> str:
    """The results.csv method name of an event camera: dvs_<threshold>."""
    return f"dvs_{threshold:g}"


register(Method("dvs", family="dvs", colour="tab:cyan", description="a simulated event camera (video-to-events model) at contrast "
                                                  "threshold C in log-intensity units, as ON/OFF/difference frames",
                pattern=r"dvs_(\d+(?:\.\d+)?)", parse=float,
                build=lambda run, alpha, arg: EventCamera(arg, mean=run.cfg.mean, std=run.cfg.std),
                strength=lambda arg, alpha: 4 * arg))
