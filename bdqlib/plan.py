"""Will this profile fit this machine? A short measured probe of one adversarial step, extrapolated to a plan.

`probe_step` runs one real game step (E, T, P of the config, random init, random clips of the config's shape) on a
small batch and measures: wall time; on CUDA the peak allocated memory; everywhere the bytes autograd keeps for the
backward pass (every tensor saved by a forward op, counted once per storage) and the bytes of parameters,
gradients and optimizer state. `make_plan` extrapolates to the config's batch, stating its assumptions:
  * saved activations grow linearly with the number of clips (measured at two batch sizes: the fixed part and the
    part per clip are both measured, not assumed);
  * under mixed precision (bf16/fp16) activations take half their fp32 bytes; parameters, gradients and optimizer
    state stay fp32;
  * peak memory ~ parameters + gradients + optimizer state + saved activations + the input batch, plus 10 %;
  * step time is the larger probe's time per clip times the batch: an upper bound where a small batch uses the
    device less efficiently (on the cpu profile about 1.5-2x the real step; a fit through both probes was tried
    and is dominated by timing noise at 1-2 clips). A GPU's time is never projected from a CPU probe -- only its
    FLOPs are (measured), with the throughput an assumption stated beside.
"""
from __future__ import annotations

import time
from dataclasses import replace

import torch
from torch.utils.flop_counter import FlopCounterMode

from .adversarial import adversarial_step
from .attacks import parse_probes
from .models import build_model, make_encoder, make_models, model_width
from .precision import make_precision
from .training import make_optimizer

OVERHEAD = 1.10        # allocator fragmentation, workspace, the cuDNN/BLAS scratch
GiB = 2**30


def _state_bytes(modules, optimizers) -> int:
    params = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
    states = sum(v.numel() * v.element_size() for o in optimizers for s in o.state.values() for v in s.values()
                 if torch.is_tensor(v))
    return 2 * params + states  # weights + gradients + optimizer state


def probe_step(cfg, *, num_actions: int, num_subjects: int, batch: int, device, steps: int = 3) -> dict:
    """One adversarial step at `batch` clips (median of `steps` after a warm-up step): seconds, bytes saved for backward,
    bytes of parameters + gradients + optimizer state, input bytes, CUDA peak (or None), FLOPs of the step."""
    device = torch.device(device)
    cfg = replace(cfg, weights="none")  # the shapes matter, not the weights: nothing is downloaded
    torch.manual_seed(0)
    encoder = make_encoder(cfg).to(device)
    action, privacy = make_models(cfg, num_actions, num_subjects, device)
    opt_et = make_optimizer(list(encoder.parameters()) + list(action.parameters()), cfg.lr, cfg)
    opt_p = make_optimizer(privacy.parameters(), cfg.lr, cfg)
    precision = make_precision(cfg.amp, device)
    x = torch.randn(batch, 3, cfg.num_frames, cfg.size, cfg.size, device=device)
    labels = (torch.randint(num_actions, (batch,), device=device), torch.randint(num_subjects, (batch,), device=device))
    saved: dict = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    def run(**kw):
        return adversarial_step((x, *labels), encoder, action, privacy, opt_et, opt_p, alpha=cfg.alpha,
                                privacy_frames=cfg.privacy_frames, precision=precision,
                                checkpoint_privacy=cfg.activation_checkpointing, **kw)

    run()  # warm-up: lazy initialisations, cuDNN autotuning, the quantizer's tables
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    seconds = sorted(times)[len(times) // 2]
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run()
    with FlopCounterMode(display=False) as flops:
        run()
    return {"batch": batch, "seconds": seconds, "saved_bytes": sum(saved.values()),
            "param_bytes": sum(p.numel() * p.element_size() for m in (encoder, action, privacy) for p in m.parameters()),
            "state_bytes": _state_bytes([encoder, action, privacy], [opt_et, opt_p]),
            "input_bytes": x.numel() * x.element_size(), "flops": int(flops.get_total_flops()),
            "cuda_peak_bytes": torch.cuda.max_memory_allocated() if device.type == "cuda" else None,
            "precision": precision.name}


def make_plan(cfg, *, num_actions: int, num_subjects: int, train_clips: int, device, probe_batches=(1, 2),
              memory_bytes: float | None = None, cache_bytes: int = 0, encoders: int = 3, steps: int = 3) -> dict:
    """Probe at two small batches and extrapolate to cfg.batch_size (see the module docstring).

    memory_bytes: what the device offers (default: the CUDA device's total, or None on a CPU: not checked).
    Disk: the frame cache (`cache_bytes`, measured by the caller) + one adversarial checkpoint (weights and
    optimizer state) per trained encoder (`encoders`: the headline and 04's alpha sweep) + the raw video's
    validation networks' weights (kept for frozen_clean; the others keep results only, config probe_weights).
    """
    try:
        a, b = (probe_step(cfg, num_actions=num_actions, num_subjects=num_subjects, batch=n, device=device,
                           steps=steps) for n in probe_batches)
    except ValueError as err:  # BatchNorm on a 1x1 map of a single clip (tiny crops): probe at 2 and 4 clips
        if "more than 1 value per channel" not in str(err) or min(probe_batches) > 1:
            raise
        a, b = (probe_step(cfg, num_actions=num_actions, num_subjects=num_subjects, batch=n, device=device,
                           steps=steps) for n in (2, 4))
    checkpoint = a["state_bytes"] - a["param_bytes"]  # weights + optimizer state (gradients are not saved)
    validation = probe_weight_bytes(cfg, num_actions, num_subjects)
    per_clip = max(b["saved_bytes"] - a["saved_bytes"], 0) / (b["batch"] - a["batch"])
    fixed = max(a["saved_bytes"] - per_clip * a["batch"], 0)
    bs = cfg.batch_size
    activations = fixed + per_clip * bs
    peak = OVERHEAD * (a["state_bytes"] + activations + a["input_bytes"] / a["batch"] * bs)
    steps = train_clips // bs
    step_seconds = b["seconds"] / b["batch"] * bs  # per clip at the larger probe, times the batch
    if memory_bytes is None and torch.device(device).type == "cuda":
        memory_bytes = torch.cuda.get_device_properties(torch.device(device)).total_memory
    return {"device": str(device), "precision": a["precision"], "batch": bs, "frames": cfg.num_frames,
            "size": cfg.size, "peak_gib": peak / GiB, "state_gib": a["state_bytes"] / GiB,
            "activations_gib_per_clip": per_clip / GiB, "activations_gib_fixed": fixed / GiB,
            "step_seconds": step_seconds, "epoch_minutes": steps * step_seconds / 60,
            "adversarial_hours": cfg.epochs * steps * step_seconds / 3600,
            "step_tflop": b["flops"] / b["batch"] * bs / 1e12, "memory_gib": memory_bytes / GiB if memory_bytes else None,
            "fits": None if memory_bytes is None else bool(peak <= memory_bytes),
            "largest_batch": None if memory_bytes is None or per_clip == 0 else
            int((memory_bytes / OVERHEAD - a["state_bytes"] - fixed) // (per_clip + a["input_bytes"] / a["batch"])),
            "measured_cuda_peak_gib": None if b["cuda_peak_bytes"] is None else b["cuda_peak_bytes"] / GiB,
            "disk_gib": (cache_bytes + encoders * checkpoint + validation) / GiB}


def probe_weight_bytes(cfg, num_actions: int, num_subjects: int) -> int:
    """Bytes of the weights of T and every attacker of the suite (what the raw video's validation keeps)."""
    total = 0
    for probe in parse_probes(cfg.attackers) + [parse_probes(cfg.action_model, "action")[0]]:
        classes = num_actions if probe.target == "action" else num_subjects
        model = build_model(probe.arch, classes, width=model_width(cfg, probe.arch))
        total += sum(p.numel() * p.element_size() for p in model.parameters())
    return total


def describe(plan: dict) -> str:
    """The plan in a few lines, saying what is measured and what is projected."""
    lines = [f"measured on {plan['device']} ({plan['precision']}), projected to batch {plan['batch']} x "
             f"{plan['frames']} frames x {plan['size']} px:",
             f"  peak memory {plan['peak_gib']:.2f} GiB (weights+gradients+optimizer {plan['state_gib']:.2f}, "
             f"activations {plan['activations_gib_fixed']:.2f} + {plan['activations_gib_per_clip']:.3f} per clip)"
             + (f"; measured CUDA peak at the probe's batch {plan['measured_cuda_peak_gib']:.2f} GiB"
                if plan["measured_cuda_peak_gib"] is not None else ""),
             f"  step {plan['step_seconds']:.2f} s ({plan['step_tflop']:.2f} TFLOP), epoch {plan['epoch_minutes']:.1f} "
             f"min, adversarial training {plan['adversarial_hours']:.2f} h (validation comes on top)",
             f"  disk ~{plan['disk_gib']:.2f} GiB (frame cache + adversarial checkpoints + the raw video's validation "
             f"networks)"]
    return "\n".join(lines)


def for_gpu(plan: dict, *, memory_gib: float = 16.0, tflops: float = 20.0, half: bool = True) -> dict:
    """The same probe's plan on a GPU with `memory_gib` (e.g. a 16 GB P100/T4/V100), under mixed precision if
    `half` (activations at half their fp32 bytes), step time from the measured FLOPs at an *assumed* sustained
    `tflops` (a T4 reaches ~20-30 dense fp16 TFLOP/s on large convolutions; say so where it is quoted)."""
    scale = 0.5 if half and plan["precision"] == "fp32" else 1.0
    per_clip = plan["activations_gib_per_clip"] * scale
    fixed = plan["activations_gib_fixed"] * scale
    peak = OVERHEAD * (plan["state_gib"] + fixed + per_clip * plan["batch"])
    step = plan["step_tflop"] / tflops
    largest = int((memory_gib / OVERHEAD - plan["state_gib"] - fixed) // per_clip) if per_clip else None
    return {"memory_gib": memory_gib, "assumed_tflops": tflops, "half_precision": half, "peak_gib": peak,
            "fits": peak <= memory_gib, "largest_batch": largest, "step_seconds": step,
            "epoch_minutes": plan["epoch_minutes"] / plan["step_seconds"] * step if plan["step_seconds"] else None,
            "adversarial_hours": plan["adversarial_hours"] / plan["step_seconds"] * step if plan["step_seconds"] else None}


def advice(plan: dict) -> str:
    """One line: fits, or what to change (batch, frames P sees in step 1, amp, activation checkpointing)."""
    if plan["fits"] is None:
        return f"projected peak {plan['peak_gib']:.2f} GiB (no device memory to check against on {plan['device']})"
    if plan["fits"]:
        return f"fits: projected peak {plan['peak_gib']:.2f} of {plan['memory_gib']:.2f} GiB"
    hints = []
    if plan["largest_batch"]:
        hints.append(f"batch_size {max(plan['largest_batch'], 1)}")
    if plan["precision"] == "fp32":
        hints.append("amp 'auto' (bf16/fp16 halves the activations)")
    hints += ["privacy_frames 'one' in step 1 (the authors' code: P sees one frame per clip)",
              "activation_checkpointing True"]
    return (f"WILL NOT FIT: projected peak {plan['peak_gib']:.2f} GiB > {plan['memory_gib']:.2f} GiB on "
            f"{plan['device']}; try " + ", or ".join(hints))
