"""One training step of each cpu-profile network in fp32 and under bf16 autocast, with and without channels-last:
the measurement behind amp "auto"'s choice on a CPU (bdqlib.engine.precision) and each network's `cpu_bf16` entry.

    .venv/bin/python bench/bench_precision.py [--threads 1] [--steps 12] [--networks small3d,small2d,...]

The step is Adam on cross-entropy at the cpu profile's shapes: a clip network on 16 clips x 3 x 8 frames x 48 px,
a frame network on 32 frames of 48 px (the probes' val_frames = 2 per clip). Prints the median step in ms per mode
and the bf16 speed-up; on a CPU without AVX-512 BF16 or AMX, bf16 is emulated and the ratio says so.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from bdqlib.engine.precision import memory_format
from bdqlib.nets.zoo import create_network, network
from bdqlib.platform import cpu_flags


def step_ms(name: str, bf16: bool, channels_last: bool, steps: int) -> float:
    torch.manual_seed(0)
    net = memory_format(create_network(name, 10), channels_last)
    x = torch.randn(16, 3, 8, 48, 48) if network(name).level == "clip" else torch.randn(32, 3, 48, 48)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d if x.dim() == 5 else torch.channels_last)
    y = torch.randint(0, 10, (len(x),))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    times = []
    for _ in range(steps + 2):  # two warm-up steps (oneDNN builds its kernels)
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
        loss = torch.nn.functional.cross_entropy(out.float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times[2:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="1: as each seed worker runs (bdqlib.experiments.parallel)")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--networks", default="small3d,small2d,res2d,small2plus1d,vit2d")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU flags: {' '.join(cpu_flags()) or 'unknown'}; {args.threads} thread(s); median of {args.steps} steps")
    print(f"{'network':14s} {'fp32':>8s} {'fp32+cl':>8s} {'bf16':>8s} {'bf16+cl':>8s}  bf16 speed-up (best of each)")
    for name in args.networks.split(","):
        ms = {(bf16, cl): step_ms(name, bf16, cl, args.steps) for bf16 in (False, True) for cl in (False, True)}
        fp32, bf16 = min(ms[False, False], ms[False, True]), min(ms[True, False], ms[True, True])
        print(f"{name:14s} " + " ".join(f"{ms[k]:8.1f}" for k in sorted(ms)) + f"  {fp32 / bf16:.2f}x"
              + ("" if network(name).cpu_bf16 else "  (registry: fp32 on a CPU)"))


if __name__ == "__main__":
    main()
