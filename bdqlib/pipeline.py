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

from .adversarial import AdversarialResult, _quiet, make_encoder, resolve_device, train_adversarial
from .atomic import write_json_atomic
from .checkpoint import ConfigMismatch, TimeBudgetReached
from .config import RESUME_IGNORES, Config, make_config
from .data import DataBundle, prepare_data
from .encoder import BDQEncoder
from .platform import default_roots, detect_platform, find_repo_root
from .results import read_results, record_results, row_keys
from .validate import evaluate_frozen_clean, validate_encoder

KAGGLE_TIME_BUDGET_H = 11.0  # hours of training per Kaggle session (the session limit is 12 h); $BDQ_TIME_BUDGET_H
# SMOKE: the whole chain on a tiny dataset in seconds (tests); never a result to read.
SMOKE_OVERRIDES = dict(synthetic_subjects=3, epochs=1, warmup_epochs=0, val_epochs=1, pretrain_epochs=1, batch_size=8)


@dataclass
class Run:
    cfg: Config
    run_dir: Path
    data_root: Path
    smoke: bool = False

    @property
    def results_path(self) -> Path:
        return self.run_dir / "results.csv"

    def adversarial_dir(self, alpha: float) -> Path:
        return self.run_dir / "adversarial" / f"alpha_{alpha:g}"

    def validation_checkpoint(self, method: str, alpha) -> Path:
        tag = method.replace("+", "") + ("" if alpha != alpha else f"_alpha_{alpha:g}")
        return self.run_dir / "validation" / f"{tag}.pt"

    def results(self) -> pd.DataFrame:
        return read_results(self.results_path)

    def _key(self, method: str, alpha, protocol: str) -> tuple:
        want = pd.DataFrame([{"dataset": self.cfg.dataset, "method": method, "alpha": float(alpha),
                              "protocol": protocol, "split": self.cfg.protocol, "seed": self.cfg.seed}])
        return row_keys(want)[0]

    def result(self, method: str, alpha=float("nan"), protocol: str = "retrain") -> dict | None:
        """This run's recorded row for (method, alpha, protocol), or None."""
        df = self.results()
        if len(df) == 0:
            return None
        hits = [i for i, key in enumerate(row_keys(df)) if key == self._key(method, alpha, protocol)]
        return df.iloc[hits[-1]].to_dict() if hits else None

    def has_result(self, method: str, alpha=float("nan"), protocol: str = "retrain") -> bool:
        return self.result(method, alpha, protocol) is not None

    def record(self, *rows) -> pd.DataFrame:
        return record_results(self.results_path, rows)


def start_run(*, dataset="synthetic", data_dir="", profile="cpu", alpha=1.0, epochs=None, seed=0, run_dir="",
              smoke=False, **overrides) -> Run:
    """The run of the notebooks' parameters: its config (saved as run.json, refused if it differs), its folder."""
    platform = detect_platform()
    data_root, outputs_root = default_roots(platform, find_repo_root())
    overrides = {k: v for k, v in overrides.items() if v is not None}  # None: "the profile's value"
    fields = {"weights_dir": os.environ.get("BDQ_WEIGHTS_DIR", str(data_root / "weights")), **(SMOKE_OVERRIDES if smoke else {}), **overrides}
    if "time_budget_h" not in overrides:  # Kaggle ends a session at 12 h: stop cleanly before, resumable
        budget = os.environ.get("BDQ_TIME_BUDGET_H", KAGGLE_TIME_BUDGET_H if platform == "kaggle" else 0)
        fields["time_budget_h"] = float(budget)
    if smoke and dataset == "synthetic" and not data_dir:
        data_dir = str(data_root / "synthetic-smoke")
    if epochs is not None:  # explicit parameters win over smoke defaults, which win over the profile
        fields["epochs"] = epochs
    cfg = make_config(profile, dataset=dataset, data_dir=data_dir, alpha=float(alpha), seed=seed, **fields)
    run_dir = Path(run_dir) if run_dir else outputs_root / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {"profile": profile, "smoke": bool(smoke), "platform": platform, **cfg.to_dict()}
    saved = run_dir / "run.json"
    if saved.is_file():
        old = json.loads(saved.read_text())
        diff = sorted(k for k in set(old) | set(record)
                      if k not in ("platform", *RESUME_IGNORES) and old.get(k) != record.get(k))
        if diff:
            raise ConfigMismatch(f"{saved} belongs to a run with other parameters ({', '.join(diff)}); use another "
                                 f"RUN_DIR or the same parameters")
    write_json_atomic(saved, record)
    return Run(cfg, run_dir, data_root, smoke)


def load_data(run: Run, log=print) -> DataBundle:
    data = prepare_data(run.cfg, root=run.data_root, cache_root=run.data_root / "cache", log=log)
    if log:
        log(f"[data] {data.summary()}")
    return data


def pretrain(run: Run, log=print) -> None:
    """Make sure T and P have their pretrained weights (cpu profile: trained once here, then cached)."""
    small = run.cfg.action_model == "small3d" or run.cfg.privacy_model == "small2d"
    if run.cfg.weights == "pretrained" and small:
        from .pretrain import pretrain_small_models
        pretrain_small_models(run.cfg, data_root=run.data_root, log=log)


def encoder_path(run: Run, alpha: float) -> Path:
    return run.adversarial_dir(alpha) / "encoder.pt"


def train_encoder(run: Run, data: DataBundle, alpha: float, log=print) -> AdversarialResult:
    """Adversarial training at `alpha` in its own sub-folder (resuming); saves encoder.pt when complete."""
    cfg = make_config_like(run.cfg, alpha=float(alpha))
    result = train_adversarial(cfg, data, run.adversarial_dir(alpha), log=log)
    if result.status != "completed":  # stop the notebook here: what follows needs the finished encoder
        raise TimeBudgetReached(f"time budget of {cfg.time_budget_h} h reached: adversarial training (alpha="
                                f"{alpha:g}) stopped after epoch {len(result.history)}/{cfg.epochs}, checkpoint in "
                                f"{run.adversarial_dir(alpha)}; re-run with RUN_DIR={run.run_dir} to continue")
    torch.save(result.encoder.state_dict(), encoder_path(run, alpha))
    return result


def make_config_like(cfg: Config, **changes) -> Config:
    return Config(**{**cfg.__dict__, **changes})


def trained_encoder(run: Run, alpha: float) -> BDQEncoder:
    """The encoder trained at `alpha` in this run (after train_encoder completed)."""
    path = encoder_path(run, alpha)
    if not path.is_file():
        raise FileNotFoundError(f"no trained encoder for alpha={alpha:g} in {run.run_dir} (expected {path}); "
                                f"run 02_adversarial_train (or train_encoder) first")
    enc = make_encoder(run.cfg)
    enc.load_state_dict(torch.load(path, map_location="cpu"))
    return enc


def adversarial_history(run: Run, alpha: float) -> pd.DataFrame:
    return pd.read_csv(run.adversarial_dir(alpha) / "log.csv")


def validate(run: Run, data: DataBundle, encoder, *, method: str, alpha=float("nan"), log=print,
             keep_models: bool = False, same_as: tuple | None = None):
    """The frozen-encoder protocol for one encoder, recorded in results.csv (skipped if already there).

    same_as=(method, alpha): this encoder is that row's encoder (same modules and parameters), and validation is
    deterministic for a seed, so that row's result is recorded under this name instead of being computed twice.
    """
    if run.has_result(method, alpha) and not keep_models:
        (log or _quiet)(f"[validate {method}] already in {run.results_path.name}; skipped")
        return None
    if same_as is not None and run.has_result(*same_as) and not keep_models:
        row = {**run.result(*same_as), "method": method, "alpha": float(alpha)}
        (log or _quiet)(f"[validate {method}] the same encoder as {same_as[0]} alpha={same_as[1]:g}: its result is "
                        f"recorded (action {row['action_top1']:.3f}, privacy {row['privacy_top1']:.3f})")
        run.record(row)
        return row
    path = run.validation_checkpoint(method, alpha)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = validate_encoder(encoder, data, run.cfg, method=method, alpha=alpha, checkpoint=path, log=log,
                           return_models=keep_models)
    row = out[0] if keep_models else out
    run.record(row)
    return out


def clean_models_path(run: Run) -> Path:
    return run.run_dir / "validation" / "clean_models.pt"


def save_clean_models(run: Run, action, privacy) -> None:
    """T and P trained on raw (clean) data: the models of the frozen_clean protocol."""
    torch.save({"action": action.state_dict(), "privacy": privacy.state_dict()}, clean_models_path(run))


def frozen_clean(run: Run, data: DataBundle, encoder, *, method: str, alpha=float("nan")) -> dict:
    """SPPA's protocol for one encoder, using the clean models saved by 03; recorded in results.csv."""
    from .adversarial import make_models
    path = clean_models_path(run)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run 03_validate_frozen_encoder first (it trains the clean models)")
    action, privacy = make_models(make_config_like(run.cfg, weights="none"), data.num_actions, data.num_subjects,
                                  resolve_device(run.cfg.device))
    state = torch.load(path, map_location="cpu")
    action.load_state_dict(state["action"])
    privacy.load_state_dict(state["privacy"])
    row = evaluate_frozen_clean(encoder, action, privacy, data, run.cfg, method=method, alpha=alpha)
    run.record(row)
    return row
