"""Fitting one training step into a device's memory: measure it, choose the micro-batch, or refuse with advice.

Every training stage (the game, each validation network, RAPrivacy, the U-Net) steps its optimizers on the config's
effective batch (`batch_size`, the paper's 16), as `accum_steps` micro-batches whose gradients are summed
(bdqlib.engine.steps.micro_batches). With accum_steps = 0 (the paper profile) each stage chooses for itself when it starts:
  * on a CUDA device it runs one real step of *throwaway* networks of the stage's shapes at 1 and 2 clips
    (`measure_cuda`) and reads the peak memory each needed -- weights, gradients, optimizer state, activations,
    backward buffers, cuDNN's workspace: all the allocator handed out. Peak(n) = fixed + n * per_clip;
  * it takes the fewest micro-batches whose projected peak stays under HEADROOM of the device's memory
    (`choose_accum`), and says so in one log line;
  * a stage that does not fit even one clip at a time is refused before it starts (`StageWontFit`), naming the
    parameters that shrink it.
The measurement runs in a forked RNG state and on networks that are thrown away, so it changes nothing the training
computes. On a CPU the choice is 1 (no accumulation): a CPU's memory is the machine's, and what fits is the user's
call (scripts/plan.py projects it).
"""
from __future__ import annotations

import gc

import torch

GiB = 2**30
HEADROOM = 0.90  # share of a GPU's memory a stage plans to use: the allocator's fragmentation takes the rest

# What makes a stage smaller, in the notebooks' parameter names (every notebook declares them).
ADVICE = ("AMP 'fp16' or 'bf16' (half-size activations), PRIVACY_FRAMES 'one' or a small number (the frames of each "
          "clip P sees in the game), VAL_FRAMES a small number (the frames a frame-level validation network trains "
          "on per step), CHECKPOINTING True (P's activations recomputed in the game's backward), or a smaller "
          "BATCH_SIZE (a different effective batch from the paper's)")


class StageWontFit(RuntimeError):
    """A training stage needs more memory than the device has, even one clip at a time."""


def divisors(n: int) -> list:
    return [d for d in range(1, n + 1) if n % d == 0]


def choose_accum(batch: int, *, fixed: float, per_clip: float, available: float) -> int | None:
    """The fewest micro-batches (a divisor of `batch`, so every micro-batch is the same size) whose micro-batch's
    projected peak `fixed + per_clip * micro` fits in `available` bytes; None when one clip does not fit."""
    for accum in divisors(batch):
        if fixed + per_clip * (batch // accum) <= available:
            return accum
    return None


def measure_cuda(step, device, micros=(1, 2)) -> dict:
    """Peak CUDA bytes of `step(n)` (one training step on n clips) for each n of `micros`, after one warm-up step at
    the smallest (lazy initialisations, cuDNN autotuning, optimizer state). A micro-batch that runs out of memory has
    peak None. Returns {"peaks": {n: bytes or None}, "fixed": ..., "per_clip": ...} (a straight line through the two
    smallest measured peaks; per_clip None when fewer than two were measured)."""
    device = torch.device(device)
    peaks = {}
    for i, n in enumerate((micros[0],) + tuple(micros)):
        try:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            step(n)
            torch.cuda.synchronize(device)
            if i > 0:
                peaks[n] = torch.cuda.max_memory_allocated(device)
        except torch.cuda.OutOfMemoryError:
            if i > 0:
                peaks[n] = None
            gc.collect()
            torch.cuda.empty_cache()
            if i == 0:
                peaks = {m: None for m in micros}
                break
    return line_through(peaks)


def line_through(peaks: dict) -> dict:
    """fixed + per_clip * n through the two smallest measured (n, peak) points of `peaks` (None: not measured)."""
    known = sorted((n, p) for n, p in peaks.items() if p is not None)
    fixed = per_clip = None
    if len(known) >= 2:
        (n1, p1), (n2, p2) = known[:2]
        per_clip = max(p2 - p1, 0) / (n2 - n1)
        fixed = max(p1 - per_clip * n1, 0)
    elif known:
        fixed, per_clip = 0.0, known[0][1] / known[0][0]  # one point: all of it counted per clip (conservative)
    return {"peaks": peaks, "fixed": fixed, "per_clip": per_clip}


def fit(stage: str, batch: int, make_step, device, *, log=print, memory_bytes: float | None = None) -> int:
    """The micro-batch count for `stage` on `device` (see the module docstring): 1 on a CPU; on CUDA measured with
    `make_step()` -- a function building throwaway networks and returning `step(n)` -- and chosen by `choose_accum`.
    Raises StageWontFit when one clip at a time does not fit."""
    device = torch.device(device)
    if device.type != "cuda":
        return 1
    total = memory_bytes or torch.cuda.get_device_properties(device).total_memory
    available = HEADROOM * total
    with torch.random.fork_rng(devices=[device]):  # the training's random streams stay untouched
        step = make_step()
        try:
            measured = measure_cuda(step, device, micros=(1, 2) if batch > 1 else (1,))
        finally:
            del step
            gc.collect()
            torch.cuda.empty_cache()
    if measured["per_clip"] is None:
        raise StageWontFit(f"{stage} does not fit on this {total / GiB:.1f} GiB GPU even one clip at a time (it ran "
                           f"out of memory); try {ADVICE}")
    accum = choose_accum(batch, fixed=measured["fixed"], per_clip=measured["per_clip"], available=available)
    if accum is None:
        need = (measured["fixed"] + measured["per_clip"]) / GiB
        raise StageWontFit(f"{stage} does not fit on this {total / GiB:.1f} GiB GPU even one clip at a time: "
                           f"measured {need:.1f} GiB for one clip (fixed {measured['fixed'] / GiB:.1f} + "
                           f"{measured['per_clip'] / GiB:.2f} per clip) of {available / GiB:.1f} usable; try {ADVICE}")
    micro = batch // accum
    if log:
        log(f"[plan] {stage}: batch {batch} as {accum} micro-batch(es) of {micro} (measured peak "
            f"{measured['fixed'] / GiB:.2f} GiB + {measured['per_clip'] / GiB:.3f} GiB per clip; projected "
            f"{(measured['fixed'] + measured['per_clip'] * micro) / GiB:.1f} of {total / GiB:.1f} GiB)")
    return accum


def resolve(accum_steps: int, stage: str, batch: int, make_step, device, *, log=print) -> int:
    """cfg.accum_steps when it is set (>= 1), else the measured choice of `fit` (0: auto)."""
    if accum_steps >= 1:
        if batch % accum_steps:
            raise ValueError(f"ACCUM={accum_steps} must divide the batch of {batch} clips (each micro-batch the same "
                             f"size)")
        return accum_steps
    return fit(stage, batch, make_step, device, log=log)
