"""Adversarial training of E (BDQ), T (action) and P (privacy): the paper's two-step game (§3.2).

Per batch V:
  1. P fixed: E and T minimise  CE(T(E(V)), action) - alpha * H(P(E(V)))          (Eq. 1)
     H is the entropy of P's softmax, averaged over the frames of each clip and over the batch (or, as the
     authors' code did, over one random frame per batch: privacy_frames="one"). P is in eval mode here (fixed
     includes its BatchNorm statistics). After E's update its bins are re-sorted with their optimizer state.
  2. E and T fixed: P minimises  CE(P(E(V)), identity)  on the same batch, E(V) recomputed without gradient to E
     (Eq. 2), every frame labelled with the clip's identity.
All three are trained (no frozen backbones), with separate optimizers for (E, T) and P: SGD, cosine annealing.
After each epoch: validation-split accuracies, a per-epoch log (log.csv) and an atomic checkpoint (resume).

Options beyond the paper (all off by default; config.py): privacy_entropy="clip" (H of the frame-averaged softmax,
the distribution the privacy score reads), privacy_steps=k (k updates of P per step 2), privacy_restart_every=N
(Wu et al., ECCV 2018: P back to its initial weights every N steps of play, so E cannot settle on one P's blind
spots), privacy_ensemble="small3d,..." (Wu et al.'s ensemble of budget models: more attackers, frame-level or
temporal, trained in step 2 beside P; E's entropy term is the worst case over all of them, the most confident
attacker, or their mean: privacy_ensemble_mode), dead_zone (BDQEncoder: a learnable soft threshold on the
difference).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from ..core.encoder import BDQEncoder, bdq_encoder
from ..engine import loop, memory
from ..engine.checkpoint import TimeBudget, bind_run_dir, config_dict, load_checkpoint, save_checkpoint, seed_everything
from ..engine.distributed import (
    SINGLE,
    Dist,
    average_gradients_of,
    barrier,
    device_for,
    local_batch,
    mean_over_processes,
    unwrap,
    wrap,
)
from ..engine.precision import FP32, Precision, make_precision, maybe_checkpointed, memory_format
from ..engine.steps import (
    accuracies,
    check_finite,
    clip_loss,
    make_optimizer,
    micro_batches,
    quiet,
    resolve_device,
    run_epoch,
    select_frames,
)
from ..metrics import clip_entropy, clip_privacy_probs, entropy, top1
from ..nets.zoo import build_model, init_weights, make_models, model_width, privacy_logits
from .probes import parse_probes


class _JointOptimizer(torch.optim.Optimizer):
    """Two optimizers stepped together, so (E, T) keep one optimizer object (one scheduler, one state)."""

    def __init__(self, *optimizers):
        self.optimizers = optimizers
        super().__init__([p for o in optimizers for g in o.param_groups for p in g["params"]], {})
        self.param_groups = [g for o in optimizers for g in o.param_groups]  # shared: schedulers set each lr

    def step(self, closure=None):
        for o in self.optimizers:
            o.step()

    def zero_grad(self, set_to_none: bool = True):
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def state_dict(self):
        return {"optimizers": [o.state_dict() for o in self.optimizers]}

    def load_state_dict(self, state):
        for o, s in zip(self.optimizers, state["optimizers"]):
            o.load_state_dict(s)


def combine_entropies(entropies: list, mode: str) -> torch.Tensor:
    """E's privacy term over several attackers: "worst" -- the smallest entropy (the most confident attacker, the
    one E must fool; Wu et al.'s worst case over the ensemble) -- or "mean"."""
    if mode == "worst":
        return torch.stack(entropies).min()
    if mode == "mean":
        return torch.stack(entropies).mean()
    raise ValueError(f"privacy_ensemble_mode must be 'worst' or 'mean', got {mode!r}")


def attacker_entropy(model, level: str, v, privacy_frames, privacy_entropy: str, *, checkpoint: bool = False):
    """The entropy an attacker's prediction on E's output V has: a clip-level (3-D) network's softmax per clip; a
    frame-level one's per frame (the paper) or of its frame-averaged softmax (privacy_entropy="clip")."""
    if level == "clip":
        return entropy(model(v).float())
    frame_logits = maybe_checkpointed(privacy_logits, model, select_frames(v, privacy_frames),
                                      enabled=checkpoint).float()
    return entropy(frame_logits) if privacy_entropy == "frame" else clip_entropy(frame_logits)


def adversarial_step(batch, encoder, action, privacy, opt_et, opt_p, *, alpha: float, privacy_frames,
                     privacy_entropy: str = "frame", privacy_steps: int = 1, where: str = "",
                     precision: Precision = FP32, checkpoint_privacy: bool = False, ensemble: tuple = (),
                     ensemble_mode: str = "worst", accum: int = 1):
    """One two-step update on a batch (x, action, subject); returns the batch's statistics.

    precision: autocast / GradScaler for T and P (E runs in fp32). checkpoint_privacy: recompute P's activations
    in step 1's backward instead of keeping them (P sees every frame of every clip there: the memory peak).
    ensemble: more attackers as (model, level, optimizer): fixed in step 1, where E's privacy term combines their
    entropies with P's (`combine_entropies`), each trained like P in step 2.
    accum: the batch is processed as `accum` micro-batches whose gradients are summed before each optimizer step
    (bdqlib.engine.steps.micro_batches): the update of the whole batch, where no batch statistic enters, in a
    fraction of the memory. The optimizers step once per step, as without it.
    """
    parts = micro_batches(batch, accum)
    attackers = [(privacy, "frame")] + [(m, level) for m, level, _ in ensemble]
    sums: dict = {}

    def add(name, value, w):
        sums[name] = sums.get(name, 0.0) + w * value

    # Step 1 -- P fixed: update E and T with CE(T(E(V))) - alpha * H(P(E(V))). "Fixed" includes P's BatchNorm:
    # eval mode, so H is what the evaluated P would give and step 1 does not move P's running statistics.
    was_training = [m.training for m, _ in attackers]
    for m, _ in attackers:
        m.requires_grad_(False).eval()
    try:
        opt_et.zero_grad(set_to_none=True)
        for (x, y_action, _), w in parts:
            v = encoder(x)
            with precision.autocast():
                logits_t = action(v).float()
                hs = [attacker_entropy(unwrap(m), level, v, privacy_frames, privacy_entropy,  # fixed: no DDP needed
                                       checkpoint=checkpoint_privacy) for m, level in attackers]
            h = hs[0] if len(hs) == 1 else combine_entropies(hs, ensemble_mode)
            ce_action = F.cross_entropy(logits_t, y_action)
            loss_et = ce_action - alpha * h
            check_finite(loss_et, "the E/T loss", where)
            precision.backward(loss_et * w if accum > 1 else loss_et)
            add("loss_action", ce_action.item(), w)
            add("entropy", h.item(), w)
            add("loss_et", loss_et.item(), w)
            add("train_action_top1", top1(logits_t.detach(), y_action), w)
            if ensemble:
                add("entropy_P", hs[0].item(), w)  # P's own term, beside the combined one
        precision.apply(opt_et)
        precision.update()  # one iteration of (E, T); each of P's updates below is one more
        if isinstance(encoder, BDQEncoder):
            encoder.project_(opt_et)  # sorted bins, each keeping its own momentum; the dead zone >= 0
    finally:  # an error in step 1 must not leave P (or the ensemble) frozen
        for (m, _), mode in zip(attackers, was_training):
            m.requires_grad_(True).train(mode)
    # Step 2 -- E and T fixed: update P with CE(P(E(V)), identity), E(V) recomputed after step 1.
    with torch.no_grad():
        vs = [encoder(x) for (x, _, _), _ in parts]
    for _ in range(privacy_steps):
        loss_p = train_p = 0.0
        opt_p.zero_grad(set_to_none=True)
        for v, ((_, _, y_subject), w) in zip(vs, parts):
            with precision.autocast():
                loss, frame_logits = clip_loss(privacy, "frame", v, y_subject, frames=privacy_frames)
            check_finite(loss, "the P loss", where)
            precision.backward(loss * w if accum > 1 else loss)
            loss_p += w * loss.item()
            train_p += w * top1(clip_privacy_probs(frame_logits.detach().float()), y_subject)
        precision.apply(opt_p)
        for m, level, opt in ensemble:  # the ensemble learns as P does, on the same E(V)
            opt.zero_grad(set_to_none=True)
            for v, ((_, _, y_subject), w) in zip(vs, parts):
                with precision.autocast():
                    loss_m, _ = clip_loss(m, level, v, y_subject, frames=privacy_frames)
                check_finite(loss_m, "an ensemble attacker's loss", where)
                precision.backward(loss_m * w if accum > 1 else loss_m)
            precision.apply(opt)
        precision.update()  # a GradScaler refuses to step opt_p twice between two updates
    stats = {k: sums[k] for k in ("loss_action", "entropy", "loss_et")}
    stats.update(loss_privacy=loss_p, train_action_top1=sums["train_action_top1"], train_privacy_top1=train_p)
    if ensemble:
        stats["entropy_P"] = sums["entropy_P"]
    return stats


def restarts_before(step: int, every: int) -> int:
    """How many times P has been restarted before game step `step` (1-based): after every `every` steps."""
    return (step - 1) // every if every > 0 and step > 0 else 0


def encoder_state(encoder) -> dict:
    """What the log records of E each epoch: BDQ's sigma and bins (nothing for ALF's 50 k+ weights)."""
    if not isinstance(encoder, BDQEncoder):
        return {}
    bins = encoder.bins.tolist()
    extra = {} if encoder.dead_zone is None else {"dead_zone": float(encoder.dead_zone.detach().clamp(min=0))}
    return {"sigma": float(encoder.sigma.detach()), **extra, **{f"bin{i:02d}": b for i, b in enumerate(bins)}}


@dataclass
class Game:
    """The players of one game: E, T, P, the ensemble [(name, model, level)], their optimizers and the precision."""
    encoder: torch.nn.Module
    action: torch.nn.Module
    privacy: torch.nn.Module
    members: list
    precision: Precision
    opt_et: torch.optim.Optimizer
    opt_p: torch.optim.Optimizer
    member_opts: list


def initial_encoder(cfg, make_encoder=None) -> torch.nn.Module:
    """The encoder a game starts from: `make_encoder(cfg)` (a method's, bdqlib.methods), or BDQ from the config."""
    if make_encoder is not None:
        return make_encoder(cfg)
    if cfg.encoder != "bdq":
        raise ValueError(f"a game of encoder {cfg.encoder!r} needs its make_encoder (bdqlib.methods.resolve("
                         f"{cfg.encoder!r})[0].make_encoder)")
    return bdq_encoder(cfg)


def make_game(cfg, num_actions: int, num_subjects: int, device, make_encoder=None) -> Game:
    """E (BDQ, or the method's `make_encoder(cfg)`), T, P and the ensemble of `cfg` on `device`, initialised as the
    config says, with their optimizers: SGD or Adam for T and P, E's 16 numbers with their own learning rates (one
    optimizer with T's, the paper, or SGD of their own), any other encoder's weights with T's."""
    encoder = initial_encoder(cfg, make_encoder).to(device)
    action, privacy = make_models(cfg, num_actions, num_subjects, device)
    # On a CPU the game stays fp32 under "auto" (no network named): not measured on its own. The one run with T and
    # P in bf16 (20261207-125756) also pretrained and validated in bf16, and its BDQ alpha=1 privacy was 0.517 against
    # fp32's 0.338 +- 0.085 (one seed); bf16 validation alone on fp32's encoder gave 0.371, so the rest came from the
    # game or the bf16 pretraining, which cannot be told apart there. Until seeds show bf16 leaves the game's result
    # within its intervals, the headline's game is not changed by it. On a GPU "auto" is bf16/fp16 as before.
    precision = make_precision(cfg.amp, device)
    action, privacy = (memory_format(m, cfg.channels_last and device.type == "cuda") for m in (action, privacy))
    members = [(probe.name, build_model(probe.arch, num_subjects, weights=init_weights(cfg, probe.arch, probe.init),
                                        width=model_width(cfg, probe.arch)).to(device), probe.level)
               for probe in (parse_probes(cfg.privacy_ensemble) if cfg.privacy_ensemble else [])]
    if isinstance(encoder, BDQEncoder):
        enc_groups = [{"params": [encoder.bin_centres], "lr": cfg.encoder_lr}]
        if isinstance(encoder.log_sigma, torch.nn.Parameter):
            enc_groups.append({"params": [encoder.log_sigma], "lr": cfg.sigma_lr})
        if encoder.dead_zone is not None:  # not in the paper: a threshold in input units, like sigma's scale
            enc_groups.append({"params": [encoder.dead_zone], "lr": cfg.sigma_lr})
    else:  # ALF: a network like T, trained with T's optimizer and lr (the paper: one optimizer for all)
        enc_groups = [{"params": list(encoder.parameters()), "lr": cfg.lr}]
    if cfg.encoder_optimizer == "same" or not isinstance(encoder, BDQEncoder):  # the paper: one optimizer for E, T
        opt_et = make_optimizer(enc_groups + [{"params": list(action.parameters()), "lr": cfg.lr}], cfg.lr, cfg)
    elif cfg.encoder_optimizer == "sgd":
        opt_et = _JointOptimizer(torch.optim.SGD(enc_groups, lr=cfg.encoder_lr, momentum=cfg.momentum),
                                 make_optimizer(action.parameters(), cfg.lr, cfg))
    else:
        raise ValueError(f"encoder_optimizer must be 'same' or 'sgd', got {cfg.encoder_optimizer!r}")
    opt_p = make_optimizer(privacy.parameters(), cfg.lr, cfg)
    member_opts = [make_optimizer(m.parameters(), cfg.lr, cfg) for _, m, _ in members]
    return Game(encoder, action, privacy, members, precision, opt_et, opt_p, member_opts)


def describe_game(cfg) -> str:
    what = f"{cfg.encoder}, T {cfg.action_model}, P {cfg.privacy_model}"
    return what + (f", ensemble {cfg.privacy_ensemble}" if cfg.privacy_ensemble else "")


def throwaway_game(cfg, num_actions: int, num_subjects: int, device, make_encoder=None):
    """For bdqlib.engine.memory.fit: a function building the game of `cfg` with throwaway players (random init: only the
    shapes matter, nothing is downloaded) and returning step(n), one game step on n random clips."""
    device = torch.device(device)

    def make_step():
        c = replace(cfg, weights="none")
        game = make_game(c, num_actions, num_subjects, device, make_encoder)
        ensemble = tuple((m, level, opt) for (_, m, level), opt in zip(game.members, game.member_opts))

        def step(n):
            x = torch.randn(n, 3, c.num_frames, c.size, c.size, device=device)
            labels = (torch.randint(num_actions, (n,), device=device), torch.randint(num_subjects, (n,), device=device))
            adversarial_step((x, *labels), game.encoder, game.action, game.privacy, game.opt_et, game.opt_p,
                             alpha=c.alpha, privacy_frames=c.privacy_frames, privacy_entropy=c.privacy_entropy,
                             privacy_steps=c.privacy_steps, precision=game.precision,
                             checkpoint_privacy=c.activation_checkpointing, ensemble=ensemble,
                             ensemble_mode=c.privacy_ensemble_mode)
        return step
    return make_step


@dataclass
class AdversarialResult:
    encoder: torch.nn.Module  # BDQEncoder, or ALFEncoder (cfg.encoder == "alf")
    action: torch.nn.Module
    privacy: torch.nn.Module
    history: pd.DataFrame
    status: str          # "completed" or "time_budget" (re-run to continue)
    run_dir: Path


def train_adversarial(cfg, data, run_dir, *, log=print, budget: TimeBudget | None = None,
                      dist: Dist = SINGLE, make_encoder=None) -> AdversarialResult:
    """Train E, T, P adversarially in `run_dir` (resuming from its last checkpoint if there is one).

    budget: the session's TimeBudget (default: cfg.time_budget_h counted from this process's start).
    dist: this process's place under torchrun (bdqlib.engine.distributed): each process trains on its share of every
    batch, T and P in DDP, E's gradients averaged; only rank 0 writes files.
    """
    log = (log or quiet) if dist.main else quiet
    if cfg.privacy_entropy not in ("frame", "clip"):  # before anything is written to run_dir
        raise ValueError(f"privacy_entropy must be 'frame' or 'clip', got {cfg.privacy_entropy!r}")
    if cfg.privacy_ensemble_mode not in ("worst", "mean"):
        raise ValueError(f"privacy_ensemble_mode must be 'worst' or 'mean', got {cfg.privacy_ensemble_mode!r}")
    device = device_for(dist, resolve_device(cfg.device))
    config = config_dict(cfg, num_actions=data.num_actions, num_subjects=data.num_subjects,
                         train_clips=len(data.train))
    run_dir = bind_run_dir(run_dir, config) if dist.main else Path(run_dir)
    barrier(dist)
    ckpt = run_dir / "checkpoints" / "last.pt"
    seed_everything(cfg.seed)
    game = make_game(cfg, data.num_actions, data.num_subjects, device, make_encoder)
    encoder, action, privacy, members, precision = game.encoder, game.action, game.privacy, game.members, game.precision
    opt_et, opt_p = game.opt_et, game.opt_p
    privacy_init = copy.deepcopy(privacy.state_dict())  # what a restart returns P to (the same after a resume)
    members_init = [copy.deepcopy(m.state_dict()) for _, m, _ in members]
    action_ddp = wrap(action, dist, device, sync_batchnorm=cfg.sync_batchnorm)  # gradients averaged in backward
    privacy_ddp = wrap(privacy, dist, device, sync_batchnorm=cfg.sync_batchnorm)
    average_gradients_of(encoder, dist)
    sched_et = torch.optim.lr_scheduler.CosineAnnealingLR(opt_et, T_max=cfg.epochs)
    sched_p = torch.optim.lr_scheduler.CosineAnnealingLR(opt_p, T_max=cfg.epochs)
    objects = {"encoder": encoder, "action": action, "privacy": privacy, "opt_et": opt_et, "opt_p": opt_p,
               "sched_et": sched_et, "sched_p": sched_p, "precision": precision}
    ensemble, scheds = [], [sched_et, sched_p]  # the ensemble: (DDP-wrapped model, level, optimizer)
    for i, ((name, m, level), opt) in enumerate(zip(members, game.member_opts)):
        scheds.append(torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs))
        ensemble.append((wrap(m, dist, device, sync_batchnorm=cfg.sync_batchnorm), level, opt))
        objects.update({f"ensemble{i}": m, f"opt_ensemble{i}": opt, f"sched_ensemble{i}": scheds[-1]})
    accum = memory.resolve(cfg.accum_steps, f"the game ({describe_game(cfg)})", local_batch(dist, cfg.batch_size),
                           throwaway_game(cfg, data.num_actions, data.num_subjects, device, make_encoder), device,
                           log=log)
    state = load_checkpoint(ckpt, objects=objects)
    start, history = (state["epoch"], state["history"]) if state else (0, [])
    if state:
        log(f"[adversarial] resuming {run_dir} after epoch {start}/{cfg.epochs}")
    # One seeded permutation per epoch, process r taking items r, r + N, ...: the N local batches of a step are
    # the global batch a single process would take (bdqlib.engine.distributed).
    sampler = torch.utils.data.DistributedSampler(data.train, num_replicas=dist.world, rank=dist.rank,
                                                  shuffle=True, seed=cfg.seed, drop_last=True)
    loader = torch.utils.data.DataLoader(data.train, batch_size=local_batch(dist, cfg.batch_size), sampler=sampler,
                                         drop_last=True, num_workers=cfg.num_workers,
                                         pin_memory=device.type == "cuda")
    budget = budget or TimeBudget(cfg.time_budget_h)

    def epoch_row(epoch: int) -> dict:
        t0 = time.time()
        sampler.set_epoch(epoch)  # the epoch's order depends on (seed, epoch) only
        encoder.requires_grad_(epoch > cfg.warmup_epochs)  # frozen E: no gradient, so its optimizer skips it
        where = f"epoch {epoch}; last good checkpoint {ckpt}"
        game_step = [(epoch - 1 - cfg.warmup_epochs) * len(loader)]  # steps of play before this epoch's first

        def step(*batch):
            game_step[0] += 1
            if restarts_before(game_step[0], cfg.privacy_restart_every) > \
                    restarts_before(game_step[0] - 1, cfg.privacy_restart_every):
                privacy.load_state_dict(privacy_init)  # Wu et al.'s restart: P from its init, Adam/SGD state reset
                opt_p.state.clear()
                for (_, m, _), init, (_, _, opt) in zip(members, members_init, ensemble):
                    m.load_state_dict(init)
                    opt.state.clear()
            return adversarial_step(batch, encoder, action_ddp, privacy_ddp, opt_et, opt_p, alpha=cfg.alpha,
                                    privacy_frames=cfg.privacy_frames, privacy_entropy=cfg.privacy_entropy,
                                    privacy_steps=cfg.privacy_steps, where=where, precision=precision,
                                    checkpoint_privacy=cfg.activation_checkpointing, ensemble=tuple(ensemble),
                                    ensemble_mode=cfg.privacy_ensemble_mode, accum=accum)

        row = {"epoch": epoch, **mean_over_processes(run_epoch(loader, step, device=device), dist)}
        if cfg.privacy_restart_every > 0:
            row["privacy_restarts"] = restarts_before(max(game_step[0], 0), cfg.privacy_restart_every)  # so far
        for sched in scheds:
            sched.step()
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            heads = {"action": (action, "clip", "action"), "privacy": (privacy, "frame", "identity"),
                     **{f"privacy_{name}": (m, level, "identity") for name, m, level in members}}
            val = accuracies(torch.utils.data.DataLoader(data.val, batch_size=cfg.batch_size,
                                                         num_workers=cfg.num_workers,
                                                         pin_memory=device.type == "cuda"), heads, device=device,
                             encoder=encoder, precision=precision)
            row.update(val_action_top1=val["action"], val_privacy_top1=val["privacy"],
                       **{f"val_privacy_top1_{name}": val[f"privacy_{name}"] for name, _, _ in members})
        row.update(encoder_state(encoder), lr=sched_et.get_last_lr()[-1], seconds=time.time() - t0)
        return row

    def describe(row: dict) -> str:
        return (f"[adversarial] epoch {row['epoch']}/{cfg.epochs}  action CE {row['loss_action']:.3f}  "
                f"entropy {row['entropy']:.3f}  P CE {row['loss_privacy']:.3f}  "
                f"train acc a/p {row['train_action_top1']:.2f}/{row['train_privacy_top1']:.2f}  "
                + (f"val acc a/p {row['val_action_top1']:.2f}/{row['val_privacy_top1']:.2f}  "
                   if "val_action_top1" in row else "")
                + (f"sigma {row['sigma']:.3f}  " if "sigma" in row else "") + f"({row['seconds']:.1f}s)")

    done = loop.fit(epoch_row, epochs=cfg.epochs, start=start, history=history, budget=budget, dist=dist, log=log,
               describe=describe, log_csv=run_dir / "log.csv",
               save=lambda epoch, hist, best: save_checkpoint(ckpt, objects=objects, epoch=epoch, history=hist,
                                                              config=config))
    history, status = done.history, done.status
    if status == "time_budget":
        log(f"[adversarial] time budget of {cfg.time_budget_h} h reached after epoch {done.epoch}; re-run with the "
            f"same run directory to continue")
    return AdversarialResult(encoder, action, privacy, pd.DataFrame(history), status, run_dir)
