"""Probes of a frozen encoder: attackers on identity and the action network, each trained to its best validation.

A *probe* is a fresh network trained on a frozen encoder's output of the training split to predict one label:
the person (an attacker) or the action (T). Every probe is trained the same way:
  * from its initialisation (pretrained or random; the same seed for every encoder, so every encoder faces
    identical networks), on E's output of the training split;
  * its validation accuracy measured after every epoch; the learning rate drops (x `val_lr_drop`) when it has
    not improved for `val_lr_patience` epochs, and training stops when it has not improved for
    `val_patience` epochs, but never before `val_min_epochs` (a network from random initialisation can sit at
    chance for a few epochs before it starts to learn), and at most `val_epochs`;
  * the best-validation weights are restored and tested once.
No fixed small epoch count decides a number, and the test split is never looked at before the end.

E's output is computed once per encoder (`EncodedData`): the cpu profile keeps it in memory -- `val_views`
augmented views (random multi-scale crops) of every training clip, cycled over epochs, and the deterministic view
of validation and test clips; the paper profile (clips of 32 x 224 x 224) encodes each batch as it is read.
Stored as float16: E's input has 8-bit grey levels, far coarser than float16's resolution.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..atomic import atomic_path, exclusive
from ..config import parse_names
from ..engine import loop, memory
from ..engine.checkpoint import (
    ConfigMismatch,
    TimeBudget,
    TimeBudgetReached,
    restore,
    same_config,
    save_checkpoint,
    seed_everything,
)
from ..engine.distributed import SINGLE, Dist, device_for, local_batch, mean_over_processes, wrap
from ..engine.precision import make_precision, memory_format
from ..engine.steps import (
    accuracies,
    predict,
    check_finite,
    clip_loss,
    make_optimizer,
    micro_batches,
    quiet,
    resolve_device,
    run_epoch,
)
from ..nets.zoo import build_model, init_weights, model_level, model_width

SCRATCH = "@scratch"  # suffix of a probe name: random initialisation instead of pretrained


@dataclass(frozen=True)
class Recipe:
    """How a probe is trained beyond the config's defaults: its optimizer, learning rate and weight decay (None: the
    config's val_lr, optimizer and weight_decay), its schedule (the config's plateau drops, or a one-cycle over
    val_epochs), and ordinary training practice -- E's output standardised per channel with the training split's
    statistics, horizontal flips, random shifts by up to `shift` px.

    A plateau schedule stops at the config's patience; a one-cycle runs all val_epochs, because early stopping would
    stop it near its peak learning rate, before the annealing in which it learns most (measured on BDQ alpha = 1:
    wide2d from scratch was still near the chance loss when patience stopped it after 18 of 40 epochs, validation
    0.26; res2d's whole cycle of 60 epochs reached 0.59, of 120 epochs 0.70 -- docs/studies/attack_search.md).
    Either way the best validation epoch's weights are the ones tested."""
    optimizer: str | None = None   # None: cfg.optimizer | adamw
    lr: float | None = None
    weight_decay: float | None = None
    schedule: str = "plateau"      # plateau | onecycle
    standardize: bool = False
    flip: bool = False
    shift: int = 0


# Named recipes a probe name selects with ":<recipe>" (e.g. "wide2d@scratch:strong"); the winners of the search in
# docs/studies/attack_search.py (validation split only).
RECIPES = {"default": Recipe(),
           "strong": Recipe(optimizer="adamw", lr=2e-3, weight_decay=5e-4, schedule="onecycle", standardize=True,
                            flip=True, shift=2)}


@dataclass(frozen=True)
class Probe:
    """A network `arch` ("small2d", "resnet50", "small3d", "i3d_r50", ...) trained on `target` with a recipe."""
    arch: str
    target: str = "identity"   # identity | action
    init: str = "pretrained"   # pretrained | none
    recipe: str = "default"    # a key of RECIPES

    @property
    def name(self) -> str:
        return (self.arch + ("" if self.init == "pretrained" else SCRATCH)
                + ("" if self.recipe == "default" else f":{self.recipe}"))

    @property
    def level(self) -> str:
        return model_level(self.arch)  # clip (3-D networks) or frame (2-D networks on every frame)


def parse_probes(spec: str, target: str = "identity") -> list:
    """"small2d,small2d@scratch,wide2d@scratch:strong" -> Probes; "@scratch" means random initialisation, ":name" a
    training recipe of RECIPES."""
    names = parse_names(spec)
    if not names:
        raise ValueError(f"no attacker named in {spec!r}")
    probes = []
    for n in names:
        n, _, recipe = n.partition(":")
        if (recipe or "default") not in RECIPES:
            raise ValueError(f"unknown training recipe {recipe!r} in {spec!r}; known: {', '.join(RECIPES)}")
        probes.append(Probe(n[:-len(SCRATCH)] if n.endswith(SCRATCH) else n, target,
                            "none" if n.endswith(SCRATCH) else "pretrained", recipe or "default"))
    return probes


class Standardized(nn.Module):
    """A network that standardises its input per channel first, with fixed statistics (buffers: saved with it)."""

    def __init__(self, net: nn.Module, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.net = net
        shape = (1, -1, 1, 1, 1) if model_level_of(net) == "clip" else (1, -1, 1, 1)
        self.register_buffer("mean", mean.reshape(shape))
        self.register_buffer("std", std.clamp(min=1e-6).reshape(shape))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def model_level_of(net: nn.Module) -> str:
    return "clip" if any(isinstance(m, nn.Conv3d) for m in net.modules()) else "frame"


def augment(x: torch.Tensor, recipe: Recipe, generator: torch.Generator) -> torch.Tensor:
    """A training batch (B, C, T, H, W) with the recipe's flips and shifts, drawn per clip from `generator`."""
    if recipe.flip:
        flip = torch.rand(len(x), generator=generator) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1, 1).to(x.device), x.flip(-1), x)
    if recipe.shift:
        k = recipe.shift
        shifts = torch.randint(-k, k + 1, (len(x), 2), generator=generator)
        padded = nn.functional.pad(x, (k, k, k, k))
        h, w = x.shape[-2:]
        x = torch.stack([padded[i, ..., k + dy:k + dy + h, k + dx:k + dx + w] for i, (dy, dx) in
                         enumerate(shifts.tolist())])
    return x


class EncodedData:
    """E's output of the train/val/test splits of a DataBundle, batched as (video, action, subject).

    views > 0: computed once, when first needed, and kept in memory (train: `views` augmented views per clip, epoch
    e reads view (e - 1) mod views); views == 0: each batch is read and encoded when it is needed. `store`: a file
    that keeps the computed views for other processes training on the same encoder (the networks of one suite side
    by side): the first to need them encodes and writes it, under a lock, the others read it; `identity` (what is
    encoded) is kept in it, and a file of another encoder or config is encoded anew.
    """

    def __init__(self, encoder, data, cfg, *, device, views: int, log=quiet, store=None, identity=None):
        self.encoder = copy.deepcopy(encoder).to(device).eval().requires_grad_(False)
        self.data, self.cfg, self.device, self.views = data, cfg, device, views
        self.log, self.store = log or quiet, None if store is None else Path(store)
        self.identity = {**cfg.to_dict(), "encoded_views": views, **(identity or {})}
        self._cached = None if views > 0 else {}

    @property
    def cached(self) -> dict:
        """split -> (x (V, N, C, T, H, W) float16, action, subject) of the views kept in memory (computed, or read
        from `store`, on first use)."""
        if self._cached is None:
            if self.store is None:
                self._cached = self._encode_all()
            else:
                with exclusive(self.store):
                    saved = torch.load(self.store, weights_only=False) if self.store.is_file() else None
                    if saved is not None and same_config(saved["identity"], self.identity):
                        self._cached = saved["cached"]
                    else:
                        self._cached = self._encode_all()
                        with atomic_path(self.store, suffix=".pt") as tmp:
                            torch.save({"identity": self.identity, "cached": self._cached}, tmp)
        return self._cached

    def _encode_all(self) -> dict:
        t0 = time.time()
        cached = {"train": self._encode(self.data.train, range(self.views), train=True)}
        for split in ("val", "test"):
            cached[split] = self._encode(getattr(self.data, split), [0])
        self.log(f"[encode] E's output cached: {self.views} views of {len(self.data.train)} training clips, "
                 f"{len(self.data.val)} validation and {len(self.data.test)} test clips ({time.time() - t0:.1f}s)")
        return cached

    @torch.no_grad()
    def _encode(self, dataset, views, train: bool = False):
        """(x (V, N, C, T, H, W) float16, action (N,), subject (N,)) for the given view seeds. Training views are
        encoded with the encoder in training mode: one that augments (ELR's transform bank) does so only there."""
        self.encoder.train(train)
        try:
            return self._encode_views(dataset, views)
        finally:
            self.encoder.eval()

    def _encode_views(self, dataset, views):
        xs, labels = [], None
        for view in views:
            with torch.random.fork_rng(devices=[]):  # the dataset samples crops from torch's global generator
                torch.manual_seed(self.cfg.seed * 7919 + view)
                loader = torch.utils.data.DataLoader(dataset, batch_size=self.cfg.batch_size, shuffle=False,
                                                     num_workers=self.cfg.num_workers,
                                                     pin_memory=self.device.type == "cuda")
                parts = [(self.encoder(x.to(self.device, non_blocking=True)).to("cpu", torch.float16), ya, ys)
                         for x, ya, ys in loader]
            xs.append(torch.cat([p[0] for p in parts]))
            labels = (torch.cat([p[1] for p in parts]), torch.cat([p[2] for p in parts]))
        return torch.stack(xs), *labels

    @torch.no_grad()
    def channel_stats(self, batches: int = 20) -> tuple:
        """(mean, std) per channel of E's output on the training split: the cached views, or `batches` batches."""
        if "train" in self.cached:
            x = self.cached["train"][0].float()
            dims = [d for d in range(x.dim()) if d != 2]  # (V, N, C, T, H, W): all but C
            return x.mean(dims).cpu(), x.std(dims).cpu()
        total = sq = n = 0
        for i, (x, _, _) in enumerate(self.batches("train", epoch=1, shuffle=False)):
            if i >= batches:
                break
            x = x.float().transpose(0, 1).reshape(x.shape[1], -1)
            total, sq, n = total + x.sum(1), sq + (x * x).sum(1), n + x.shape[1]
        mean = total / n
        return mean.cpu(), (sq / n - mean * mean).clamp(min=0).sqrt().cpu()

    def steps_per_epoch(self, dist: Dist = SINGLE) -> int:
        """Optimizer steps in one training epoch (whole batches only)."""
        n = len(self.cached["train"][1]) if "train" in self.cached else len(self.data.train)
        return n // self.cfg.batch_size

    @torch.no_grad()
    def clip_shape(self) -> tuple:
        """(C, T', H, W) of one encoded clip (E's output of a validation clip)."""
        if "val" in self.cached:
            return tuple(self.cached["val"][0].shape[2:])
        return tuple(self.encoder.eval()(self.data.val[0][0][None].to(self.device)).shape[1:])

    def batches(self, split: str, *, epoch: int = 1, shuffle: bool = False, generator=None, dist: Dist = SINGLE):
        """Batches of (E(x), action, subject); shuffled (and whole batches only) for training. With `dist`, this
        process's share of each (global) training batch: items rank, rank + N, ... (bdqlib.engine.distributed)."""
        bs = self.cfg.batch_size
        if split in self.cached:
            x, ya, ys = self.cached[split]
            x = x[(epoch - 1) % len(x)]
            order = torch.randperm(len(ya), generator=generator) if shuffle else torch.arange(len(ya))
            stop = len(order) - len(order) % bs if shuffle else len(order)
            for i in range(0, stop, bs):
                idx = order[i:i + bs][dist.rank::dist.world] if shuffle else order[i:i + bs]
                yield x[idx].float(), ya[idx], ys[idx]
            return
        sampler = None
        if shuffle:  # one seeded permutation per epoch, shared out as in adversarial training
            sampler = torch.utils.data.DistributedSampler(getattr(self.data, split), num_replicas=dist.world,
                                                          rank=dist.rank, shuffle=True, seed=self.cfg.seed,
                                                          drop_last=True)
            sampler.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(getattr(self.data, split),
                                             batch_size=local_batch(dist, bs) if shuffle else bs, sampler=sampler,
                                             drop_last=shuffle, num_workers=self.cfg.num_workers,
                                             pin_memory=self.device.type == "cuda")
        # Only the encoding runs without autograd. Grad mode is thread-global: a `yield` inside `torch.no_grad()`
        # would hand the consumer's training step a no-grad world ("element 0 of tensors does not require grad").
        for x, ya, ys in loader:
            self.encoder.train(shuffle)  # training batches in training mode, as the cached views are
            try:
                with torch.no_grad():
                    v = self.encoder(x.to(self.device, non_blocking=True))
            finally:
                self.encoder.eval()
            yield v, ya, ys


@dataclass
class ProbeResult:
    probe: Probe
    test_top1: float
    val_top1: float          # best validation accuracy (the restored weights')
    best_epoch: int
    epochs_trained: int
    history: list = field(default_factory=list)  # per epoch: loss, val_top1, lr, seconds
    model: torch.nn.Module | None = None
    test_pred: list | None = None  # the predicted label of every test clip, in the test split's order


def num_classes(data, target: str) -> int:
    return data.num_actions if target == "action" else data.num_subjects


def train_probe(probe: Probe, encoded: EncodedData, cfg, *, checkpoint=None, identity: dict | None = None,
                log=quiet, budget: TimeBudget | None = None, keep_weights: bool = True,
                dist: Dist = SINGLE) -> ProbeResult:
    """Train `probe` on `encoded` to its best validation accuracy (see the module docstring) and test it.

    checkpoint: a file saved after every epoch, resumed from (refused if `identity` -- what is being probed --
    differs), and holding the final result once done, so a finished probe is not trained again; with
    `keep_weights` False the finished file keeps the result and history but not the weights (disk).
    """
    log, device = (log or quiet) if dist.main else quiet, encoded.device
    config = {**cfg.to_dict(), "probe": probe.name, "target": probe.target, **(identity or {})}
    saved = None
    if checkpoint is not None and Path(checkpoint).is_file():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)  # read once
        if not same_config(saved["config"], config):
            raise ConfigMismatch(f"probe checkpoint {checkpoint} belongs to another config, encoder or probe; "
                                 f"delete it or use another run folder")
        if "result" in saved:  # finished earlier: its result (and best weights, unless they were not kept)
            return _finished(probe, saved, cfg, num_classes(encoded.data, probe.target))
    seed_everything(cfg.seed)
    model = build_model(probe.arch, num_classes(encoded.data, probe.target),
                        weights=init_weights(cfg, probe.arch, probe.init), width=model_width(cfg, probe.arch))
    recipe = RECIPES[probe.recipe]
    if recipe.standardize:  # E's output standardised per channel with the training split's statistics
        model = Standardized(model, *encoded.channel_stats())
    model = memory_format(model.to(device), cfg.channels_last)  # on a CPU too: res2d evaluates 2.1x faster
    precision = make_precision(cfg.amp, device, network=probe.arch)
    lr = recipe.lr or cfg.val_lr
    if recipe.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=recipe.weight_decay or cfg.weight_decay)
    else:
        opt = make_optimizer(model.parameters(), lr, cfg)
    if recipe.schedule == "onecycle":  # run to its end (see Recipe)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=cfg.val_epochs,
                                                    steps_per_epoch=max(encoded.steps_per_epoch(dist), 1))
    else:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=cfg.val_lr_drop,
                                                           patience=cfg.val_lr_patience)
    objects = {"model": model, "opt": opt, "sched": sched, "precision": precision}
    start, history, best = 0, [], {"epoch": 0, "state": copy.deepcopy(model.state_dict())}
    if saved is not None:
        restore(saved, objects=objects)
        start, history, best = saved["epoch"], saved["history"], saved["best"]
        log(f"[probe {probe.name}] resuming after epoch {start}")
    heads = {"probe": (model, probe.level, probe.target)}
    trained = wrap(model, dist, device, sync_batchnorm=cfg.sync_batchnorm)  # DDP: gradients averaged
    label = 1 if probe.target == "action" else 2
    generator = torch.Generator()
    accum = memory.resolve(cfg.accum_steps, f"validation network {probe.name} on {probe.target}",
                           local_batch(dist, cfg.batch_size),
                           throwaway_probe(probe, cfg, encoded.clip_shape(), num_classes(encoded.data, probe.target),
                                           device), device, log=log)

    aug = torch.Generator()

    def epoch_row(epoch: int) -> dict:
        def step(*batch):
            if recipe.flip or recipe.shift:
                batch = (augment(batch[0], recipe, aug), *batch[1:])
            opt.zero_grad(set_to_none=True)
            total = 0.0
            for part, w in micro_batches(batch, accum):
                with precision.autocast():
                    loss, _ = clip_loss(trained, probe.level, part[0], part[label], frames=cfg.val_frames)
                check_finite(loss, f"the {probe.name} loss", f"epoch {epoch}")
                precision.backward(loss * w if accum > 1 else loss)
                total += w * loss.item()
            precision.apply(opt)
            precision.update()
            if recipe.schedule == "onecycle":
                sched.step()
            return {"loss": total}

        t0 = time.time()
        generator.manual_seed(cfg.seed * 1_000_003 + epoch)
        aug.manual_seed(cfg.seed * 7_907 + epoch)
        model.train()
        stats = mean_over_processes(run_epoch(encoded.batches("train", epoch=epoch, shuffle=True, generator=generator,
                                                              dist=dist), step, device=device), dist)
        # A one-cycle is evaluated in the second half of its epochs only: before, its learning rate is high and its
        # accuracy still far from its best (the search's eight one-cycles had their best epoch at 77-98 % of the
        # cycle), and evaluation is a third of an epoch's time. An epoch not evaluated is never the best.
        evaluate = recipe.schedule == "plateau" or epoch > cfg.val_epochs // 2
        val = accuracies(encoded.batches("val"), heads, device=device, precision=precision)["probe"] \
            if evaluate else float("nan")
        if recipe.schedule == "plateau":
            sched.step(val)
        return {"epoch": epoch, "loss": stats.get("loss", float("nan")), "val_top1": val,
                "lr": opt.param_groups[0]["lr"], "seconds": time.time() - t0}

    def save(epoch, hist, best):
        if checkpoint is not None:
            save_checkpoint(checkpoint, objects=objects, epoch=epoch, history=hist, config=config,
                            best=_stored(best))

    patience = cfg.val_patience if recipe.schedule == "plateau" else None  # a one-cycle runs to its end
    done = loop.fit(epoch_row, epochs=cfg.val_epochs, start=start, history=history, best=best, monitor="val_top1",
                    mode="max", patience=patience, min_epochs=cfg.val_min_epochs,
                    snapshot=lambda: copy.deepcopy(model.state_dict()), save=save, budget=budget, dist=dist)
    if done.status == "time_budget":
        raise TimeBudgetReached(f"time budget of {cfg.time_budget_h} h reached while training {probe.name} "
                                f"(epoch {done.epoch} saved in {checkpoint}); re-run with the same run folder")
    history, best, epoch = done.history, _stored(done.best), done.epoch
    model.load_state_dict(best["state"])
    pred, true = predict(encoded.batches("test"), heads, device=device, precision=precision)["probe"]
    test = int((pred == true).sum()) / max(len(true), 1)
    result = {"test_top1": test, "val_top1": best["val"], "best_epoch": best["epoch"], "epochs_trained": epoch,
              "test_pred": pred.tolist()}
    if checkpoint is not None and dist.main:  # the finished probe: result, history, (if kept) best weights
        kept = best if keep_weights else {**best, "state": None}
        save_checkpoint(checkpoint, objects={}, epoch=epoch, history=history, config=config, best=kept,
                        result=result)
    log(f"[probe {probe.name} on {probe.target}] best validation {best['val']:.3f} at epoch {best['epoch']} of "
        f"{epoch}; test {test:.3f} ({sum(h['seconds'] for h in history):.0f}s)")
    return ProbeResult(probe, model=model, history=history, **result)


def saved_model(probe: Probe, state: dict | None, cfg, classes: int) -> nn.Module:
    """The probe's network as train_probe built it (wrapped in Standardized where its recipe standardises), with
    the weights of a saved `state` (a checkpoint's best state) loaded; None: untrained."""
    model = build_model(probe.arch, classes, width=model_width(cfg, probe.arch))
    if state is not None:
        if RECIPES[probe.recipe].standardize:  # the statistics are buffers of the saved state
            model = Standardized(model, torch.zeros(state["mean"].numel()), torch.ones(state["std"].numel()))
        model.load_state_dict(state)
    return model


def _finished(probe: Probe, saved: dict, cfg, classes: int) -> ProbeResult:
    """A finished probe from its checkpoint: its result, and its network with the best weights where they were
    kept. Nothing is encoded (the suite's networks trained side by side are read back without E's output)."""
    model = saved_model(probe, saved["best"].get("state"), cfg, classes)
    return ProbeResult(probe, model=model, history=saved["history"], **saved["result"])


def _stored(best: dict) -> dict:
    """The best epoch as a probe checkpoint stores it: {"val", "epoch", "state"} (-1 before any epoch)."""
    return {"val": best.get("value", best.get("val", -1.0)), "epoch": best.get("epoch", 0), "state": best.get("state")}


def throwaway_probe(probe: Probe, cfg, clip_shape: tuple, classes: int, device):
    """For bdqlib.engine.memory.fit: a function building `probe`'s network (random init) with its optimizer and returning
    step(n), one training step on n random encoded clips of `clip_shape` (C, T', H, W)."""
    device = torch.device(device)

    def make_step():
        model = memory_format(build_model(probe.arch, classes, width=model_width(cfg, probe.arch)).to(device),
                              cfg.channels_last)
        precision = make_precision(cfg.amp, device, network=probe.arch)
        opt = make_optimizer(model.parameters(), cfg.val_lr, cfg)

        def step(n):
            x = torch.randn(n, *clip_shape, device=device)
            with precision.autocast():
                loss, _ = clip_loss(model, probe.level, x, torch.randint(classes, (n,), device=device),
                                    frames=cfg.val_frames)
            opt.zero_grad(set_to_none=True)
            precision.step(loss, opt)
            precision.update()
        return step
    return make_step


def action_probes(cfg) -> list:
    """The action networks validation trains: cfg.action_networks (e.g. "small3d,small2plus1d@scratch": one
    pretrained, one from random initialisation), or T alone (cfg.action_model) when it is empty."""
    return parse_probes(cfg.action_networks or cfg.action_model, target="action")


def run_probes(encoder, data, cfg, *, checkpoint_dir=None, identity: dict | None = None, log=quiet,
               budget: TimeBudget | None = None, keep_weights: bool = True, dist: Dist = SINGLE,
               only=None, store=None) -> dict:
    """The action networks (`suite_probes`: cfg.action_networks) and every attacker of cfg.attackers, trained on the
    frozen encoder.

    Returns {"actions": [ProbeResult, ...], "attackers": [ProbeResult, ...]}; checkpoint_dir keeps one resumable
    file per probe (with its best weights once finished only if `keep_weights`). only: the names ("target-probe",
    as `suite_probes` gives them) of the networks to train here -- the others are left out of the result (a suite
    shared among processes); store: a file sharing E's output with them (EncodedData).
    """
    device = device_for(dist, resolve_device(cfg.device))
    encoded = EncodedData(encoder, data, cfg, device=device, views=cfg.val_views, log=log if dist.main else quiet,
                          store=store, identity=identity)
    budget = budget or TimeBudget(cfg.time_budget_h)
    results = {"actions": [], "attackers": []}
    for key, probe in suite_probes(cfg).items():
        if only is not None and key not in only:
            continue
        path = None if checkpoint_dir is None else Path(checkpoint_dir) / f"{key}.pt"
        if path is not None and dist.main:
            path.parent.mkdir(parents=True, exist_ok=True)
        results["actions" if probe.target == "action" else "attackers"].append(
            train_probe(probe, encoded, cfg, checkpoint=path, identity=identity, log=log, budget=budget,
                        keep_weights=keep_weights, dist=dist))
    return results


def suite_probes(cfg) -> dict:
    """The networks validation trains on an encoder, by the name of their checkpoint file ("action-small3d",
    "identity-res2d@scratch"): the action networks (`action_probes`), then the attackers of cfg.attackers."""
    return {f"{p.target}-{p.name}": p for p in action_probes(cfg) + parse_probes(cfg.attackers)}


def frozen_predictions(encoder, data, cfg, action, attackers: dict, *, split: str = "test") -> dict:
    """SPPA's frozen-clean protocol: networks trained on raw video applied, frozen, to this encoder's output of
    `split` (test; val to choose the attacker that counts). action: T; attackers: name -> (model, level). Returns
    name -> (predicted, true) labels, T under "action"."""
    device = resolve_device(cfg.device)
    heads = {"action": (action, "clip", "action")}
    heads.update({name: (model, level, "identity") for name, (model, level) in attackers.items()})
    encoded = EncodedData(encoder, data, cfg, device=device, views=0)
    networks = [cfg.action_model] + [p.arch for p in parse_probes(",".join(attackers))]
    return predict(encoded.batches(split), heads, device=device,
                   precision=make_precision(cfg.amp, device, network=networks))
