"""Will this profile fit this machine? Time and disk from one measured game step; memory per training stage.

Two parts:
* `make_plan` (time, disk): one real game step on this device at two small batches, extrapolated to the
  profile's batch -- the step's seconds and FLOPs, an epoch, the game's hours, the run folder's disk.
* `stage_plan` (memory, every stage): for each stage of a run -- the game (the paper's, the hardened one, ALF's),
  every validation network, RAPrivacy, the U-Net, SPPA's and masking's inference networks -- the bytes one
  training step holds at 1 and 2 clips, counted on the `meta` device (shapes without values, so the paper's
  shapes are accounted for in seconds on any CPU) by following every tensor an operation allocates until it is
  freed (`LiveBytes`): weights, gradients, optimizer state, activations and backward buffers (the quantizer's
  float64 histogram included). Then, per GPU of `CARDS`, the settings bdqlib.engine.memory would choose there: the
  micro-batches of the paper's effective batch, and where even one clip does not fit, mixed precision, fewer
  frames (PRIVACY_FRAMES, VAL_FRAMES) and activation checkpointing, in that order. On a real GPU, each stage
  measures itself when it starts (bdqlib.engine.memory.fit); this table is the projection, and says what it assumes:
    - mixed precision halves the part that grows with the clips (activations in bf16/fp16), not the fixed part;
    - the allocator's fragmentation and cuDNN's workspace are inside memory.HEADROOM (10 % of the card).

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

import contextlib
import time
import warnings
import weakref
from dataclasses import replace

import pandas as pd
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from .. import methods
from ..core.encoder import BDQEncoder, bdq_encoder
from ..engine import memory
from ..engine.precision import make_precision
from ..engine.steps import make_optimizer
from ..methods.masking import SegmentationMask
from ..methods.raprivacy import throwaway_raprivacy
from ..methods.sppa_templates import DinoKeys
from ..nets.zoo import build_model, make_models, model_width, video_frames
from ..train.game import adversarial_step, throwaway_game
from ..train.probes import Probe, parse_probes, throwaway_probe
from ..train.reconstruct import throwaway_unet

OVERHEAD = 1.10        # allocator fragmentation, workspace, the cuDNN/BLAS scratch
GiB = 2**30


def _state_bytes(modules, optimizers) -> int:
    params = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
    states = sum(v.numel() * v.element_size() for o in optimizers for s in o.state.values() for v in s.values()
                 if torch.is_tensor(v))
    return 2 * params + states  # weights + gradients + optimizer state


def input_hw(cfg) -> tuple:
    """(H, W) of the clips a run of `cfg` trains on: S x S crops, or with CROP frame the whole frame at short side S,
    planned at 4:3 -- the widest aspect of the supported datasets (KTH, IXMAS 4:3; Weizmann 5:4), so an upper bound."""
    return (cfg.size, cfg.size) if cfg.crop == "square" else (cfg.size, -(-cfg.size * 4 // 3))


def probe_step(cfg, *, num_actions: int, num_subjects: int, batch: int, device, steps: int = 3) -> dict:
    """One adversarial step at `batch` clips (median of `steps` after a warm-up step): seconds, bytes saved for backward,
    bytes of parameters + gradients + optimizer state, input bytes, CUDA peak (or None), FLOPs of the step."""
    device = torch.device(device)
    cfg = replace(cfg, weights="none")  # the shapes matter, not the weights: nothing is downloaded
    torch.manual_seed(0)
    encoder = bdq_encoder(cfg).to(device)
    action, privacy = make_models(cfg, num_actions, num_subjects, device)
    opt_et = make_optimizer(list(encoder.parameters()) + list(action.parameters()), cfg.lr, cfg)
    opt_p = make_optimizer(privacy.parameters(), cfg.lr, cfg)
    precision = make_precision(cfg.amp, device)  # as make_game
    x = torch.randn(batch, 3, cfg.num_frames, *input_hw(cfg), device=device)
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


def for_card(line: dict, batch: int, memory_gib: float, *, half: bool) -> int | None:
    """The micro-batch count memory.choose_accum would pick on a card of `memory_gib` for an accounted stage (None:
    one clip does not fit); `half`: activations at half their fp32 bytes (the mixed-precision assumption)."""
    per_clip = line["per_clip"] * (0.5 if half else 1.0)
    return memory.choose_accum(batch, fixed=line["fixed"], per_clip=per_clip,
                               available=memory.HEADROOM * memory_gib * GiB)


CARDS = {"T4 (16 GB)": 15.0, "P100 (16 GB)": 15.9, "L4 (24 GB)": 22.0, "A100 (40 GB)": 39.4}  # usable GiB as torch
# reports them; each runs its networks in fp16 or bf16 under AMP 'auto' (bdqlib.engine.precision)


class LiveBytes(TorchDispatchMode):
    """Bytes of the tensors alive (not yet freed) while operations run, and their peak: each operation's outputs are
    counted once per storage until the last tensor viewing that storage is garbage."""

    def __init__(self):
        super().__init__()
        self.refs, self.sizes, self.now, self.peak = {}, {}, 0, 0

    def _track(self, t: torch.Tensor) -> None:
        key = t.untyped_storage()._cdata
        if key not in self.refs:
            self.refs[key], self.sizes[key] = 0, t.untyped_storage().nbytes()
            self.now += self.sizes[key]
            self.peak = max(self.peak, self.now)
        self.refs[key] += 1
        weakref.finalize(t, self._drop, key)

    def _drop(self, key) -> None:
        self.refs[key] -= 1
        if self.refs[key] == 0:
            self.now -= self.sizes.pop(key)
            del self.refs[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self._track(t)
        return out


@contextlib.contextmanager
def without_values():
    """Meta tensors have shapes but no values: what a step reads back from a tensor (a loss for the log, a finite
    check, Adam's step count, a drawn index) reads 1 here. Only for accounting; nothing computed is used."""
    names = ("item", "__bool__", "__float__", "__int__", "__index__", "tolist")
    saved = {k: getattr(torch.Tensor, k) for k in names}
    torch.Tensor.item = torch.Tensor.__float__ = lambda self: 1.0
    torch.Tensor.__int__ = torch.Tensor.__index__ = lambda self: 1
    torch.Tensor.__bool__ = lambda self: True
    torch.Tensor.tolist = lambda self: [1.0] * self.numel()
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(torch.Tensor, k, v)


def account(make_step, micros=(1, 2)) -> dict:
    """Peak live bytes of one step at each micro-batch of `micros`, on the meta device (`make_step` builds its
    networks there and returns step(n)); persistent state (weights, gradients, optimizer state) made by the first
    step is inside every peak. Returns memory.line_through's dict."""
    live = LiveBytes()
    with warnings.catch_warnings(), without_values(), live:
        warnings.simplefilter("ignore")
        step = make_step()
        step(micros[0])  # optimizer state and gradients exist from here on, as in training
        peaks = {}
        for n in micros:
            live.peak = live.now
            step(n)
            peaks[n] = live.peak
        with FlopCounterMode(display=False) as flops:
            step(1)
    return {**memory.line_through(peaks), "flop_per_clip": flops.get_total_flops()}


def stages(cfg, *, num_actions: int, num_subjects: int, unet: dict | None = None, systems=("sppa", "masking",
           "raprivacy"), games=("bdq", "bdq_ensemble", "alf"), device="meta") -> dict:
    """name -> (make_step on `device` -- the meta device for accounting --, what shrinks it) for every training stage
    of a run of `cfg`, and the inference networks (SPPA's keys, masking's segmenter) as no-grad steps."""
    meta = torch.device(device)
    clip = (3, cfg.num_frames, *input_hw(cfg))
    out = {}
    for game in games:
        method = methods.resolve(game)[0]
        out[f"game: {game}"] = (throwaway_game(method.game(cfg, cfg.alpha), num_actions, num_subjects, meta,
                                               method.make_encoder), "privacy_frames")
    for probe in [Probe(cfg.action_model, "action")] + parse_probes(cfg.attackers):
        classes = num_actions if probe.target == "action" else num_subjects
        shrink = "val_frames" if probe.level == "frame" else None
        out[f"validation: {probe.name} on {probe.target}"] = (throwaway_probe(probe, cfg, clip, classes, meta), shrink)
    if "raprivacy" in systems:
        out["RAPrivacy"] = (throwaway_raprivacy(replace(cfg, rap_style_count=2), num_actions, num_subjects, meta),
                            "privacy_frames")
    if unet is not None:
        out["reconstruction U-Net"] = (throwaway_unet(BDQEncoder().to(meta), clip, 3, 3, cfg, device=meta, **unet),
                                       None)
    if "sppa" in systems and cfg.sppa_keys == "dino_vits8":
        out["SPPA keys (DINO ViT-S/8, inference)"] = (inference_step(lambda: DinoKeys("none", mean=cfg.mean,
                                                                                      std=cfg.std), clip, meta), None)
    if "masking" in systems and cfg.mask_model == "deeplabv3":
        out["masking (DeepLabV3, inference)"] = (inference_step(lambda: SegmentationMask("none", mean=cfg.mean,
                                                                                         std=cfg.std), clip, meta), None)
    return out


def inference_step(build, clip_shape, device="meta"):
    """make_step for a network used without gradients on every frame of n clips (SPPA's keys, masking)."""
    def make_step():
        net = build().to(device).eval()
        frames_of = (lambda x: x) if isinstance(net, SegmentationMask) else video_frames

        @torch.no_grad()
        def step(n):
            net(frames_of(torch.randn(n, *clip_shape, device=device)))
        return step
    return make_step


FEWER_FRAMES = {"privacy_frames": "one", "val_frames": 8}  # what "fewer frames" means per stage kind


def stage_plan(cfg, *, num_actions: int, num_subjects: int, cards: dict = CARDS, unet: dict | None = None,
               systems=("sppa", "masking", "raprivacy"), log=None) -> pd.DataFrame:
    """One row per stage: its accounted fp32 bytes (fixed, per clip) and, per card (mixed precision, as AMP 'auto'
    runs there), the settings that fit the effective batch cfg.batch_size (see the module docstring): "16" (no
    accumulation), "4 x 4" (4 micro-batches of 4), prefixed by what else was needed ("PRIVACY_FRAMES one +
    CHECKPOINTING True: 16 x 1"), or "does not fit"; inference networks: their peak per chunk of frames."""
    rows = []
    for name, (make_step, shrink) in stages(cfg, num_actions=num_actions, num_subjects=num_subjects, unet=unet,
                                            systems=systems).items():
        t0 = time.time()
        line = account(make_step)
        row = {"stage": name, "fixed_gib": line["fixed"] / GiB, "per_clip_gib": line["per_clip"] / GiB,
               "tflop_per_clip": line["flop_per_clip"] / 1e12}
        options = [("", line)]
        if shrink is not None or name.startswith("game"):
            changes = {shrink: FEWER_FRAMES[shrink]} if shrink else {}
            if name.startswith("game"):
                changes["activation_checkpointing"] = True
            fewer = account(_remake(cfg, name, make_step, changes, num_actions, num_subjects, unet))
            options.append((" + ".join(f"{k.upper().replace('ACTIVATION_', '')} {v}" for k, v in changes.items())
                            + ": ", fewer))
        for card, gib in cards.items():
            row[card] = "does not fit"
            if name.endswith("inference)"):  # no gradients, frames in chunks (models.in_chunks): no micro-batches
                peak = line["fixed"] + 2 * line["per_clip"] * 0.5  # two clips: a whole chunk, in half precision
                if peak <= memory.HEADROOM * gib * GiB:
                    row[card] = f"{peak / GiB:.1f} GiB per chunk"
                continue
            for label, measured in options:
                accum = for_card(measured, cfg.batch_size, gib, half=True)
                if accum is not None:
                    micro = cfg.batch_size // accum
                    row[card] = label + (f"{micro}" if accum == 1 else f"{accum} x {micro}")
                    break
        rows.append(row)
        if log:
            log(f"[plan] {name}: {row['fixed_gib']:.2f} GiB + {row['per_clip_gib']:.3f} GiB per clip (fp32; "
                f"{time.time() - t0:.1f}s)")
    return pd.DataFrame(rows)


# Sustained mixed-precision throughput assumed for projected hours (TFLOP/s on these networks' convolutions): far
# below the cards' peak figures (T4 65, P100 19 (no tensor cores), L4 121, A100 312 dense fp16/bf16), as small
# 3-D convolutions, BatchNorm and data movement keep them from it. An assumption, stated wherever it is used; a
# GPU run's log gives the real seconds per epoch.
ASSUMED_TFLOPS = {"T4 (16 GB)": 15.0, "P100 (16 GB)": 8.0, "L4 (24 GB)": 30.0, "A100 (40 GB)": 90.0}


def projected_hours(table: pd.DataFrame, *, clips: int, epochs: int, tflops: dict = ASSUMED_TFLOPS) -> pd.DataFrame:
    """Hours per stage per card for `epochs` passes over `clips` training clips (the game: cfg.epochs; a validation
    network: at most val_epochs, usually fewer -- it stops at its best validation epoch), from the accounted FLOPs
    per clip and the ASSUMED_TFLOPS of each card."""
    out = table[["stage"]].copy()
    for card, rate in tflops.items():
        out[card] = table["tflop_per_clip"] * clips * epochs / rate / 3600
    return out


def _remake(cfg, name: str, make_step, changes: dict, num_actions: int, num_subjects: int, unet):
    """The make_step of stage `name` under a config with `changes` applied."""
    changed = replace(cfg, **changes)
    return stages(changed, num_actions=num_actions, num_subjects=num_subjects, unet=unet)[name][0]


def measure_stages(cfg, *, num_actions: int, num_subjects: int, device, unet: dict | None = None,
                   systems=("sppa", "masking", "raprivacy"), log=print) -> pd.DataFrame:
    """On a CUDA device: every stage of `stages` measured for real (bdqlib.engine.memory.measure_cuda: peak memory at 1 and 2
    clips, throwaway networks) and timed (one step of one clip), with the micro-batches memory.fit would choose on
    this device. What scripts/gpu_check.sh prints; beside `stage_plan`'s projection it shows how good that is."""
    device = torch.device(device)
    if device.type != "cuda":
        raise ValueError("measure_stages measures a CUDA device; on a CPU, stage_plan accounts for the shapes")
    total = torch.cuda.get_device_properties(device).total_memory
    rows = []
    for name, (make_step, _) in stages(cfg, num_actions=num_actions, num_subjects=num_subjects, unet=unet,
                                       systems=systems, device=device).items():
        with torch.random.fork_rng(devices=[device]):
            step = make_step()
            line = memory.measure_cuda(step, device)
            t0 = time.perf_counter()
            step(1)
            torch.cuda.synchronize(device)
            seconds = time.perf_counter() - t0
            del step
        torch.cuda.empty_cache()
        accum = None if line["per_clip"] is None else memory.choose_accum(
            cfg.batch_size, fixed=line["fixed"], per_clip=line["per_clip"], available=memory.HEADROOM * total)
        row = {"stage": name, "peak_1_clip_gib": (line["peaks"].get(1) or float("nan")) / GiB,
               "peak_2_clips_gib": (line["peaks"].get(2) or float("nan")) / GiB,
               "per_clip_gib": float("nan") if line["per_clip"] is None else line["per_clip"] / GiB,
               "step_1_clip_s": seconds,
               "chosen": "does not fit" if accum is None else f"{accum} x {cfg.batch_size // accum}"}
        rows.append(row)
        if log:
            log(f"[gpu] {name}: peak {row['peak_1_clip_gib']:.2f} / {row['peak_2_clips_gib']:.2f} GiB at 1 / 2 "
                f"clips, step {seconds:.2f} s at 1 clip; on this {total / GiB:.0f} GiB card: {row['chosen']}")
    return pd.DataFrame(rows)
