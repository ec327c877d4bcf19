"""RAPrivacy's two-phase training (seed 004 §3.4) and the factories of its parts, from a run config.

Every batch V (B, C, T, H, W) with one depth image drawn from the style bank:
  phase 1: A <- lambda_g L_gs + lambda_l L_lf                                   (T frozen: not involved)
  phase 2: A <- lambda_g L_gs + lambda_l L_lf + lambda_a L_act - lambda_p L_pri,  T <- L_act   (one backward)
  then the privacy branch P (a frame network, its head removed) <- L_pri on A's output, detached.
One epoch loop (bdqlib.engine.steps.run_epoch); after each epoch an atomic checkpoint (A, T, P, optimizers, RNG,
history), so an interrupted training resumes exactly. The anonymiser of the last epoch is the result: the paper
states no selection rule, and choosing on the test split is not an option.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atomic import atomic_path
from ..config import POPULATION_SEED_OFFSET
from ..data.cache import resize_frames
from ..data.scenes import depth_styles
from ..engine import loop, memory
from ..engine.checkpoint import (
    TimeBudget,
    TimeBudgetReached,
    bind_run_dir,
    config_dict,
    load_checkpoint,
    save_checkpoint,
    seed_everything,
)
from ..engine.precision import Precision, make_precision
from ..engine.steps import check_finite, make_optimizer, micro_batches, quiet, resolve_device, run_epoch, select_frames
from ..metrics import top1
from ..nets.adaattn import Anonymiser, FeatureEncoder, contrastive
from ..nets.registry import network
from ..nets.weights import load_checkpoint as load_weights
from ..nets.zoo import (
    build_model,
    init_weights,
    make_models,
    model_width,
    privacy_logits,
    set_last_linear,
    video_frames,
)
from .registry import Method, register
from .sppa_templates import IMAGENET_MEAN, IMAGENET_STD, normalise

VGG19_LEVELS = ((0, 2), (2, 7), (7, 12), (12, 21), (21, 30))  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1


def make_feature_encoder(cfg) -> FeatureEncoder:
    """cfg.rap_encoder: vgg19 (ImageNet weights; inputs moved from our normalisation to ImageNet's) | small2d (the
    pretrained small 2-D network's four blocks)."""
    if cfg.rap_encoder == "small2d":
        model = build_model("small2d", 10, weights=init_weights(cfg, "small2d"), width=model_width(cfg, "small2d"))
        return FeatureEncoder(list(model.children())[:4])
    if cfg.rap_encoder != "vgg19":
        raise ValueError(f"rap_encoder must be 'vgg19' or 'small2d', got {cfg.rap_encoder!r}")
    from torchvision.models import vgg19
    vgg = vgg19(weights=None)
    if cfg.weights != "none":
        vgg.load_state_dict(load_weights("vgg19", cfg.weights, url=network("vgg19").url, source="ImageNet-1k"))
    layers = list(vgg.features.children())
    scale = torch.tensor([s / i for s, i in zip(cfg.std, IMAGENET_STD)])
    shift = torch.tensor([(m - im) / i for m, im, i in zip(cfg.mean, IMAGENET_MEAN, IMAGENET_STD)])
    return FeatureEncoder([nn.Sequential(*layers[a:b]) for a, b in VGG19_LEVELS], scale=scale, shift=shift)


def _square(image: np.ndarray, side: int) -> np.ndarray:
    """Short side to `side` (the data cache's resize_frames), centre crop side x side: what the data pipeline does
    to frames."""
    image = resize_frames(image[None], side)[0]
    y0, x0 = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return image[y0:y0 + side, x0:x0 + side]


def style_bank(cfg) -> torch.Tensor:
    """(S, 3, size, size) normalised depth images: cfg.rap_styles' pictures (e.g. SBU's depth_*.png, spread evenly
    over the sorted list; on SBU its own depth frames when rap_styles is empty, as the paper), or synthetic depth
    maps of the pretraining population."""
    side = cfg.size
    styles = cfg.rap_styles or (cfg.data_dir if cfg.dataset == "sbu" else "")
    if styles:
        folder = Path(styles)
        paths = sorted(folder.rglob("depth_*.png")) or sorted(folder.rglob("*.png"))
        if not paths:
            raise FileNotFoundError(f"rap_styles: no depth_*.png or *.png under {folder}")
        pick = np.linspace(0, len(paths) - 1, min(cfg.rap_style_count, len(paths))).round().astype(int)
        images = []
        for i in pick:
            image = cv2.imread(str(paths[i]))
            if image is None:
                raise ValueError(f"rap_styles: cannot read {paths[i]}")
            images.append(_square(image[..., ::-1], side))
    else:
        seed = cfg.synthetic_seed + POPULATION_SEED_OFFSET
        images = depth_styles(seed, cfg.synthetic_subjects, cfg.rap_style_count, size=(round(side * 4 / 3), side),
                              avoid=(cfg.synthetic_seed, cfg.synthetic_subjects))
        images = [_square(im, side) for im in images]
    return torch.stack([normalise(np.ascontiguousarray(im), cfg.mean, cfg.std) for im in images])


def make_anonymiser(cfg) -> Anonymiser:
    return Anonymiser(make_feature_encoder(cfg), style_bank(cfg), mean=cfg.mean, std=cfg.std, seed=cfg.seed)


def feature_head(model: nn.Module) -> nn.Module:
    """The privacy branch: a frame classifier with its last linear layer replaced by the identity (features)."""
    return set_last_linear(model, nn.Identity())


@dataclass
class RAPrivacyResult:
    anonymiser: Anonymiser
    history: list
    status: str  # completed | time_budget


@dataclass
class RAPrivacyPlayers:
    """The anonymiser A, the action network T, the privacy branch P, their optimizers and the precision."""
    anonymiser: Anonymiser
    action: nn.Module
    privacy: nn.Module
    opt_a: torch.optim.Optimizer
    opt_t: torch.optim.Optimizer
    opt_p: torch.optim.Optimizer
    precision: Precision


def make_players(cfg, num_actions: int, num_subjects: int, device) -> RAPrivacyPlayers:
    anonymiser = make_anonymiser(cfg).to(device)
    action, privacy = make_models(cfg, num_actions, num_subjects, device)
    privacy = feature_head(privacy)
    opt_a = torch.optim.Adam([p for p in anonymiser.parameters() if p.requires_grad], lr=cfg.rap_lr)
    opt_t, opt_p = make_optimizer(action.parameters(), cfg.lr, cfg), make_optimizer(privacy.parameters(), cfg.lr, cfg)
    return RAPrivacyPlayers(anonymiser, action, privacy, opt_a, opt_t, opt_p, make_precision(cfg.amp, device))


def raprivacy_step(players: RAPrivacyPlayers, batch, style: torch.Tensor, cfg, *, accum: int = 1, where: str = ""):
    """One training step of RAPrivacy on a batch (x, action, subject) with one style image (1, 3, H, W): phase 1
    (style only), phase 2 (all of Eq. 9, T too), then the privacy branch; each phase's gradients summed over
    `accum` micro-batches before its optimizers step (the contrastive loss then pairs frames within a
    micro-batch only). Networks run under the precision's autocast, losses in fp32."""
    a, precision = players.anonymiser, players.precision
    weights = dict(lambda_global=cfg.rap_lambda_global, lambda_local=cfg.rap_lambda_local)
    parts = micro_batches(batch, accum)
    sums: dict = {}

    def add(name, value, w):
        sums[name] = sums.get(name, 0.0) + w * value

    def backward(loss, w):
        precision.backward(loss * w if accum > 1 else loss)

    def stylised(x):
        b, c, t, h, w = x.shape
        with precision.autocast():
            out, (fc, fs) = a.stylise(video_frames(x), style)
            loss_st = a.style_loss(out, fc, fs, **weights).float()
        return out, loss_st, (b, t, h, w)

    players.opt_a.zero_grad(set_to_none=True)
    for (x, _, _), w in parts:  # phase 1: style transfer only
        _, loss_st, _ = stylised(x)
        check_finite(loss_st, "the RAPrivacy style loss", where)
        backward(loss_st, w)
    precision.apply(players.opt_a)
    precision.update()
    players.opt_a.zero_grad(set_to_none=True)
    players.opt_t.zero_grad(set_to_none=True)
    chosen_parts = []
    for (x, y_action, _), w in parts:  # phase 2: all of Eq. 9
        out, loss_st, (b, t, h, w_px) = stylised(x)
        video = out.view(b, t, 3, h, w_px).transpose(1, 2)
        with precision.autocast():
            logits = players.action(video).float()
            chosen = select_frames(video, cfg.privacy_frames)
            loss_pri = contrastive(privacy_logits(players.privacy, chosen).float(), cfg.rap_margin)
        loss_act = F.cross_entropy(logits, y_action)
        total = loss_st + cfg.rap_lambda_action * loss_act - cfg.rap_lambda_privacy * loss_pri
        check_finite(total, "the RAPrivacy loss", where)
        backward(total, w)
        chosen_parts.append((chosen.detach(), w))
        add("loss_style", loss_st.item(), w)
        add("loss_action", loss_act.item(), w)
        add("loss_privacy", loss_pri.item(), w)
        add("train_action_top1", top1(logits.detach(), y_action), w)
    precision.apply(players.opt_a)
    precision.apply(players.opt_t)
    precision.update()
    players.opt_p.zero_grad(set_to_none=True)
    for chosen, w in chosen_parts:  # the privacy branch: minimises L_pri on A's output
        with precision.autocast():
            loss_p = contrastive(privacy_logits(players.privacy, chosen).float(), cfg.rap_margin)
        backward(loss_p, w)
        add("loss_privacy_branch", loss_p.item(), w)
    precision.apply(players.opt_p)
    precision.update()
    return {k: sums[k] for k in ("loss_style", "loss_action", "loss_privacy", "loss_privacy_branch",
                                 "train_action_top1")}


def throwaway_raprivacy(cfg, num_actions: int, num_subjects: int, device):
    """For bdqlib.engine.memory.fit: RAPrivacy's players with random weights and step(n) on n random clips."""
    device = torch.device(device)

    def make_step():
        c = replace(cfg, weights="none")
        players = make_players(c, num_actions, num_subjects, device)

        def step(n):
            x = torch.randn(n, 3, c.num_frames, c.size, c.size, device=device)
            labels = (torch.randint(num_actions, (n,), device=device), torch.randint(num_subjects, (n,), device=device))
            raprivacy_step(players, (x, *labels), players.anonymiser.styles[:1], c)
        return step
    return make_step


def train_raprivacy(cfg, data, out_dir, *, log=print, budget: TimeBudget | None = None) -> RAPrivacyResult:
    """Train RAPrivacy for cfg.rap_epochs in `out_dir` (resuming from its checkpoint; a config mismatch is
    refused); saves anonymiser.pt when done."""
    log, out_dir = log or quiet, Path(out_dir)
    bind_run_dir(out_dir, config_dict(cfg, method="raprivacy"))
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    players = make_players(cfg, data.num_actions, data.num_subjects, device)
    anonymiser, action, privacy = players.anonymiser, players.action, players.privacy
    objects = {"anonymiser": anonymiser, "action": action, "privacy": privacy, "opt_a": players.opt_a,
               "opt_t": players.opt_t, "opt_p": players.opt_p, "precision": players.precision}
    path = out_dir / "checkpoint.pt"
    saved = load_checkpoint(path, objects=objects)
    start, history = (saved["epoch"], saved["history"]) if saved else (0, [])
    if start:
        log(f"[raprivacy] resuming after epoch {start}")
    budget = budget or TimeBudget(cfg.time_budget_h)
    style_gen = torch.Generator()
    accum = memory.resolve(cfg.accum_steps, "RAPrivacy's anonymiser", cfg.batch_size,
                           throwaway_raprivacy(cfg, data.num_actions, data.num_subjects, device), device, log=log)

    current = [start]  # the epoch being trained, for error messages

    def step(*batch):
        style = anonymiser.styles[int(torch.randint(len(anonymiser.styles), (1,), generator=style_gen))][None]
        return raprivacy_step(players, batch, style, cfg, accum=accum, where=f"epoch {current[0]}")

    def epoch_row(epoch: int) -> dict:
        t0 = time.time()
        style_gen.manual_seed(cfg.seed * 1_000_003 + epoch)
        order = torch.Generator().manual_seed(cfg.seed * 7919 + epoch)
        loader = torch.utils.data.DataLoader(data.train, batch_size=cfg.batch_size, drop_last=True,
                                             sampler=torch.utils.data.RandomSampler(data.train, generator=order),
                                             num_workers=cfg.num_workers)
        for m in (anonymiser, action, privacy):
            m.train()
        current[0] = epoch
        stats = run_epoch(loader, step, device=device)
        return {"epoch": epoch, **stats, "seconds": time.time() - t0}

    def describe(row: dict) -> str:
        return (f"[raprivacy] epoch {row['epoch']}/{cfg.rap_epochs}  style {row['loss_style']:.3f}  action CE "
                f"{row['loss_action']:.3f}  L_pri {row['loss_privacy']:.3f}  train action acc "
                f"{row['train_action_top1']:.2f}  ({row['seconds']:.1f}s)")

    done = loop.fit(epoch_row, epochs=cfg.rap_epochs, start=start, history=history, budget=budget, log=log,
               describe=describe, log_csv=out_dir / "log.csv",
               save=lambda epoch, hist, best: save_checkpoint(path, objects=objects, epoch=epoch, history=hist,
                                                              config=config_dict(cfg)))
    history, status = done.history, done.status
    anonymiser.eval()
    if status == "completed":
        with atomic_path(out_dir / "anonymiser.pt", suffix=".pt") as tmp:
            torch.save(anonymiser.state_dict(), tmp)
    return RAPrivacyResult(anonymiser, history, status)


def raprivacy_dir(run) -> Path:
    return run.space("raprivacy")


def fit(run, data, alpha=None, arg=None, log=print) -> RAPrivacyResult:
    """RAPrivacy's two-phase training in the run's raprivacy/ folder (resuming); saves anonymiser.pt."""
    result = train_raprivacy(run.cfg, data, raprivacy_dir(run), log=log, budget=run.budget())
    if result.status != "completed":
        raise TimeBudgetReached(f"time budget of {run.cfg.time_budget_h} h reached: RAPrivacy stopped after epoch "
                                f"{len(result.history)}/{run.cfg.rap_epochs}, checkpoint in {raprivacy_dir(run)}; "
                                f"re-run with RUN_DIR={run.run_dir} to continue")
    return result


def trained_anonymiser(run, alpha=None, arg=None) -> Anonymiser:
    path = raprivacy_dir(run) / "anonymiser.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no trained RAPrivacy anonymiser in {run.run_dir} (expected {path}); run "
                                f"05_comparators (or bdqlib.experiments.pipeline.fit) first")
    enc = make_anonymiser(run.cfg)
    enc.load_state_dict(torch.load(path, map_location="cpu"))
    return enc.eval()


register(Method("raprivacy", family="raprivacy", colour="gold", description="RAPrivacy: AdaAttN style transfer to depth images, "
                                                              "trained in two phases against a contrastive privacy "
                                                              "branch",
                build=trained_anonymiser, fit=fit, trained_in="05_comparators", crops=("square",)))  # S x S styles
