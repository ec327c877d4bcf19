"""Mixed precision for T, P and the validation networks: autocast (bf16, or fp16 with a GradScaler) and memory options.

Config `amp`: "auto" (bf16 on a CUDA GPU of compute capability >= 8.0 -- A100, L4, H100 --, fp16 with a GradScaler on
older ones -- P100, T4, V100 --; on a CPU bf16 for the networks a caller names -- the validation networks (action
networks, attackers, sweeps), not the game's T and P (bdqlib.train.game says why) -- where the CPU computes bf16
natively -- AVX-512 BF16 or AMX, and not capped by the deterministic mode -- and the network is faster so, fp32
otherwise), "off", "bf16" (also on a CPU: autocast's CPU path, which is how the tests exercise it), "fp16".

Why bf16 on a CPU: one training step of the cpu profile's networks at batch 16 x 8 frames x 48 px on one thread of a
2-core AVX-512 BF16 machine (bench/bench_precision.py) is small3d 1.85x, res2d 1.4x, small2d 1.2x faster in bf16;
vit2d takes 2x more, and small2plus1d, 1.4x faster, learned less in bf16 -- both keep fp32 (their registry entries
say so, bdqlib.nets.families says why). Where the CPU has no native bf16, oneDNN emulates it and it is slower than
fp32. The encoder E always runs in fp32 outside autocast: its quantizer compares values with 15 bin centres on a
0-15 scale, where bf16's 8-bit mantissa would round a step of 1/16 away. Losses are computed in fp32 from the
(possibly half-precision) logits.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch.utils.checkpoint import checkpoint

from .. import platform
from ..nets.zoo import network as registered  # zoo: with the small networks registered

AMP_MODES = ("auto", "off", "bf16", "fp16")


@dataclass
class Precision:
    """How one training loop runs its networks: autocast dtype (None: fp32) and a GradScaler for fp16."""
    device_type: str = "cpu"
    dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None
    optional_state = True  # checkpoints written before mixed precision existed resume without a scaler state

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self):
        """Context for the networks' forward passes (a no-op in fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """loss.backward(), scaled by the GradScaler when there is one (micro-batches: call once per micro-batch,
        then `apply` once)."""
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def apply(self, optimizer) -> None:
        """optimizer.step() on the gradients `backward` accumulated (unscaled, and skipped on overflow, by the
        GradScaler when there is one)."""
        if self.scaler is None:
            optimizer.step()
        else:
            self.scaler.step(optimizer)

    def step(self, loss: torch.Tensor, optimizer) -> None:
        """backward and optimizer step, through the GradScaler when there is one. Call `update` after every
        iteration in which each optimizer stepped once: a GradScaler refuses to step one optimizer twice between
        two updates (P's several updates per game step are several iterations)."""
        self.backward(loss)
        self.apply(optimizer)

    def update(self) -> None:
        if self.scaler is not None:
            self.scaler.update()

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


FP32 = Precision()


def make_precision(mode: str, device: torch.device, *, network: str | None = None) -> Precision:
    """The Precision of config `amp` on `device` (see the module docstring). `network`: the registered network(s)
    (a name, or several, all of which must be faster in bf16) that run under it; on a CPU "auto" takes bf16 only
    for those, so an unnamed network (the U-Net, RAPrivacy's anonymiser) keeps fp32 there."""
    if mode not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {mode!r}")
    kind = torch.device(device).type
    if mode == "auto" and kind == "cpu" and network is not None and cpu_bf16(network):
        return Precision(kind, torch.bfloat16)
    if mode == "off" or (mode == "auto" and kind != "cuda"):
        return Precision(kind)
    if mode == "auto":
        mode = "bf16" if native_bf16(device) else "fp16"
    if mode == "bf16":
        return Precision(kind, torch.bfloat16)
    return Precision(kind, torch.float16, torch.amp.GradScaler(kind))


def cpu_bf16(network) -> bool:
    """Whether "auto" runs `network` (a registered name, or several) in bf16 on this CPU: the CPU has AVX-512 BF16 or
    AMX, the deterministic mode does not cap the kernels at AVX2 (where bf16 is emulated), and every network's
    registry entry says it is faster so (Network.cpu_bf16)."""
    names = [network] if isinstance(network, str) else list(network)
    return platform.native_cpu_bf16() and all(registered(n).cpu_bf16 for n in names)


def native_bf16(device) -> bool:
    """Whether a CUDA device runs bf16 convolutions natively: compute capability 8.0 or newer (A100, L4, H100).

    `torch.cuda.is_bf16_supported()` also answers True on a T4 (7.5) or P100 (6.0), where bf16 is emulated: cuDNN
    refuses bf16 convolutions below 8.0 and every convolution falls back to slow native kernels. Those cards take
    fp16 with a GradScaler instead."""
    index = torch.device(device).index
    major, _ = torch.cuda.get_device_capability(torch.cuda.current_device() if index is None else index)
    return major >= 8


def memory_format(model: torch.nn.Module, enabled: bool) -> torch.nn.Module:
    """channels_last (2-D) / channels_last_3d (3-D convolutions) when `enabled`: faster convolutions under autocast
    on recent GPUs; a no-op otherwise."""
    if not enabled:
        return model
    three_d = any(isinstance(m, torch.nn.Conv3d) for m in model.modules())
    return model.to(memory_format=torch.channels_last_3d if three_d else torch.channels_last)


def maybe_checkpointed(fn, *args, enabled: bool):
    """fn(*args), recomputing its activations in the backward pass instead of keeping them when `enabled`
    (activation checkpointing: memory for time)."""
    return checkpoint(fn, *args, use_reentrant=False) if enabled and torch.is_grad_enabled() else fn(*args)
