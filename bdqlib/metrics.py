"""Losses and scores shared by training, validation and figures. All functions take logits."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of softmax(logits) over all leading dims; logits (..., num_classes)."""
    logp = F.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1).mean()


def clip_entropy(frame_logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of the frame-averaged softmax of (B, T, K) per-frame logits: the entropy of the
    distribution the privacy score takes its arg-max of (`entropy` of the same logits averages per frame)."""
    return entropy(clip_privacy_probs(frame_logits).clamp_min(1e-12).log())  # log-probabilities are logits too


def clip_privacy_probs(frame_logits: torch.Tensor) -> torch.Tensor:
    """(B, T, K) per-frame logits -> (B, K) softmax averaged over the T frames (the paper's privacy score)."""
    return F.softmax(frame_logits, dim=-1).mean(1)


def top1(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max equals the label."""
    return float((scores.argmax(-1) == labels).float().mean()) if len(labels) else float("nan")


def chance_level(labels) -> float:
    """Accuracy of always answering the most frequent label of this set (1/K when balanced)."""
    counts = np.bincount(np.asarray(labels))
    return float(counts.max() / counts.sum())


def f_lambda(action: float, privacy: float, lam: float = 0.5) -> float:
    """SPPA's trade-off score (seed 003, Eq. 6): (1 - lam) a + lam (1 - p), accuracies in [0, 1]."""
    return (1 - lam) * action + lam * (1 - privacy)


def privacy_removal(privacy: float, privacy_raw: float, chance: float) -> float:
    """Fraction of the raw input's above-chance privacy accuracy that an encoder removes; NaN when raw itself is at
    or below chance (there is nothing to remove, so no share of it is defined)."""
    above = privacy_raw - chance
    return (privacy_raw - privacy) / above if above > 0 else float("nan")
