"""Encoder speed: bdqlib's BDQEncoder against the paper transcribed naively, on the same input.

    .venv/bin/python bench/bench_encoder.py [--threads 2] [--repeats 15] [--shape 8 3 16 112 112]

The naive reference is the straightforward reading of §3.1: a full 5x5 convolution over a batch of single-channel
frames, a frame difference, and 15 separate sigmoid passes that each allocate a tensor. Both run in training mode
(autograd on sigma, the bins and the input). Timings are interleaved (naive, ours, naive, ...) so drifts in machine
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
from bdqlib.encoder import gaussian_kernel2d


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
    ours = BDQEncoder().train()
    log_sigma = ours.log_sigma.detach().clone().requires_grad_(True)
    bins = ours.bin_centres.detach().clone().requires_grad_(True)

    # Same outputs and gradients first (training mode, autograd on).
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = naive_encoder(xa, log_sigma, bins), ours(xb)
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    out_err = (ya - yb).abs().max().item()
    with torch.no_grad():  # the inference path (OpenCV blur, folded quantizer) must give the same values
        inference_err = (naive_encoder(x, log_sigma, bins) - ours(x)).abs().max().item()
    grad_errs = {"input": (xa.grad - xb.grad).abs().max().item() / xa.grad.abs().max().item(),
                 "sigma": abs(log_sigma.grad.item() - ours.log_sigma.grad.item()) / abs(log_sigma.grad.item()),
                 "bins": ((bins.grad - ours.bin_centres.grad).abs().max() / bins.grad.abs().max()).item()}

    def naive_fwd():
        with torch.no_grad():
            naive_encoder(x, log_sigma, bins)

    def ours_fwd():
        with torch.no_grad():
            ours(x)

    def naive_fwd_bwd():
        xi = x.detach().requires_grad_(True)
        naive_encoder(xi, log_sigma, bins).sum().backward()

    def ours_fwd_bwd():
        xi = x.detach().requires_grad_(True)
        ours(xi).sum().backward()

    def copy():
        x.clone()

    cases = {"forward": (naive_fwd, ours_fwd), "forward+backward": (naive_fwd_bwd, ours_fwd_bwd)}
    for fns in cases.values():  # warm-up
        for fn in fns:
            fn()
    times = {name: ([], []) for name in cases}
    copies = []
    for _ in range(args.repeats):
        for name, (naive, fast) in cases.items():
            times[name][0].append(timed(naive))
            times[name][1].append(timed(fast))
        copies.append(timed(copy))

    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; input {tuple(x.shape)} float32 ({x.numel() * 4 / 2**20:.0f} MiB)")
    print(f"max |naive - ours| output: training mode {out_err:.2e}, no_grad {inference_err:.2e}; relative gradient error: "
          + ", ".join(f"{k} {v:.1e}" for k, v in grad_errs.items()))
    print(f"{'case':<18}{'naive min':>11}{'naive med':>11}{'ours min':>10}{'ours med':>10}{'speed-up min/med':>18}")
    for name, (naive, fast) in times.items():
        print(f"{name:<18}{min(naive) * 1e3:>9.1f}ms{statistics.median(naive) * 1e3:>9.1f}ms"
              f"{min(fast) * 1e3:>8.1f}ms{statistics.median(fast) * 1e3:>8.1f}ms"
              f"{min(naive) / min(fast):>10.1f}x /{statistics.median(naive) / statistics.median(fast):>4.1f}x")
    print(f"{'copy of input':<18}{'':>22}{min(copies) * 1e3:>8.1f}ms{statistics.median(copies) * 1e3:>8.1f}ms"
          "   (floor)")


if __name__ == "__main__":
    main()
