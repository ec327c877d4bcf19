"""The paper's validation protocol (§4.2): freeze an encoder, train a new T and a new P on its output, test.

The numbers that count are these, never the accuracies of the adversarial phase (the student reproduction's
mistake): a fresh T and a fresh P (pretrained init as in the paper when cfg.weights == "pretrained"; the same seed
for every encoder, so every method starts from identical networks) are trained for cfg.val_epochs on E's output
of the training split, then tested:
  action  = clip-1 crop-1 top-1 of T (the t centre frames, centre crop);
  privacy = top-1 of P's softmax averaged over the clip's frames.
The same routine evaluates any encoder: the identity ("raw"), BDQ, its module ablations and the baselines.

A second protocol, SPPA's "frozen_clean" (seed 003 §4): T and P trained once on clean data (the raw encoder's
models) are applied, frozen, to encoded test data.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .adversarial import _quiet, evaluate, make_models, make_optimizer, resolve_device, select_frames
from .checkpoint import (ConfigMismatch, TimeBudget, TimeBudgetReached, load_checkpoint, save_checkpoint,
                         seed_everything)
from .metrics import chance_level
from .models import privacy_logits


def result_row(cfg, data, *, method: str, alpha, protocol: str, scores: dict, epochs: int) -> dict:
    test = data.test.manifest
    return {"dataset": cfg.dataset, "method": method, "alpha": alpha, "protocol": protocol,
            "split": cfg.protocol, "action_top1": scores["action_top1"], "privacy_top1": scores["privacy_top1"],
            "action_chance": chance_level(test["action_idx"]), "privacy_chance": chance_level(test["subject_idx"]),
            "n_test": scores["n"], "epochs": epochs, "seed": cfg.seed}


def supervised_step(v, y_action, y_subject, action, privacy, opt_t, opt_p, *, privacy_frames) -> tuple:
    """One plain training step of T and P on encoded clips v (B, C, T, H, W); returns the two losses (floats).

    T learns the action of each clip; P the identity from each of its frames (or a random subset, see
    `select_frames`). Used by the validation protocol and by the cpu profile's pretraining.
    """
    loss_t = F.cross_entropy(action(v), y_action)
    opt_t.zero_grad(set_to_none=True)
    loss_t.backward()
    opt_t.step()
    logits = privacy_logits(privacy, select_frames(v, privacy_frames))  # (B, k, classes)
    loss_p = F.cross_entropy(logits.flatten(0, 1), y_subject.repeat_interleave(logits.shape[1]))
    opt_p.zero_grad(set_to_none=True)
    loss_p.backward()
    opt_p.step()
    return loss_t.item(), loss_p.item()


def validate_encoder(encoder, data, cfg, *, method: str, alpha=float("nan"), checkpoint=None, log=print,
                     return_models: bool = False):
    """Train fresh T and P on the frozen `encoder`'s output; return the result row (and the models).

    checkpoint: optional path; the run then saves after every epoch and resumes from it (refusing a checkpoint
    written with another config or method).
    """
    log = log or _quiet
    device = resolve_device(cfg.device)
    frozen = copy.deepcopy(encoder).to(device).eval().requires_grad_(False)
    seed_everything(cfg.seed)
    action, privacy = make_models(cfg, data.num_actions, data.num_subjects, device)
    opt_t = make_optimizer(action.parameters(), cfg.val_lr, cfg)
    opt_p = make_optimizer(privacy.parameters(), cfg.val_lr, cfg)
    sched_t = torch.optim.lr_scheduler.CosineAnnealingLR(opt_t, T_max=cfg.val_epochs)
    sched_p = torch.optim.lr_scheduler.CosineAnnealingLR(opt_p, T_max=cfg.val_epochs)
    objects = {"action": action, "privacy": privacy, "opt_t": opt_t, "opt_p": opt_p, "sched_t": sched_t,
               "sched_p": sched_p}
    config = {**cfg.to_dict(), "method": method, "encoder": repr(frozen),  # which modules, sizes ...
              "encoder_state": {k: v.tolist() for k, v in frozen.state_dict().items()}}  # ... and parameters
    start, history = 0, []
    if checkpoint is not None:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False) if Path(checkpoint).is_file() else None
        if state is not None and state["config"] != config:
            raise ConfigMismatch(f"validation checkpoint {checkpoint} belongs to another config/encoder; "
                                 f"delete it or use another run directory")
        if state is not None:
            state = load_checkpoint(checkpoint, objects=objects)
            start, history = state["epoch"], state["history"]
            log(f"[validate {method}] resuming after epoch {start}/{cfg.val_epochs}")
    generator = torch.Generator()
    loader = torch.utils.data.DataLoader(data.train, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                         generator=generator, num_workers=cfg.num_workers)
    budget = TimeBudget(cfg.time_budget_h)
    for epoch in range(start + 1, cfg.val_epochs + 1):
        if checkpoint is not None and budget.exhausted():
            raise TimeBudgetReached(f"time budget of {cfg.time_budget_h} h reached: validation of {method} stopped "
                                    f"after epoch {epoch - 1}/{cfg.val_epochs} (saved in {checkpoint}); re-run with "
                                    f"the same run folder to continue")
        t0 = time.time()
        generator.manual_seed(cfg.seed * 1_000_003 + epoch)
        loss_t = loss_p = 0.0
        steps = 0
        for x, ya, ys in loader:
            x, ya, ys = x.to(device), ya.to(device), ys.to(device)
            with torch.no_grad():
                v = frozen(x)
            lt, lp = supervised_step(v, ya, ys, action, privacy, opt_t, opt_p, privacy_frames=cfg.privacy_frames)
            loss_t, loss_p, steps = loss_t + lt, loss_p + lp, steps + 1
        sched_t.step()
        sched_p.step()
        history.append({"epoch": epoch, "loss_action": loss_t / max(steps, 1), "loss_privacy": loss_p / max(steps, 1),
                        "seconds": time.time() - t0})
        if checkpoint is not None:
            save_checkpoint(checkpoint, objects=objects, epoch=epoch, history=history, config=config)
        budget.record(time.time() - t0)
    scores = evaluate(frozen, action, privacy, data.test, batch_size=cfg.batch_size, device=device,
                      num_workers=cfg.num_workers)
    row = result_row(cfg, data, method=method, alpha=alpha, protocol="retrain", scores=scores, epochs=cfg.val_epochs)
    last = history[-1] if history else {}
    log(f"[validate {method}{'' if alpha != alpha else f' alpha={alpha:g}'}] {cfg.val_epochs} epochs: "
        f"action {row['action_top1']:.3f} (chance {row['action_chance']:.3f}), privacy {row['privacy_top1']:.3f} "
        f"(chance {row['privacy_chance']:.3f}), n={row['n_test']}"
        + (f"; last epoch CE a/p {last['loss_action']:.3f}/{last['loss_privacy']:.3f}" if last else ""))
    return (row, action, privacy) if return_models else row


def evaluate_frozen_clean(encoder, action, privacy, data, cfg, *, method: str, alpha=float("nan")) -> dict:
    """SPPA's protocol: models trained on clean data, applied frozen to this encoder's test output."""
    device = resolve_device(cfg.device)
    scores = evaluate(copy.deepcopy(encoder).to(device).eval(), action, privacy, data.test,
                      batch_size=cfg.batch_size, device=device, num_workers=cfg.num_workers)
    return result_row(cfg, data, method=method, alpha=alpha, protocol="frozen_clean", scores=scores, epochs=0)

