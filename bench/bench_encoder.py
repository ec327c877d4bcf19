"""Encoder speed: bdqlib's BDQEncoder against two references computing the same function, on the same input.

    .venv/bin/python bench/bench_encoder.py [--threads 2] [--repeats 15] [--shape 8 3 16 112 112]

References:
* "authors' ops": the operations of the authors' released degradNet, re-implemented from their description (not
  their code): a grouped Conv3d with a (1, 5, 5) Gaussian kernel, a `torch.roll` frame difference with the first
  frame dropped, a Python loop of 15 sigmoids, min-max over the whole batch. Compared with our encoder in its
  batch-normalisation mode (the same function), with sigma learnable and with sigma fixed (the authors fix it:
  then neither side computes the blur's gradient with respect to sigma).
* "naive": the straightforward reading of §3.1: a full 5x5 convolution over a batch of single-channel frames, a
  frame difference, per-clip min-max and 15 separate sigmoid passes. Compared with our default (per-clip) mode.
Both run in training mode (autograd on sigma, the bins and the input) for forward+backward. Timings are interleaved (naive, ours, naive, ...) so drifts in machine
load hit both; the table prints min and median. The floor is one copy of the input tensor (`x.clone()`). "forward" runs under torch.no_grad (inference: OpenCV blur
and the folded table quantizer); "forward+backward" records autograd and backpropagates a sum.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from bdqlib import BDQEncoder
from bdqlib.core.encoder import gaussian_kernel2d


def naive_encoder(x, log_sigma, bins, *, kernel_size=5, hardness=5.0, num_bins=15):
    """The paper as written: 2-D Gaussian conv per frame, difference, per-clip min-max, 15 sigmoids."""
    b, c, t, h, w = x.shape
    k = gaussian_kernel2d(log_sigma.exp(), kernel_size)
    frames = x.permute(0, 2, 1, 3, 4).reshape(b * t * c, 1, h, w)
    frames = F.conv2d(frames, k.view(1, 1, kernel_size, kernel_size), padding=kernel_size // 2)
    v = frames.view(b, t, c, h, w).permute(0, 2, 1, 3, 4)
    d = v[:, :, 1:] - v[:, :, :-1]
    lo = d.amin(dim=(1, 2, 3, 4), keepdim=True)
    hi = d.amax(dim=(1, 2, 3, 4), keepdim=True)
    z = (d - lo) / (hi - lo + 1e-4) * num_bins
    sorted_bins = bins.clamp(0, num_bins).sort().values
    y = 0
    for i in range(num_bins):
        y = y + torch.sigmoid(hardness * (z - sorted_bins[i]))
    return y * torch.clamp((hi - lo) / num_bins, min=1e-4) + lo


def authors_ops_encoder(x, log_sigma, bins, *, kernel_size=5, hardness=5.0, num_bins=15):
    """degradNet's operations: grouped Conv3d (1, k, k) blur, roll difference, 15-sigmoid loop, batch min-max."""
    c = x.shape[1]
    k = gaussian_kernel2d(log_sigma.exp(), kernel_size).view(1, 1, 1, kernel_size, kernel_size).repeat(c, 1, 1, 1, 1)
    v = F.conv3d(x, k, padding=(0, kernel_size // 2, kernel_size // 2), groups=c)
    d = (v - torch.roll(v, 1, dims=2))[:, :, 1:]
    lo, hi = d.min(), d.max()
    z = (d - lo) / (hi - lo + 1e-4) * num_bins
    sorted_bins = bins.clamp(0, num_bins).sort().values
    y = torch.zeros_like(z)
    for i in range(num_bins):
        y = y + torch.sigmoid(hardness * (z - sorted_bins[i]))
    return y * torch.clamp((hi - lo) / num_bins, min=1e-4) + lo


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--shape", type=int, nargs=5, default=(8, 3, 16, 112, 112), metavar=("B", "C", "T", "H", "W"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(*args.shape)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; input {tuple(x.shape)} float32 ({x.numel() * 4 / 2**20:.0f} MiB)")
    print(f"{'reference / case':<44}{'ref min':>9}{'ref med':>9}{'ours min':>9}{'ours med':>9}{'speed-up min/med':>18}")
    for label, reference, normalization in (("authors' ops", authors_ops_encoder, "batch"),
                                            ("naive", naive_encoder, "clip")):
        for learn_sigma in (True, False):
            ours = BDQEncoder(normalization=normalization, learn_sigma=learn_sigma).train()
            log_sigma = ours.log_sigma.detach().clone().requires_grad_(learn_sigma)
            bins = ours.bin_centres.detach().clone().requires_grad_(True)
            check(label, reference, ours, x, log_sigma, bins)
            rows = compare(reference, ours, x, log_sigma, bins, args.repeats)
            for case, (ref, fast) in rows.items():
                if case == "forward" and not learn_sigma:
                    continue  # no autograd: sigma's gradient plays no part
                name = f"{label}, {case}" + ("" if case == "forward" else f", sigma {'learned' if learn_sigma else 'fixed'}")
                print(f"{name:<44}{min(ref) * 1e3:>7.1f}ms{statistics.median(ref) * 1e3:>7.1f}ms"
                      f"{min(fast) * 1e3:>7.1f}ms{statistics.median(fast) * 1e3:>7.1f}ms"
                      f"{min(ref) / min(fast):>10.1f}x /{statistics.median(ref) / statistics.median(fast):>4.1f}x")
    copies = [timed(lambda: x.clone()) for _ in range(args.repeats)]
    print(f"{'copy of the input (the floor)':<44}{'':>18}{min(copies) * 1e3:>7.1f}ms{statistics.median(copies) * 1e3:>7.1f}ms")


def check(label, reference, ours, x, log_sigma, bins):
    """Same outputs and gradients (training mode), and the same output on the no-grad inference path."""
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = reference(xa, log_sigma, bins), ours(xb)
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    errs = {"output": (ya - yb).abs().max().item(),
            "input grad": ((xa.grad - xb.grad).abs().max() / xa.grad.abs().max()).item(),
            "bins grad": ((bins.grad - ours.bin_centres.grad).abs().max() / bins.grad.abs().max()).item()}
    if log_sigma.requires_grad:
        errs["sigma grad"] = abs(log_sigma.grad.item() - ours.log_sigma.grad.item()) / abs(log_sigma.grad.item())
    with torch.no_grad():
        errs["no_grad output"] = (reference(x, log_sigma, bins) - ours(x)).abs().max().item()
    print(f"  {label} vs ours ({ours.normalization} min-max, sigma {'learned' if log_sigma.requires_grad else 'fixed'}): "
          + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()) + " (absolute output, relative gradients)")
    bins.grad = None
    if log_sigma.grad is not None:
        log_sigma.grad = None


def compare(reference, ours, x, log_sigma, bins, repeats) -> dict:
    """Interleaved timings (reference, ours, reference, ...) of forward (no_grad) and forward+backward."""
    def fwd(fn):
        def run():
            with torch.no_grad():
                fn(x)
        return run

    def fwd_bwd(fn):
        def run():
            fn(x.detach().requires_grad_(True)).sum().backward()
        return run

    ref = lambda v: reference(v, log_sigma, bins)  # noqa: E731
    cases = {"forward": (fwd(ref), fwd(ours)), "forward+backward": (fwd_bwd(ref), fwd_bwd(ours))}
    for fns in cases.values():  # warm-up
        for fn in fns:
            fn()
    times = {name: ([], []) for name in cases}
    for _ in range(repeats):
        for name, (a, b) in cases.items():
            times[name][0].append(timed(a))
            times[name][1].append(timed(b))
    return times


if __name__ == "__main__":
    main()
