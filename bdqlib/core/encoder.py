"""The BDQ encoder: Blur -> Difference -> Quantization (Kumawat & Nagahara, ECCV 2022, §3.1).

Video layout, here and everywhere in bdqlib: (B, C, T, H, W), float. The encoder has 16 learnable numbers:
the blur's sigma and the 15 bin centres of the soft quantizer.

* Blur: a kernel_size x kernel_size Gaussian G_sigma, normalised to sum 1, the same on every channel and frame,
  zero padding (H, W kept). Run as two 1-D passes; the 2-D convolution gives the same result (tested).
* Difference: frame t minus frame t-1, so T frames give T-1. No wrap-around frame.
* Quantization: min-max map to z in [0, num_bins], y = sum_i sigmoid(hardness (z - b_i)), map back to the
  input's units (y * s + min). "batch" normalisation takes min/max over the whole batch, exactly as the authors'
  code does; "clip" takes them per clip, so a clip encodes the same whatever batch it is in. Both use the
  authors' guards: z = (x - min) / (max - min + 1e-4) * num_bins and s = max((max - min) / num_bins, 1e-4),
  so constant input stays finite, and "clip" on a batch of one equals "batch".
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .quantize import quantize_lut_inference, soft_staircase_exact, soft_staircase_lut

# The paper learns sigma but does not state its initial value. The authors' released code fixes sigma = 3; with a
# 5x5 window that kernel is already almost a box filter (edge tap 0.80 of the centre) and d(kernel)/d(sigma) is
# small, so a learnable sigma barely moves from there. At sigma = 1 (the student reproduction's start) the window
# holds 95 % of the 1-D mass and the kernel is most sensitive to sigma, so training can move it either way.
DEFAULT_SIGMA = 1.0
RANGE_EPS = 1e-4  # the authors' guards: added to (max - min) before dividing, and the floor of the output scale
MODULE_NAMES = ("B", "D", "Q", "B+D", "B+Q", "D+Q", "B+D+Q")  # ablation names (paper §5.1)


def as_input_of(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """x on `module`'s device and in its floating dtype, read from its first parameter or else its first floating
    buffer (a fixed blur's kernel, ELR's transform bank); a module with neither takes x as it is. For looking at
    an encoder's output outside training, wherever and in whatever precision the encoder lives."""
    tensors = list(module.parameters()) + [b for b in module.buffers() if b.is_floating_point()]
    return x if not tensors else x.to(tensors[0].device, tensors[0].dtype)


@torch.no_grad()
def encode_clip(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """module(x) in eval mode without autograd, x moved to the module's device and dtype first; the output stays
    on that device (callers that leave torch take `.float().cpu()`). What the notebooks' figures call: a clip from
    the dataset is a CPU tensor, a trained encoder or U-Net may live on a GPU."""
    return module.eval()(as_input_of(module, x))


def gaussian_kernel1d(sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Normalised 1-D Gaussian taps, shape (kernel_size,), differentiable in sigma."""
    x = torch.arange(kernel_size, dtype=sigma.dtype, device=sigma.device) - (kernel_size - 1) / 2
    w = torch.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def gaussian_kernel2d(sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """G_sigma(x, y) = exp(-(x^2 + y^2) / (2 sigma^2)) / (2 pi sigma^2) on the window, normalised: (k, k)."""
    x = torch.arange(kernel_size, dtype=sigma.dtype, device=sigma.device) - (kernel_size - 1) / 2
    r2 = x[:, None] ** 2 + x[None, :] ** 2
    g = torch.exp(-r2 / (2 * sigma**2)) / (2 * math.pi * sigma**2)
    return g / g.sum()


def gaussian_blur(video: torch.Tensor, sigma: torch.Tensor, kernel_size: int, *, separable: bool = True):
    """Blur every frame of a (B, C, T, H, W) video with the same Gaussian; zero padding; same shape out.

    The B*C*T frames are laid out as the channels of one image for a depthwise convolution: with PyTorch's CPU
    kernels this is ~35x faster than a batch of single-channel images. When nothing needs a gradient (inference,
    or training with E frozen) a float32 CPU video goes through OpenCV's SIMD separable filter instead, another
    ~6x faster, with the same result within float rounding (bench/bench_encoder.py, tests/test_encoder.py).
    """
    needs_grad = torch.is_grad_enabled() and (video.requires_grad or sigma.requires_grad)
    on_cpu = video.device.type == "cpu" and sigma.device.type == "cpu"  # a CUDA sigma cannot go to OpenCV
    if separable and not needs_grad and on_cpu and video.dtype == torch.float32:
        return _blur_opencv(video, sigma, kernel_size)
    b, c, t, h, w = video.shape
    n = b * c * t
    frames = video.reshape(1, n, h, w)
    pad = kernel_size // 2
    if separable:
        k = gaussian_kernel1d(sigma, kernel_size).to(video.dtype)
        frames = F.conv2d(frames, k.view(1, 1, 1, -1).expand(n, 1, 1, -1), padding=(0, pad), groups=n)
        frames = F.conv2d(frames, k.view(1, 1, -1, 1).expand(n, 1, -1, 1), padding=(pad, 0), groups=n)
    else:
        k = gaussian_kernel2d(sigma, kernel_size).to(video.dtype)
        frames = F.conv2d(frames, k.view(1, 1, kernel_size, kernel_size).expand(n, 1, -1, -1), padding=pad,
                          groups=n)
    return frames.view(b, c, t, h, w)


def _blur_opencv(video: torch.Tensor, sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """gaussian_blur without autograd for CPU float32, frame by frame with cv2.sepFilter2D (zero border)."""
    k = gaussian_kernel1d(sigma.detach(), kernel_size).to(torch.float32).numpy()
    src = video.detach().contiguous()
    frames = src.numpy().reshape(-1, *src.shape[-2:])
    out = np.empty_like(frames)
    for i in range(frames.shape[0]):
        cv2.sepFilter2D(frames[i], -1, k, k, dst=out[i], borderType=cv2.BORDER_CONSTANT)
    return torch.from_numpy(out).view(video.shape)


def frame_difference(video: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, C, T-1, H, W): frame t minus frame t-1."""
    if video.shape[2] < 2:
        raise ValueError(f"the Difference module needs at least 2 frames, got T={video.shape[2]}")
    return video[:, :, 1:] - video[:, :, :-1]


def value_range(x: torch.Tensor, normalization: str):
    """(min, max) used by the quantizer: scalars for "batch", shape (B, 1, 1, 1, 1) for "clip"."""
    if normalization == "batch":
        return x.min(), x.max()
    if normalization == "clip":
        dims = tuple(range(1, x.dim()))
        return x.amin(dim=dims, keepdim=True), x.amax(dim=dims, keepdim=True)
    raise ValueError(f"normalization must be 'clip' or 'batch', got {normalization!r}")


class BDQEncoder(nn.Module):
    """Blur -> Difference -> Quantization with ablation toggles.

    Args (keyword-only after the three toggles):
        blur, difference, quantize: which modules run; all False is the identity ("raw" baseline).
        kernel_size: odd blur window (paper: 5).
        sigma: initial blur standard deviation (default DEFAULT_SIGMA, see its comment).
        learn_sigma: sigma is a parameter (stored as log sigma, so it stays positive) or a fixed buffer.
        num_bins: number of learnable bin centres, initialised 0.5, 1.5, ..., num_bins - 0.5 (paper: 15).
        hardness: sigmoid slope H (paper: 5).
        normalization: "clip" (per clip min/max) or "batch" (whole-batch min/max, the authors' code).
        impl: quantizer implementation, "auto" (tabulated for float32/16, exact for float64), "exact" or "lut".
        dead_zone: not in the paper (off by default): a learnable threshold tau >= 0 after the difference,
            d -> sign(d) max(|d| - tau, 0) (soft thresholding), so small changes (texture, sensor noise, slow
            appearance cues) can be zeroed before quantization. Starts at 0, where it is the identity.

    Input (B, C, T, H, W) float; output (B, C, T-1, H, W) with difference, else (B, C, T, H, W), in the input's
    units.
    """

    def __init__(self, blur: bool = True, difference: bool = True, quantize: bool = True, *,
                 kernel_size: int = 5, sigma: float = DEFAULT_SIGMA, learn_sigma: bool = True,
                 num_bins: int = 15, hardness: float = 5.0, normalization: str = "clip", impl: str = "auto",
                 dead_zone: bool = False):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        if num_bins < 1:
            raise ValueError(f"num_bins must be positive, got {num_bins}")
        if normalization not in ("clip", "batch"):
            raise ValueError(f"normalization must be 'clip' or 'batch', got {normalization!r}")
        if impl not in ("auto", "exact", "lut"):
            raise ValueError(f"impl must be 'auto', 'exact' or 'lut', got {impl!r}")
        self.use_blur, self.use_difference, self.use_quantize = blur, difference, quantize
        self.kernel_size, self.num_bins, self.hardness = kernel_size, num_bins, float(hardness)
        self.normalization, self.impl = normalization, impl
        log_sigma = torch.tensor(math.log(sigma))
        if learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)
        self.bin_centres = nn.Parameter(torch.arange(num_bins, dtype=torch.float32) + 0.5)
        # only when asked for, so the paper's encoder keeps its exact parameters and state dict
        self.dead_zone = nn.Parameter(torch.tensor(0.0)) if dead_zone else None

    @property
    def sigma(self) -> torch.Tensor:
        return self.log_sigma.exp()

    @property
    def bins(self) -> torch.Tensor:
        """The current bin centres, clamped to [0, num_bins] and sorted (a detached copy)."""
        return self.bin_centres.detach().clamp(0, self.num_bins).sort().values

    @property
    def modules_name(self) -> str:
        """"B+D+Q", "D", ... or "raw" for the identity."""
        parts = [n for n, on in zip("BDQ", (self.use_blur, self.use_difference, self.use_quantize)) if on]
        return "+".join(parts) or "raw"

    def project_bins_(self, optimizer=None) -> None:
        """Keep the bins in [0, num_bins] and sorted, in place (the authors' projection, done every forward).

        Sorting moves values between bin slots; `optimizer` (or each of its `.optimizers`) gets the same
        permutation applied to its per-parameter state (SGD momentum, Adam moments), so a bin that crosses its
        neighbour keeps its own momentum instead of taking the neighbour's. Call it after every optimizer step.
        """
        with torch.no_grad():
            clamped = self.bin_centres.clamp(0, self.num_bins)
            order = clamped.argsort(stable=True)
            self.bin_centres.copy_(clamped[order])
            if optimizer is None:
                return
            for opt in getattr(optimizer, "optimizers", (optimizer,)):
                for value in opt.state.get(self.bin_centres, {}).values():
                    if torch.is_tensor(value) and value.shape == self.bin_centres.shape:
                        value.copy_(value[order])

    def project_(self, optimizer=None) -> None:
        """After an optimizer step: the bins' projection (`project_bins_`) and the dead zone (if any) back to >= 0.
        Projected, not only clamped in forward: a clamp would stop its gradient for good once a step took it below
        0. (Not in forward itself: the graph of that forward still needs the value.)"""
        if self.dead_zone is not None:
            with torch.no_grad():
                self.dead_zone.clamp_(min=0)
        self.project_bins_(optimizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"expected a video batch (B, C, T, H, W), got shape {tuple(x.shape)}")
        if self.use_blur:
            x = gaussian_blur(x, self.sigma, self.kernel_size)
        if self.use_difference:
            x = frame_difference(x)
            if self.dead_zone is not None:
                x = torch.sign(x) * torch.relu(x.abs() - self.dead_zone.clamp(min=0))
        if self.use_quantize:
            lo, hi = value_range(x, self.normalization)
            x = self.quantize(x, lo, hi)
        return x

    def quantize(self, x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """Quantize x with a given value range (lo, hi) (broadcastable to x), output in x's units."""
        self.project_bins_()
        n = self.num_bins
        span = hi - lo
        gain = n / (span + RANGE_EPS)
        impl = self.impl if self.impl != "auto" else ("exact" if x.dtype == torch.float64 else "lut")
        needs_grad = torch.is_grad_enabled() and (x.requires_grad or self.bin_centres.requires_grad)
        # The inference table walks clip by clip with Python scalars: fast on a CPU, but on a GPU each clip would
        # sync the device, so there the vectorised table below serves inference too.
        if impl == "lut" and not needs_grad and x.device.type == "cpu" and x.dim() >= 1 and x.shape[0] > 0:
            return quantize_lut_inference(x, lo, hi, self.bin_centres.detach().to(x.dtype), self.hardness, n,
                                          RANGE_EPS)
        if impl == "exact":
            z = (x - lo) / (span + RANGE_EPS) * n  # the formula as written
            y = soft_staircase_exact(z, self.bin_centres, self.hardness)
        else:
            z = torch.addcmul(-lo * gain, x, gain)  # the same map in one pass over the data
            y = soft_staircase_lut(z, self.bin_centres.to(x.dtype), self.hardness, float(n))
        return torch.addcmul(lo, y, torch.clamp(span / n, min=RANGE_EPS))

    def staircase(self, z: torch.Tensor) -> torch.Tensor:
        """The quantizer's transfer function on normalised input z in [0, num_bins] (for plots)."""
        return soft_staircase_exact(z, self.bins.to(z.dtype), self.hardness)

    def with_modules(self, name: str) -> "BDQEncoder":
        """A copy that runs only the named modules ("B", "D+Q", "B+D+Q", ..., or "raw"), sharing nothing."""
        if name != "raw" and name not in MODULE_NAMES:
            raise ValueError(f"module combination must be one of {MODULE_NAMES} or 'raw', got {name!r}")
        parts = set(name.split("+")) if name != "raw" else set()
        enc = BDQEncoder("B" in parts, "D" in parts, "Q" in parts, kernel_size=self.kernel_size,
                         sigma=float(self.sigma.detach()), learn_sigma=isinstance(self.log_sigma, nn.Parameter),
                         num_bins=self.num_bins, hardness=self.hardness, normalization=self.normalization,
                         impl=self.impl, dead_zone=self.dead_zone is not None)
        enc.load_state_dict(self.state_dict())
        return enc.to(self.bin_centres.device)

    def stages(self, x: torch.Tensor) -> dict:
        """x (B, C, T, H, W) after each module this encoder runs, in order: {"input": x, "B": ..., "B+D": ...,
        "B+D+Q": ...} (for an ablation such as "D+Q": input, D, D+Q). For looking at, not for training."""
        out, names = {"input": x}, []
        for name, on in zip("BDQ", (self.use_blur, self.use_difference, self.use_quantize)):
            if on:
                names.append(name)
                out["+".join(names)] = self.with_modules("+".join(names))(x)
        return out

    def extra_repr(self) -> str:
        return (f"modules={self.modules_name}, kernel_size={self.kernel_size}, sigma={float(self.sigma.detach()):.4g}, "
                f"num_bins={self.num_bins}, hardness={self.hardness}, normalization={self.normalization!r}"
                + ("" if self.dead_zone is None else f", dead_zone={float(self.dead_zone.detach()):.4g}"))


def raw_encoder() -> BDQEncoder:
    """The identity: no module on (the raw video, every experiment's reference)."""
    return BDQEncoder(blur=False, difference=False, quantize=False)


def bdq_encoder(cfg) -> BDQEncoder:
    """BDQ in its initial state as a config describes it (kernel, sigma, bins, hardness, normalisation)."""
    return BDQEncoder(kernel_size=cfg.kernel_size, sigma=cfg.sigma, learn_sigma=cfg.learn_sigma, num_bins=cfg.num_bins,
                      hardness=cfg.hardness, normalization=cfg.normalization, dead_zone=cfg.dead_zone)

