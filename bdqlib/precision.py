"""Mixed precision for T, P and the validation networks: autocast (bf16, or fp16 with a GradScaler) and memory options.

Config `amp`: "auto" (bf16 on a CUDA GPU that supports it, fp16 with a GradScaler on one that does not -- P100,
T4 --, fp32 on a CPU), "off", "bf16" (also on a CPU: autocast's CPU path, which is how the tests exercise it),
"fp16". The encoder E always runs in fp32 outside autocast: its quantizer compares values with 15 bin centres on a
0-15 scale, where bf16's 8-bit mantissa would round a step of 1/16 away. Losses are computed in fp32 from the
(possibly half-precision) logits.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch.utils.checkpoint import checkpoint

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

    def step(self, loss: torch.Tensor, optimizer) -> None:
        """backward and optimizer step, through the GradScaler when there is one (call `update` once per batch)."""
        if self.scaler is None:
            loss.backward()
            optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(optimizer)

    def update(self) -> None:
        if self.scaler is not None:
            self.scaler.update()

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


FP32 = Precision()


def make_precision(mode: str, device: torch.device) -> Precision:
    """The Precision of config `amp` on `device` (see the module docstring)."""
    if mode not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {mode!r}")
    kind = torch.device(device).type
    if mode == "off" or (mode == "auto" and kind != "cuda"):
        return Precision(kind)
    if mode == "auto":
        mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if mode == "bf16":
        return Precision(kind, torch.bfloat16)
    return Precision(kind, torch.float16, torch.amp.GradScaler(kind))


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
