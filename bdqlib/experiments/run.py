"""The run folder: one run's config (run.json, checked with one rule when a run is resumed), where its trainings keep
their checkpoints, and its results.csv.

    run = start_run(dataset="synthetic", profile="cpu", run_dir="outputs/x")   # the notebooks: start_notebook_run
    run.result("bdq", 1.0)        # the headline row of BDQ at alpha = 1 (strongest attacker), or None
    run.rows("raw")               # every row of the raw video (each attacker's and the strongest)

An encoder is keyed by (method, alpha); alpha is None for methods without one (results.csv writes it empty/NaN).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from ..atomic import exclusive, write_json_atomic
from ..config import Config, config_changes, make_config, parse_names, renamed, run_default
from ..data.layouts import write_ipn_like, write_sbu_like, write_weizmann_like
from ..engine.checkpoint import ConfigMismatch, TimeBudget, session_start
from ..engine.distributed import check_nproc
from ..engine.steps import resolve_device
from ..platform import check_cuda_arch, default_roots, detect_platform, environment, find_repo_root
from ..report.results import (
    KEY,
    PREDICTION_COLUMNS,
    PREDICTION_KEY,
    STRONGEST,
    encoder_tag,
    read_results,
    record_results,
    row_keys,
)

KEY_ATTACKER = KEY.index("attacker")
TINY_LAYOUTS = {"sbu": write_sbu_like, "ipn": write_ipn_like, "weizmann": write_weizmann_like}  # SMOKE, no DATA_DIR
KAGGLE_TIME_BUDGET_H = 11.0  # hours of training per Kaggle session (the session limit is 12 h); $BDQ_TIME_BUDGET_H
# SMOKE: the whole chain on a tiny dataset in seconds (tests); never a result to read. It shrinks sizes and never
# switches paths (`smoke_overrides`): the paper profile's uncached views and gradient accumulation stay.
SMOKE_OVERRIDES = dict(synthetic_subjects=3, epochs=1, warmup_epochs=0, val_epochs=1, pretrain_epochs=1, batch_size=8,
                       val_min_epochs=1, rap_epochs=1, rap_style_count=4)
SMOKE_SIZES = dict(num_frames=8, size=48, cache_short_side=48, val_views=1)  # at most these
SMOKE_SEEDS = "0,1"  # two seeds: the chain runs the multi-seed paths (per-seed folders, pretraining, intervals)


def alpha_key(alpha) -> float | None:
    """An encoder's alpha as its key holds it: a float, or None for a method without one (NaN read from a CSV)."""
    if alpha is None:
        return None
    alpha = float(alpha)
    return None if math.isnan(alpha) else alpha


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


def parse_seeds(spec, name: str = "SEEDS") -> list:
    """"0,1,2" -> [0, 1, 2] (distinct, in order); an error naming the parameter otherwise."""
    try:
        seeds = [int(x) for x in parse_names(spec)]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated whole numbers, got {spec!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"{name} must name at least one seed, each once, got {spec!r}")
    return seeds


@dataclass
class Run:
    """A run folder and one seed of it. Seeds are independent trainings of everything (the game, every validation
    network, the small networks' pretraining); `for_seed` gives the same folder under another seed, whose trainings
    live in their own sub-folders (`space`) and whose rows carry its seed. Seed 0 keeps the folder layout of runs
    made before seeds existed."""
    cfg: Config
    run_dir: Path
    data_root: Path
    smoke: bool = False
    seeds: tuple = (0,)

    def for_seed(self, seed: int) -> "Run":
        return Run(replace(self.cfg, seed=int(seed)), self.run_dir, self.data_root, self.smoke, self.seeds)

    def each_seed(self, seeds=None) -> list:
        """This run under each of `seeds` (default: the run's SEEDS), in order."""
        return [self.for_seed(s) for s in (self.seeds if seeds is None else seeds)]

    def space(self, name: str) -> Path:
        """The folder `name` of this seed's trainings: run_dir/name for seed 0, run_dir/name/seed<k> otherwise."""
        return self.run_dir / name if self.cfg.seed == 0 else self.run_dir / name / f"seed{self.cfg.seed}"

    @property
    def results_path(self) -> Path:
        return self.run_dir / "results.csv"

    def adversarial_dir(self, alpha: float, method: str = "bdq") -> Path:
        """Where the game of `method` at `alpha` keeps its checkpoint, log and encoder."""
        return self.space("adversarial") / (f"alpha_{alpha:g}" if method == "bdq" else f"{method}_alpha_{alpha:g}")

    def validation_dir(self, method: str, alpha=None) -> Path:
        """Where the validation networks of one encoder keep their checkpoints."""
        return self.space("validation") / encoder_tag(method, alpha_key(alpha))

    def results(self, attacker: str | None = STRONGEST, *, only=None) -> pd.DataFrame:
        """results.csv: the "strongest" rows (the headline numbers), or one attacker's, or all (attacker=None).
        only: the rows of these encoders [(method, alpha), ...] and the raw video's (None: every encoder's)."""
        df = read_results(self.results_path)
        if only is not None and len(df):
            keep = {(m, alpha_key(a)) for m, a in only} | {("raw", None)}
            df = df[[(m, alpha_key(a)) in keep for m, a in zip(df["method"], df["alpha"])]]
        return df if attacker is None or len(df) == 0 else df[df["attacker"] == attacker].reset_index(drop=True)

    def rows(self, method: str, alpha=None, protocol: str = "retrain") -> list:
        """Every recorded row of one encoder under one protocol (each attacker's and the strongest)."""
        df = self.results(None)
        if len(df) == 0:
            return []
        a = alpha_key(alpha)
        want = pd.DataFrame([{"dataset": self.cfg.dataset, "method": method, "alpha": math.nan if a is None else a,
                              "protocol": protocol, "attacker": "", "split": self.cfg.split, "seed": self.cfg.seed}])
        key = row_keys(want)[0]
        ignore = KEY_ATTACKER
        return [df.iloc[i].to_dict() for i, k in enumerate(row_keys(df))
                if k[:ignore] + k[ignore + 1:] == key[:ignore] + key[ignore + 1:]]

    def result(self, method: str, alpha=None, protocol: str = "retrain") -> dict | None:
        """This run's headline row (strongest attacker) for (method, alpha, protocol), or None."""
        hits = [r for r in self.rows(method, alpha, protocol) if r["attacker"] == STRONGEST]
        return hits[-1] if hits else None

    def has_result(self, method: str, alpha=None, protocol: str = "retrain") -> bool:
        return self.result(method, alpha, protocol) is not None

    def record(self, *rows) -> pd.DataFrame:
        return record_results(self.results_path, rows)

    @property
    def predictions_path(self) -> Path:
        return self.run_dir / "predictions.csv"

    def record_predictions(self, rows: list) -> None:
        """predictions.csv: every test clip's true and predicted label, per network and encoder (replacing the same
        network's earlier rows): what every accuracy and interval is recomputed from."""
        if rows:
            record_results(self.predictions_path, rows, key=PREDICTION_KEY, columns=PREDICTION_COLUMNS)

    def predictions(self) -> pd.DataFrame:
        return read_results(self.predictions_path, PREDICTION_COLUMNS)

    def budget(self) -> TimeBudget:
        """cfg.time_budget_h counted from this machine session's start on this run (shared by its notebooks)."""
        return TimeBudget(self.cfg.time_budget_h, start=session_start(self.run_dir))


def start_run(*, dataset="synthetic", data_dir="", profile="cpu", alpha=None, epochs=None, seed=None, run_dir="",
              smoke=False, seeds=None, seeds_default: str = "SEEDS", **overrides) -> Run:
    """The run of the notebooks' parameters: its config (saved as run.json, refused if it differs), its folder.

    alpha=None (and any other None): the profile's value for the dataset (bdqlib.config.DATASET_DEFAULTS).
    seeds: "0,1,2" (None: the profile's `seeds_default` -- SEEDS, or STUDY_SEEDS for 04-06 --, bdqlib.config.
    RUN_DEFAULTS; `seed` alone: that one; SMOKE: SMOKE_SEEDS); the returned
    Run is the first seed's, `for_seed`/`each_seed` give the others. run.json keeps every seed the folder has seen.
    SMOKE with SBU or IPN and no data_dir writes a tiny folder in that dataset's layout (bdqlib.data.layouts).
    """
    seed_list = parse_seeds(seeds if seeds is not None else str(seed) if seed is not None else
                            SMOKE_SEEDS if smoke else run_default(profile, seeds_default))
    seed = seed_list[0]
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
    with exclusive(saved):  # notebooks side by side (run_all.sh) start together: one read-modify-write at a time
        _record_run(saved, record, seed_list, cfg)
    session_start(run_dir)  # the first notebook of a session starts its time budget
    return Run(cfg, run_dir, data_root, smoke, tuple(seed_list))


def _record_run(saved: Path, record: dict, seed_list: list, cfg) -> None:
    """run.json: refused if it belongs to other parameters; else every seed and commit it has seen, this one's added."""
    seen = list(seed_list)
    if saved.is_file():
        old = json.loads(saved.read_text())
        # the seeds a notebook runs may differ (a sweep on fewer seeds): seed and seeds are per notebook
        diff = config_changes(old, record, ignore=("platform", "seed", "seeds", "environment", "commits"))
        if diff:
            raise ConfigMismatch(f"{saved} belongs to a run with other parameters ({', '.join(diff)}); use another "
                                 f"RUN_DIR or the same parameters")
        seen = sorted(set(old.get("seeds", [old.get("seed", 0)])) | set(seed_list))
    env = environment(cfg)
    # every commit a notebook of this folder started under, in order: a folder whose rows come from more than one
    # is labelled so (scripts/results_doc.py), never silently mixed
    before = json.loads(saved.read_text()).get("commits", []) if saved.is_file() else []
    commits = before + [env["commit"]] if env["commit"] not in before else before
    write_json_atomic(saved, {**record, "seeds": seen, "environment": env, "commits": commits})


# The run parameters every notebook declares (its papermill parameters cell) -> start_run's arguments.
NOTEBOOK_PARAMETERS = {"DATASET": "dataset", "DATA_DIR": "data_dir", "PROFILE": "profile", "ALPHA": "alpha",
                       "EPOCHS": "epochs", "VAL_EPOCHS": "val_epochs", "ATTACKERS": "attackers", "SPLIT": "split",
                       "MISSING": "missing", "SEEDS": "seeds", "RUN_DIR": "run_dir", "SMOKE": "smoke",
                       "NUM_WORKERS": "num_workers", "NPROC": "nproc", "SEED_WORKERS": "seed_workers",
                       # what fits a GPU (bdqlib.engine.memory): the effective batch, micro-batches, precision, frames
                       "BATCH_SIZE": "batch_size", "ACCUM": "accum_steps", "AMP": "amp",
                       "PRIVACY_FRAMES": "privacy_frames", "VAL_FRAMES": "val_frames",
                       "CHECKPOINTING": "activation_checkpointing", "WEIGHTS": "weights",
                       "CROP": "crop", "COLOUR": "synthetic_colour"}  # bdqlib.config.Config's crop, synthetic_colour


def start_notebook_run(params: dict, *, seeds_default: str = "SEEDS") -> Run:
    """start_run with a notebook's parameters, read from its namespace (`globals()`): DATASET ... WEIGHTS.
    seeds_default: which profile default SEEDS=None means (04-06 pass "STUDY_SEEDS")."""
    missing = [name for name in NOTEBOOK_PARAMETERS if name not in params]
    if missing:
        raise NameError(f"the notebook's parameters cell does not define {', '.join(missing)}")
    return start_run(**{arg: params[name] for name, arg in NOTEBOOK_PARAMETERS.items()}, seeds_default=seeds_default)


def default_workers(nproc: int = 1) -> int:
    """DataLoader workers per process when none are asked for: none on a CPU-only machine (they would take cores
    from the training itself); beside a GPU, the cores shared out among the `nproc` processes (at most 8 each), so
    Kaggle's 4 vCPUs give each of two GPUs 2 workers, not 4."""
    return min((os.cpu_count() or 1) // max(nproc, 1), 8) if torch.cuda.is_available() else 0


def open_run(run_dir) -> Run:
    """The Run a run folder's run.json describes (as start_run made it), without changing anything there. A folder
    written before a field was renamed (bdqlib.config.RENAMED) opens under the new name."""
    saved = renamed(json.loads((Path(run_dir) / "run.json").read_text()))
    fields = {k: v for k, v in saved.items() if k not in ("profile", "smoke", "platform")}
    cfg = make_config(saved["profile"], **{k: v for k, v in fields.items() if k in Config.__dataclass_fields__})
    data_root, _ = default_roots(detect_platform(), find_repo_root())
    return Run(cfg, Path(run_dir), data_root, bool(saved.get("smoke")), tuple(saved.get("seeds", [cfg.seed])))
