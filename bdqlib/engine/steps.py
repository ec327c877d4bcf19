"""The pieces every training loop shares: device, optimizer, losses on clips, one epoch loop, one evaluation.

Adversarial training (bdqlib.train.game), the attack suite and the validation networks (bdqlib.train.probes) and the
cpu profile's pretraining (bdqlib.train.pretrain) all run `run_epoch` with their own step function and score with
`accuracies`. Video batches are (B, C, T, H, W); a model is "clip"-level (a 3-D network: (B, C, T, H, W) ->
(B, K)) or "frame"-level (a 2-D network applied to every frame: (N, C, H, W) -> (N, K), scored on the softmax
averaged over a clip's frames, the paper's privacy score).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from ..metrics import clip_privacy_probs
from ..nets.zoo import privacy_logits


class NonFiniteLoss(FloatingPointError):
    """A loss became NaN or infinite; the run stops and its last good checkpoint is kept."""


def quiet(*args, **kwargs) -> None:
    """A `log` that prints nothing."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def make_optimizer(params, lr, cfg):
    """SGD with momentum (the paper) or Adam (cpu profile: tiny networks learn faster with it in few steps)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {cfg.optimizer!r}")


def select_frames(video: torch.Tensor, mode) -> torch.Tensor:
    """The frames of a (B, C, T, H, W) batch that a frame-level model trains on in one step.

    "all": every frame (the paper). "one": one random frame index for the whole batch (the authors' code).
    An integer k: k random frame indices, shared by the batch -- consecutive frames are nearly redundant for
    identity, so the cpu profile trains on a few per step; evaluation always averages over all frames.
    """
    t = video.shape[2]
    if mode == "all":
        return video
    k = 1 if mode == "one" else int(mode)
    if k >= t:
        return video
    idx = torch.randperm(t)[:k].sort().values.to(video.device)
    return video.index_select(2, idx)


def micro_batches(batch, accum: int) -> list:
    """A batch (tensors of one length B along dim 0) as `accum` micro-batches and their weights n_i / B, for
    gradient accumulation: the weighted micro-batch losses' gradients sum to the whole batch's gradient (of a mean
    loss) -- except where statistics of the batch enter (BatchNorm in training mode, a worst case over attackers,
    frames drawn per micro-batch), which see each micro-batch alone. accum 1: [(batch, 1.0)], the very same tensors
    (so the arithmetic is the single-batch path's, bit for bit)."""
    if accum <= 1:
        return [(tuple(batch), 1.0)]
    n = len(batch[0])
    if n < accum:
        raise ValueError(f"a batch of {n} cannot be split into {accum} micro-batches (gradient accumulation)")
    parts = zip(*(torch.tensor_split(t, accum) for t in batch))
    return [(tuple(p), len(p[0]) / n) for p in parts]


def check_finite(loss: torch.Tensor, what: str, where: str = "") -> None:
    if not torch.isfinite(loss):
        raise NonFiniteLoss(f"{what} is {loss.item()}{f' ({where})' if where else ''}: run stopped; the last good "
                            f"checkpoint is kept")


def clip_loss(model, level: str, video: torch.Tensor, labels: torch.Tensor, *, frames="all"):
    """Cross-entropy of a model on clips (B, C, T, H, W) and their labels (B,), and the logits it scored.

    "clip": one prediction per clip. "frame": every selected frame (see `select_frames`) labelled with its clip's
    label; the returned logits are then (B, k, K).
    """
    if level == "clip":
        logits = model(video)
        return F.cross_entropy(logits, labels), logits
    logits = privacy_logits(model, select_frames(video, frames))  # (B, k, K)
    return F.cross_entropy(logits.flatten(0, 1), labels.repeat_interleave(logits.shape[1])), logits


def clip_probs(model, level: str, video: torch.Tensor) -> torch.Tensor:
    """(B, K) class probabilities of a clip: softmax of a clip-level model, frame-averaged softmax otherwise."""
    if level == "clip":
        return F.softmax(model(video), dim=-1)
    return clip_privacy_probs(privacy_logits(model, video))


def run_epoch(batches, step, *, device) -> dict:
    """The one epoch loop: `step(*batch)` on every batch (moved to `device`); returns the mean of its stats."""
    sums, n = {}, 0
    for batch in batches:
        stats = step(*(t.to(device, non_blocking=True) for t in batch))
        for key, value in stats.items():
            sums[key] = sums.get(key, 0.0) + value
        n += 1
    return {key: value / max(n, 1) for key, value in sums.items()}


@torch.no_grad()
def predict(batches, heads: dict, *, device, encoder=None, precision=None) -> dict:
    """Each head's clip-level prediction over `batches` of (video, action, subject): name -> (predicted, true) label
    tensors (CPU, int64), in the batches' order.

    heads: name -> (model, level, target) with target "action" or "identity". encoder: applied to each batch
    first (None: the batches are already encoded), in fp32; the heads under `precision`'s autocast (a
    bdqlib.engine.precision.Precision; None: fp32). Models are put in eval mode and restored afterwards.
    """
    autocast = precision.autocast if precision is not None else contextlib.nullcontext
    models = [m for m in [encoder] + [h[0] for h in heads.values()] if m is not None]
    modes = [m.training for m in models]
    for m in models:
        m.eval()
    out = {name: ([], []) for name in heads}
    try:
        for x, y_action, y_subject in batches:
            x = x.to(device, non_blocking=True).float()
            v = encoder(x) if encoder is not None else x
            labels = {"action": y_action, "identity": y_subject}
            for name, (model, level, target) in heads.items():
                with autocast():
                    probs = clip_probs(model, level, v)
                out[name][0].append(probs.argmax(1).cpu())
                out[name][1].append(labels[target].cpu())
    finally:
        for m, mode in zip(models, modes):
            m.train(mode)
    return {name: (torch.cat(p).long() if p else torch.zeros(0, dtype=torch.long),
                   torch.cat(t).long() if t else torch.zeros(0, dtype=torch.long)) for name, (p, t) in out.items()}


def accuracies(batches, heads: dict, *, device, encoder=None, precision=None) -> dict:
    """Clip-level top-1 of each head over `batches` (see `predict`), and the number of clips "n"."""
    preds = predict(batches, heads, device=device, encoder=encoder, precision=precision)
    n = len(next(iter(preds.values()))[0]) if preds else 0
    return {name: int((p == t).sum()) / max(n, 1) for name, (p, t) in preds.items()} | {"n": n}
