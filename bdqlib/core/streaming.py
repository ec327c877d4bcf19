"""BDQ at the point of capture: one frame in, one encoded frame out, keeping only the previous blurred frame.

The batch encoder normalises the quantizer's input by each clip's min/max, which needs the future. A camera cannot
wait, so the streaming encoder uses a fixed value range (lo, hi) for the frame difference -- calibrated once from
training clips with `calibrate_range` (the median of the per-clip minima and maxima), or given. With that range,
its output equals `encoder.quantize(difference, lo, hi)` of the batch encoder.

Blur and difference are linear, so the input normalisation (x / 255 - mean) / std can be applied after
differencing: the constant offset cancels, even at zero-padded borders. The camera path therefore blurs the raw
frames and scales the difference per channel by 1 / (255 std).

Two precisions:
* "float" (default): float32 frames, blur with OpenCV's separable filter (zero border), output as the batch
  encoder's within float rounding.
* "uint8": blur in 8-bit fixed point and look the quantizer up in two 256-entry tables (cv2.LUT on the rising
  and the falling part of the difference): ~20x faster, with the blurred frames rounded to whole grey levels
  (output within ~1 grey level of the float path). This is what a cheap camera would run.
"""
from __future__ import annotations

import copy

import cv2
import numpy as np
import torch

from .encoder import BDQEncoder, frame_difference, gaussian_blur, gaussian_kernel1d, value_range


@torch.no_grad()
def calibrate_range(encoder: BDQEncoder, clips) -> tuple[float, float]:
    """(lo, hi) for streaming: medians of the per-clip min and max of the blurred frame differences.

    `clips` is an iterable of (B, C, T, H, W) tensors in the encoder's input units (or (clip, ...) tuples).
    """
    los, his = [], []
    for batch in clips:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        x = x.to(encoder.bin_centres.device, encoder.bin_centres.dtype)  # a CPU clip for an encoder on a GPU
        d = frame_difference(gaussian_blur(x, encoder.sigma, encoder.kernel_size) if encoder.use_blur else x)
        lo, hi = value_range(d, "clip")
        los += lo.flatten().tolist()
        his += hi.flatten().tolist()
    if not los:
        raise ValueError("calibrate_range needs at least one clip")
    return float(np.median(los)), float(np.median(his))


class StreamingBDQ:
    """Encode a video frame by frame: `encode(frame)` takes (H, W, 3) uint8 RGB, returns (H, W, 3) float32 or None.

    The first frame only primes the state (a difference needs two frames) and returns None. Output values are in
    the batch encoder's units (normalised input scale). Uses one OpenCV thread unless told otherwise.
    """

    def __init__(self, encoder: BDQEncoder, value_range: tuple[float, float], *, mean=(0.45, 0.45, 0.45),
                 std=(0.225, 0.225, 0.225), precision: str = "float", threads: int = 1):
        if not (encoder.use_blur and encoder.use_difference and encoder.use_quantize):
            raise ValueError("StreamingBDQ runs the full B+D+Q encoder")
        if precision not in ("float", "uint8"):
            raise ValueError(f"precision must be 'float' or 'uint8', got {precision!r}")
        cv2.setNumThreads(threads)
        encoder = copy.deepcopy(encoder).cpu().float().eval()  # a camera's path runs on the CPU, in float32
        self.precision = precision
        self.lo, self.hi = float(value_range[0]), float(value_range[1])
        self.scale = 1.0 / (255.0 * np.asarray(std, np.float32))  # raw grey levels -> normalised units
        sigma = encoder.sigma.detach().double()
        self.kernel = gaussian_kernel1d(sigma, encoder.kernel_size).numpy().astype(np.float32)
        self.ksize, self.sigma = encoder.kernel_size, float(sigma)
        # The quantizer as a function of the normalised difference, evaluated exactly by the encoder itself.
        self._quantize = lambda d: encoder.quantize(d, torch.tensor(self.lo), torch.tensor(self.hi))
        self._tables = self._uint8_tables() if precision == "uint8" else None
        self.previous = None

    def reset(self) -> None:
        self.previous = None

    def _blur(self, frame: np.ndarray) -> np.ndarray:
        if self.precision == "uint8":
            return cv2.GaussianBlur(frame, (self.ksize, self.ksize), self.sigma, borderType=cv2.BORDER_CONSTANT)
        return cv2.sepFilter2D(frame.astype(np.float32), -1, self.kernel, self.kernel,
                               borderType=cv2.BORDER_CONSTANT)

    @torch.no_grad()
    def _uint8_tables(self):
        """Two cv2.LUT tables (256, 1, 3) float32, per channel: rising[k] = f(+k), falling[k] = f(-k) - f(0).

        f(d) is the output for a blurred difference of d grey levels. Per pixel one of the two saturating
        differences (blurred - previous, previous - blurred) is 0, so rising[pos] + falling[neg] = f(d).
        """
        k = torch.arange(256, dtype=torch.float32)[:, None] * torch.from_numpy(self.scale)[None, :]  # (256, 3)
        pos, neg = self._quantize(k).numpy(), self._quantize(-k).numpy()
        return pos[:, None, :].copy(), (neg - pos[:1])[:, None, :].copy()

    @torch.no_grad()
    def encode(self, frame: np.ndarray):
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame.shape} {frame.dtype}")
        blurred = self._blur(frame)
        previous, self.previous = self.previous, blurred
        if previous is None or previous.shape != blurred.shape:
            return None
        if self.precision == "float":
            d = cv2.subtract(blurred, previous)
            d *= self.scale
            return self._quantize(torch.from_numpy(d)).numpy()
        rising, falling = self._tables
        out = cv2.LUT(cv2.subtract(blurred, previous), rising)  # saturating uint8 differences
        return cv2.add(out, cv2.LUT(cv2.subtract(previous, blurred), falling), dst=out)


class ExportedBDQ(torch.nn.Module):
    """The trained encoder with everything fixed -- plain tensor ops, for TorchScript export (see `export`).

    Input (B, C, T, H, W) in the encoder's units; output (B, C, T-1, H, W). Uses the given fixed value range, or
    per-clip min/max when lo/hi are None.
    """

    def __init__(self, encoder: BDQEncoder, value_range=None):
        super().__init__()
        with torch.no_grad():
            self.register_buffer("taps", gaussian_kernel1d(encoder.sigma.detach().float().cpu(), encoder.kernel_size))
            self.register_buffer("bins", encoder.bins.float().cpu())
            fixed = value_range is not None
            self.register_buffer("range", torch.tensor(value_range if fixed else (0.0, 0.0), dtype=torch.float32))
        self.fixed_range, self.hardness, self.num_bins = fixed, float(encoder.hardness), float(encoder.num_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        n = b * c * t
        k = self.taps.numel()
        f = x.reshape(1, n, h, w)
        f = torch.nn.functional.conv2d(f, self.taps.view(1, 1, 1, k).expand(n, 1, 1, k), padding=(0, k // 2), groups=n)
        f = torch.nn.functional.conv2d(f, self.taps.view(1, 1, k, 1).expand(n, 1, k, 1), padding=(k // 2, 0), groups=n)
        f = f.view(b, c, t, h, w)
        d = f[:, :, 1:] - f[:, :, :-1]
        if self.fixed_range:
            lo, hi = self.range[0], self.range[1]
        else:
            lo = d.amin(dim=(1, 2, 3, 4), keepdim=True)
            hi = d.amax(dim=(1, 2, 3, 4), keepdim=True)
        z = (d - lo) / (hi - lo + 1e-4) * self.num_bins
        y = torch.sigmoid(self.hardness * (z.unsqueeze(-1) - self.bins)).sum(-1)
        return y * torch.clamp((hi - lo) / self.num_bins, min=1e-4) + lo


def export_torchscript(encoder: BDQEncoder, path, value_range=None):
    """Save the trained encoder as TorchScript: `torch.jit.load(path)` runs it without bdqlib installed."""
    import warnings
    module = ExportedBDQ(encoder, value_range).eval()
    with warnings.catch_warnings():  # torch.jit is deprecated in favour of torch.export, but still the portable format
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(module)
        scripted.save(str(path))
    return path
