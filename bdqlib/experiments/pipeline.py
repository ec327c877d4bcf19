"""What the notebooks call: one run folder with its config, data, trained encoders and results.csv.

Every step is resumable at the notebook level too: an adversarial run continues from its checkpoint, and a
result already in results.csv (same dataset, method, alpha, protocol, split, seed) is not computed again --
so a notebook re-run after an interruption (or a new Kaggle session) picks up where it stopped.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ..atomic import write_json_atomic
from ..config import Config, config_changes, make_config, parse_names
from ..core.encoder import MODULE_NAMES, BDQEncoder
from ..data import DataBundle, prepare_data
from ..data.layouts import write_ipn_like, write_sbu_like
from ..engine.checkpoint import ConfigMismatch, TimeBudget, TimeBudgetReached, session_start
from ..engine.distributed import check_nproc, launch_workers, launches
from ..engine.steps import quiet, resolve_device
from ..methods.dvs import EventCamera, parse_event_method
from ..methods.masking import make_masking
from ..methods.naive import make_baseline
from ..methods.raprivacy import make_anonymiser
from ..methods.raprivacy import train_raprivacy as train_rap
from ..methods.sppa_templates import make_sppa
from ..metrics import privacy_removal
from ..nets.zoo import SMALL_MODELS, build_model, make_encoder, model_width
from ..platform import check_cuda_arch, default_roots, detect_platform, find_repo_root
from ..report.results import KEY, encoder_tag, read_results, record_results, row_keys
from ..train.game import AdversarialResult, train_adversarial
from ..train.pretrain import pretrain_small_models
from ..train.probes import Probe, num_classes, parse_probes
from .validate import STRONGEST, evaluate_frozen_clean, validate_encoder

KEY_ATTACKER = KEY.index("attacker")
TINY_LAYOUTS = {"sbu": write_sbu_like, "ipn": write_ipn_like}  # SMOKE without DATA_DIR
KAGGLE_TIME_BUDGET_H = 11.0  # hours of training per Kaggle session (the session limit is 12 h); $BDQ_TIME_BUDGET_H
# SMOKE: the whole chain on a tiny dataset in seconds (tests); never a result to read. It shrinks sizes and never
# switches paths (`smoke_overrides`): the paper profile's uncached views and gradient accumulation stay.
SMOKE_OVERRIDES = dict(synthetic_subjects=3, epochs=1, warmup_epochs=0, val_epochs=1, pretrain_epochs=1, batch_size=8,
                       val_min_epochs=1, rap_epochs=1, rap_style_count=4)
SMOKE_SIZES = dict(num_frames=8, size=48, cache_short_side=48, val_views=1)  # at most these


def smoke_overrides(profile: str, dataset: str, device: torch.device) -> dict:
    """SMOKE's settings for a profile: SMOKE_OVERRIDES, and the profile's sizes capped by SMOKE_SIZES (0 cached
    views stays 0: the paper profile encodes each batch as it is read). Automatic accumulation (the paper profile)
    is measured on a GPU; on a CPU, where it would be 1, SMOKE takes 2 micro-batches so the chain runs the
    accumulation a 16 GB card needs."""
    base = make_config(profile, dataset=dataset)
    out = dict(SMOKE_OVERRIDES, **{k: min(getattr(base, k), cap) for k, cap in SMOKE_SIZES.items()})
    if base.accum_steps == 0 and device.type != "cuda":
        out["accum_steps"] = 2
    return out


@dataclass
class Run:
    cfg: Config
    run_dir: Path
    data_root: Path
    smoke: bool = False

    @property
    def results_path(self) -> Path:
        return self.run_dir / "results.csv"

    def adversarial_dir(self, alpha: float, method: str = "bdq") -> Path:
        """Where the game of `method` (one of GAMES) at `alpha` keeps its checkpoint, log and encoder."""
        return self.run_dir / "adversarial" / (f"alpha_{alpha:g}" if method == "bdq" else f"{method}_alpha_{alpha:g}")

    def validation_dir(self, method: str, alpha) -> Path:
        """Where the validation networks of one encoder keep their checkpoints."""
        return self.run_dir / "validation" / encoder_tag(method, alpha)

    def results(self, attacker: str | None = STRONGEST) -> pd.DataFrame:
        """results.csv: the "strongest" rows (the headline numbers), or one attacker's, or all (attacker=None)."""
        df = read_results(self.results_path)
        return df if attacker is None or len(df) == 0 else df[df["attacker"] == attacker].reset_index(drop=True)

    def rows(self, method: str, alpha=float("nan"), protocol: str = "retrain") -> list:
        """Every recorded row of one encoder under one protocol (each attacker's and the strongest)."""
        df = self.results(None)
        if len(df) == 0:
            return []
        want = pd.DataFrame([{"dataset": self.cfg.dataset, "method": method, "alpha": float(alpha),
                              "protocol": protocol, "attacker": "", "split": self.cfg.protocol, "seed": self.cfg.seed}])
        key = row_keys(want)[0]
        ignore = KEY_ATTACKER
        return [df.iloc[i].to_dict() for i, k in enumerate(row_keys(df))
                if k[:ignore] + k[ignore + 1:] == key[:ignore] + key[ignore + 1:]]

    def result(self, method: str, alpha=float("nan"), protocol: str = "retrain") -> dict | None:
        """This run's headline row (strongest attacker) for (method, alpha, protocol), or None."""
        hits = [r for r in self.rows(method, alpha, protocol) if r["attacker"] == STRONGEST]
        return hits[-1] if hits else None

    def has_result(self, method: str, alpha=float("nan"), protocol: str = "retrain") -> bool:
        return self.result(method, alpha, protocol) is not None

    def record(self, *rows) -> pd.DataFrame:
        return record_results(self.results_path, rows)

    def budget(self) -> TimeBudget:
        """cfg.time_budget_h counted from this machine session's start on this run (shared by its notebooks)."""
        return TimeBudget(self.cfg.time_budget_h, start=session_start(self.run_dir))


def start_run(*, dataset="synthetic", data_dir="", profile="cpu", alpha=None, epochs=None, seed=0, run_dir="",
              smoke=False, **overrides) -> Run:
    """The run of the notebooks' parameters: its config (saved as run.json, refused if it differs), its folder.

    alpha=None (and any other None): the profile's value for the dataset (bdqlib.config.DATASET_DEFAULTS).
    SMOKE with SBU or IPN and no data_dir writes a tiny folder in that dataset's layout (bdqlib.data.layouts).
    """
    platform = detect_platform()
    data_root, outputs_root = default_roots(platform, find_repo_root())
    overrides = {k: v for k, v in overrides.items() if v is not None}  # None: "the profile's value"
    overrides.setdefault("num_workers", default_workers(overrides.get("nproc") or 1))
    if alpha is not None:
        overrides["alpha"] = float(alpha)
    device = resolve_device(overrides.get("device", "auto"))
    fields = {"weights_dir": os.environ.get("BDQ_WEIGHTS_DIR", str(data_root / "weights")),
              "split_dir": os.environ.get("BDQ_SPLITS_DIR", ""),
              **(smoke_overrides(profile, dataset, device) if smoke else {}), **overrides}
    if "time_budget_h" not in overrides:  # Kaggle ends a session at 12 h: stop cleanly before, resumable
        budget = os.environ.get("BDQ_TIME_BUDGET_H", KAGGLE_TIME_BUDGET_H if platform == "kaggle" else 0)
        fields["time_budget_h"] = float(budget)
    if smoke and dataset == "synthetic" and not data_dir:
        data_dir = str(data_root / "synthetic-smoke")
    if smoke and dataset in TINY_LAYOUTS and not data_dir:
        data_dir = str(TINY_LAYOUTS[dataset](data_root / f"{dataset}-smoke"))
    if epochs is not None:  # explicit parameters win over smoke defaults, which win over the profile
        fields["epochs"] = epochs
    cfg = make_config(profile, dataset=dataset, data_dir=data_dir, seed=seed, **fields)
    check_nproc(cfg.nproc, resolve_device(cfg.device))
    if resolve_device(cfg.device).type == "cuda":
        check_cuda_arch(platform=platform)  # a clear message before "no kernel image is available"
    run_dir = Path(run_dir) if run_dir else outputs_root / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {"profile": profile, "smoke": bool(smoke), "platform": platform, **cfg.to_dict()}
    saved = run_dir / "run.json"
    if saved.is_file():
        old = json.loads(saved.read_text())
        diff = config_changes(old, record, ignore=("platform",))
        if diff:
            raise ConfigMismatch(f"{saved} belongs to a run with other parameters ({', '.join(diff)}); use another "
                                 f"RUN_DIR or the same parameters")
    write_json_atomic(saved, record)
    session_start(run_dir)  # the first notebook of a session starts its time budget
    return Run(cfg, run_dir, data_root, smoke)


# The run parameters every notebook declares (its papermill parameters cell) -> start_run's arguments.
NOTEBOOK_PARAMETERS = {"DATASET": "dataset", "DATA_DIR": "data_dir", "PROFILE": "profile", "ALPHA": "alpha",
                       "EPOCHS": "epochs", "VAL_EPOCHS": "val_epochs", "ATTACKERS": "attackers", "SPLIT": "protocol",
                       "MISSING": "missing", "SEED": "seed", "RUN_DIR": "run_dir", "SMOKE": "smoke",
                       "NUM_WORKERS": "num_workers", "NPROC": "nproc",
                       # what fits a GPU (bdqlib.engine.memory): the effective batch, its micro-batches, precision, frames
                       "BATCH_SIZE": "batch_size", "ACCUM": "accum_steps", "AMP": "amp",
                       "PRIVACY_FRAMES": "privacy_frames", "VAL_FRAMES": "val_frames",
                       "CHECKPOINTING": "activation_checkpointing", "WEIGHTS": "weights"}


def start_notebook_run(params: dict) -> Run:
    """start_run with a notebook's parameters, read from its namespace (`globals()`): DATASET ... NPROC."""
    missing = [name for name in NOTEBOOK_PARAMETERS if name not in params]
    if missing:
        raise NameError(f"the notebook's parameters cell does not define {', '.join(missing)}")
    return start_run(**{arg: params[name] for name, arg in NOTEBOOK_PARAMETERS.items()})


def default_workers(nproc: int = 1) -> int:
    """DataLoader workers per process when none are asked for: none on a CPU-only machine (they would take cores
    from the training itself); beside a GPU, the cores shared out among the `nproc` processes (at most 8 each), so
    Kaggle's 4 vCPUs give each of two GPUs 2 workers, not 4."""
    return min((os.cpu_count() or 1) // max(nproc, 1), 8) if torch.cuda.is_available() else 0


def open_run(run_dir) -> Run:
    """The Run a run folder's run.json describes (as start_run made it), without changing anything there."""
    saved = json.loads((Path(run_dir) / "run.json").read_text())
    fields = {k: v for k, v in saved.items() if k not in ("profile", "smoke", "platform")}
    cfg = make_config(saved["profile"], **{k: v for k, v in fields.items() if k in Config.__dataclass_fields__})
    data_root, _ = default_roots(detect_platform(), find_repo_root())
    return Run(cfg, Path(run_dir), data_root, bool(saved.get("smoke")))


def load_data(run: Run, log=print) -> DataBundle:
    data = prepare_data(run.cfg, root=run.data_root, cache_root=run.data_root / "cache", log=log)
    if log:
        log(f"[data] {data.summary()}")
    return data


def pretrain(run: Run, log=print) -> None:
    """Make sure the small models have their pretrained weights (cpu profile: trained once here, then cached)."""
    names = {run.cfg.action_model, run.cfg.privacy_model} | {p.arch for p in parse_probes(run.cfg.attackers)}
    if run.cfg.weights == "pretrained" and names & set(SMALL_MODELS):
        pretrain_small_models(run.cfg, data_root=run.data_root, log=log)


def encoder_path(run: Run, alpha: float, method: str = "bdq") -> Path:
    return run.adversarial_dir(alpha, method) / "encoder.pt"


# The methods whose encoder the adversarial game trains (at an alpha): BDQ in the paper's game; BDQ in the hardened
# game (not in the paper: issue 12); ALF.
GAMES = ("bdq", "bdq_ensemble", "alf")
NOTEBOOK_OF_GAME = {"bdq": "02_adversarial_train", "bdq_ensemble": "04_ablation (GAMES)", "alf": "05_comparators"}


def parse_games(spec, *, name: str = "GAMES", need_bdq: bool = True) -> list:
    """04's GAMES parameter ("bdq,bdq_ensemble") -> the BDQ games of its alpha sweep: bdq (the headline, required
    unless need_bdq=False) and optionally bdq_ensemble; ALF is 05's comparator, not one of them. `name` is the
    parameter an error names (scripts/game_frontier.py: --games)."""
    games = parse_names(spec)
    unknown = [g for g in games if g not in GAMES or g == "alf"]
    if unknown or not games or (need_bdq and "bdq" not in games):
        wanted = "bdq (the headline) and optionally bdq_ensemble" if need_bdq else "bdq and/or bdq_ensemble"
        got = ", ".join(unknown) if unknown else ("without bdq" if games else "none")
        raise ValueError(f"{name}={spec!r}: {wanted}, not {got}")
    return games


def ensemble_of(cfg: Config) -> str:
    """The hardened game's ensemble: every architecture of the attack suite except P's own (which plays already).
    On the cpu profile: small3d (temporal) and res2d@scratch beside P = small2d."""
    names = [p.name for p in parse_probes(cfg.attackers) if p.name != cfg.privacy_model]
    if not names:
        raise ValueError(f"bdq_ensemble needs attackers other than P ({cfg.privacy_model}) in attackers="
                         f"{cfg.attackers!r}")
    return ",".join(names)


def game_config(cfg: Config, method: str, alpha: float) -> Config:
    """The config of the adversarial game that trains `method`'s encoder at `alpha`:
    * bdq: the paper's game (BDQ against P);
    * bdq_ensemble: the hardened game, not in the paper -- BDQ against the worst case (the most confident) of P
      and the rest of the attack suite, all trained beside P in step 2 (Wu et al.'s ensemble of budget models;
      chosen over the mean and a dead zone on the validation split, bench/game_hardening.csv);
    * alf: the same game with Wu et al.'s encoder and their restarting of P, every cfg.alf_restart_every steps."""
    if method == "alf":
        return make_config_like(cfg, alpha=float(alpha), encoder="alf", privacy_restart_every=cfg.alf_restart_every)
    if method == "bdq_ensemble":
        return make_config_like(cfg, alpha=float(alpha), privacy_ensemble=ensemble_of(cfg),
                                privacy_ensemble_mode="worst")
    if method != "bdq":
        raise ValueError(f"the adversarial game trains {', '.join(GAMES)}, not {method!r}")
    return make_config_like(cfg, alpha=float(alpha))


def train_encoder(run: Run, data: DataBundle, alpha: float, log=print, *, method: str = "bdq") -> AdversarialResult:
    """Adversarial training of `method` (one of GAMES) at `alpha` in its own sub-folder (resuming); saves encoder.pt."""
    cfg = game_config(run.cfg, method, alpha)
    if launches(run.cfg.nproc):  # the processes train; this one then reads their finished checkpoint
        launch_workers(run.cfg.nproc, "train", run.run_dir, float(alpha), method, log=log or quiet)
    result = train_adversarial(cfg, data, run.adversarial_dir(alpha, method), log=log, budget=run.budget())
    if result.status != "completed":  # stop the notebook here: what follows needs the finished encoder
        raise TimeBudgetReached(f"time budget of {cfg.time_budget_h} h reached: adversarial training ({method}, "
                                f"alpha={alpha:g}) stopped after epoch {len(result.history)}/{cfg.epochs}, "
                                f"checkpoint in {run.adversarial_dir(alpha, method)}; re-run with "
                                f"RUN_DIR={run.run_dir} to continue")
    torch.save(result.encoder.state_dict(), encoder_path(run, alpha, method))
    return result


def raprivacy_dir(run: Run) -> Path:
    return run.run_dir / "raprivacy"


def train_raprivacy(run: Run, data: DataBundle, log=print):
    """RAPrivacy's two-phase training in its own sub-folder (resuming); saves anonymiser.pt."""
    result = train_rap(run.cfg, data, raprivacy_dir(run), log=log, budget=run.budget())
    if result.status != "completed":
        raise TimeBudgetReached(f"time budget of {run.cfg.time_budget_h} h reached: RAPrivacy stopped after epoch "
                                f"{len(result.history)}/{run.cfg.rap_epochs}, checkpoint in {raprivacy_dir(run)}; "
                                f"re-run with RUN_DIR={run.run_dir} to continue")
    return result


def make_config_like(cfg: Config, **changes) -> Config:
    return Config(**{**cfg.__dict__, **changes})


def trained_encoder(run: Run, alpha: float, method: str = "bdq"):
    """The encoder of `method` (one of GAMES) trained at `alpha` in this run (after train_encoder completed)."""
    path = encoder_path(run, alpha, method)
    if not path.is_file():
        raise FileNotFoundError(f"no trained {method} encoder for alpha={alpha:g} in {run.run_dir} (expected "
                                f"{path}); run {NOTEBOOK_OF_GAME[method]} "
                                f"(or train_encoder) first")
    enc = make_encoder(game_config(run.cfg, method, alpha))
    enc.load_state_dict(torch.load(path, map_location="cpu"))
    return enc


def encoder_of(run: Run, method: str, alpha=float("nan")):
    """The encoder behind a results.csv row of this run: raw, bdq (trained at alpha), a module combination of the
    encoder trained at alpha, bdq_ensemble or ALF (trained at alpha), an event camera (dvs_<threshold>), SPPA
    (sppa, sppa_iid), masking, RAPrivacy (trained by train_raprivacy), or a baseline (ELR included) at the run's
    crop size."""
    if method == "raw":
        return BDQEncoder(blur=False, difference=False, quantize=False)
    if method in GAMES:
        return trained_encoder(run, alpha, method)
    if method in MODULE_NAMES:
        return trained_encoder(run, alpha).with_modules(method)
    if parse_event_method(method) is not None:
        return EventCamera(parse_event_method(method), mean=run.cfg.mean, std=run.cfg.std)
    if method in ("sppa", "sppa_iid"):
        return make_sppa(run.cfg, noise="iid" if method == "sppa_iid" else "motion",
                         device=resolve_device(run.cfg.device))
    if method == "masking":
        return make_masking(run.cfg)
    if method == "raprivacy":
        path = raprivacy_dir(run) / "anonymiser.pt"
        if not path.is_file():
            raise FileNotFoundError(f"no trained RAPrivacy anonymiser in {run.run_dir} (expected {path}); run "
                                    f"05_comparators (or train_raprivacy) first")
        enc = make_anonymiser(run.cfg)
        enc.load_state_dict(torch.load(path, map_location="cpu"))
        return enc.eval()
    return make_baseline(method, run.cfg.size)  # names every method it knows when it does not know this one


def adversarial_history(run: Run, alpha: float, method: str = "bdq") -> pd.DataFrame:
    return pd.read_csv(run.adversarial_dir(alpha, method) / "log.csv")


def validate(run: Run, data: DataBundle, encoder, *, method: str, alpha=float("nan"), log=print,
             same_as: tuple | None = None) -> list | None:
    """The validation protocol for one encoder (T and the attack suite), recorded in results.csv.

    Skipped if the encoder's rows are already there. same_as=(method, alpha): this encoder is that row's encoder
    (same modules and parameters), and validation is deterministic for a seed, so that encoder's rows are
    recorded under this name instead of being computed twice.
    """
    log = log or quiet
    if run.has_result(method, alpha):
        log(f"[validate {method}] already in {run.results_path.name}; skipped")
        return None
    if same_as is not None and run.has_result(*same_as):
        rows = [{**r, "method": method, "alpha": float(alpha)} for r in run.rows(*same_as)]
        top = run.result(*same_as)
        log(f"[validate {method}] the same encoder as {same_as[0]} alpha={same_as[1]:g}: its rows are recorded "
            f"(action {top['action_top1']:.3f}, privacy {top['privacy_top1']:.3f})")
        run.record(*rows)
        return rows
    if launches(run.cfg.nproc):  # the processes rebuild the encoder from (method, alpha) and record the rows
        launch_workers(run.cfg.nproc, "validate", run.run_dir, method, *([] if alpha != alpha else [float(alpha)]),
                       log=log)
        return run.rows(method, alpha)
    rows = validate_encoder(encoder, data, run.cfg, method=method, alpha=alpha,
                            checkpoint_dir=run.validation_dir(method, alpha), log=log, budget=run.budget())
    run.record(*rows)
    return rows


def clean_models(run: Run, data: DataBundle) -> tuple:
    """The raw video's T and attackers (best-validation weights from 03's checkpoints): frozen_clean's models."""
    folder = run.validation_dir("raw", float("nan"))
    probes = [Probe(run.cfg.action_model, "action")] + parse_probes(run.cfg.attackers)
    models = {}
    for probe in probes:
        path = folder / f"{probe.target}-{probe.name}.pt"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: run 03_validate_frozen_encoder first (it trains the networks "
                                    f"on raw video that the frozen_clean protocol applies)")
        state = torch.load(path, map_location="cpu", weights_only=False)["best"].get("state")
        if state is None:
            raise FileNotFoundError(f"{path} kept its result but not its weights (probe_weights="
                                    f"{run.cfg.probe_weights!r}); frozen_clean needs the raw video's networks: "
                                    f"run with probe_weights 'raw' or 'all'")
        model = build_model(probe.arch, num_classes(data, probe.target), width=model_width(run.cfg, probe.arch))
        model.load_state_dict(state)
        models[probe.name if probe.target == "identity" else "action"] = (model.to(resolve_device(run.cfg.device)),
                                                                          probe.level)
    return models.pop("action")[0], models


def frozen_clean(run: Run, data: DataBundle, encoder, *, method: str, alpha=float("nan"), models=None) -> list:
    """SPPA's protocol for one encoder, with the raw video's networks (`clean_models`); recorded in results.csv."""
    action, attackers = models or clean_models(run, data)
    rows = evaluate_frozen_clean(encoder, data, run.cfg, action, attackers, method=method, alpha=alpha)
    run.record(*rows)
    return rows


def probe_histories(run: Run, method: str, alpha=float("nan")) -> pd.DataFrame:
    """Per-epoch validation accuracy of every network validated on one encoder (from their checkpoints)."""
    frames = []
    for path in sorted(run.validation_dir(method, alpha).glob("*.pt")):
        state = torch.load(path, map_location="cpu", weights_only=False)
        target, _, name = path.stem.partition("-")
        history = pd.DataFrame(state["history"])
        history["network"], history["target"], history["best_epoch"] = name, target, state["best"]["epoch"]
        frames.append(history)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def disk_usage(run: Run) -> pd.DataFrame:
    """MB on disk per top-level entry of the run folder (checkpoints are most of it), largest first, and a total."""
    def size(path: Path) -> int:
        return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())

    rows = [{"entry": p.name, "MB": size(p) / 2**20} for p in run.run_dir.iterdir()]
    df = pd.DataFrame(rows).sort_values("MB", ascending=False).reset_index(drop=True)
    return pd.concat([df, pd.DataFrame([{"entry": "total", "MB": df["MB"].sum()}])], ignore_index=True)


def headline(run: Run, alpha: float) -> str:
    """The run's headline sentence, computed from results.csv: raw vs BDQ at `alpha` (and alpha = 0)."""
    raw, bdq, bdq0 = run.result("raw"), run.result("bdq", alpha), run.result("bdq", 0.0)
    if raw is None or bdq is None:
        return "raw or BDQ not validated yet in this run"

    def removed(r):
        return privacy_removal(r["privacy_top1"], raw["privacy_top1"], r["privacy_chance"])

    text = (f"Against the strongest of {len(run.rows('bdq', alpha)) - 1} attackers, BDQ (alpha={alpha:g}) removes "
            f"{removed(bdq):.0%} of raw's above-chance privacy accuracy ({raw['privacy_top1']:.3f} by "
            f"{raw['strongest_attacker']} -> {bdq['privacy_top1']:.3f} by {bdq['strongest_attacker']}, chance "
            f"{bdq['privacy_chance']:.3f}); action {raw['action_top1']:.3f} -> {bdq['action_top1']:.3f} "
            f"({bdq['action_top1'] / raw['action_top1']:.0%} of raw).")
    if bdq0 is not None and alpha != 0:
        text += (f" Without the adversary (alpha=0) it removes {removed(bdq0):.0%} (privacy "
                 f"{bdq0['privacy_top1']:.3f}, action {bdq0['action_top1']:.3f}).")
    return text

