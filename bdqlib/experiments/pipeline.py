"""What the notebooks call: data, pretraining, and any method -- fitted, built and validated -- through the registry.

    run = start_notebook_run(globals()); data = load_data(run); pretrain(run)
    evaluate(run, data, "bdq", 1.0)     # the game (resumed if done), then T and the attack suite on its output
    evaluate(run, data, "elr28")        # a fixed encoder: built, then validated

Every step is resumable at the notebook level: a game continues from its checkpoint, and a result already in
results.csv (same dataset, method, alpha, protocol, split, seed) is not computed again -- so a notebook re-run after
an interruption (or a new Kaggle session) picks up where it stopped. No name of a method is compared here: what a
method is, how it is fitted and built, comes from bdqlib.methods.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from .. import methods
from ..config import parse_names
from ..data import SPLIT_BY_SEED, DataBundle, prepare_data
from ..engine.distributed import launch_workers, launches
from ..engine.steps import quiet, resolve_device
from ..methods.games import encoder_path
from ..methods.games import trained_encoder as _trained_game_encoder
from ..nets.registry import network
from ..report.results import STRONGEST
from ..train.pretrain import prepare_population, pretrain_small_models
from ..train.probes import RECIPES, Probe, num_classes, parse_probes, saved_model, suite_probes
from . import robustness
from .parallel import Job, plan_workers, run_graph, run_jobs, worker_log
from .run import NOTEBOOK_PARAMETERS, Run, alpha_key, open_run, start_notebook_run, start_run  # noqa: F401
from .validate import evaluate_frozen_clean, train_suite_member, validate_encoder


def load_data(run: Run, log=print) -> DataBundle:
    data = prepare_data(run.cfg, root=run.data_root, cache_root=run.data_root / "cache", log=log)
    if log:
        log(f"[data] {data.summary()}")
    return data


def each_seed(run: Run, *, log=print, pretrained: bool = True, seeds=None):
    """(the run under each of its SEEDS, that seed's data) in order, the small networks pretrained for each seed
    (their pretraining is part of what a seed repeats) unless `pretrained` is False. The data is loaded again only
    where a seed changes the split (SBU's and IPN's validation carving)."""
    data = None
    for i, r in enumerate(run.each_seed(seeds)):
        if data is None or r.cfg.dataset in SPLIT_BY_SEED:
            data = load_data(r, log=log if i == 0 else None)
        if pretrained:
            pretrain(r, log=log)
        yield r, data


def over_seeds(run: Run, *calls, log=print) -> list:
    """Every call (function, *args) -- run as function(run of a seed, its data, *args, log=...) -- for every seed of
    the run, each seed's small networks pretrained first. Returns one {seed: result} per call.

    With more than one worker (cfg.seed_workers; automatically one per core on a CPU) the (call, seed) jobs run in
    processes side by side, with the cores shared out among them, and their log lines are printed here as they
    come, prefixed by the seed; otherwise in this process, seed by seed. Each job records into the run folder as it
    would alone (results.csv and predictions.csv are written under a lock), so an interrupted cell resumes the same
    way. A seed's numbers do not depend on the worker count beyond the last bits of a float reduction: threads per
    process are recorded in run.json's environment.
    """
    workers, threads = _plan(run, len(calls) * len(run.seeds))
    if workers == 1:
        return _in_process(run, calls, log=log)
    out = [{} for _ in calls]
    _prepare_shared(run, log=log)
    jobs = [(_seed_job, run, seed, call) for call in calls for seed in run.seeds]  # seeds first: pretrain in parallel
    log(f"[parallel] {len(jobs)} trainings ({len(calls)} x {len(run.seeds)} seeds) in {workers} processes of "
        f"{threads} thread{'s' if threads > 1 else ''}")
    results = iter(run_jobs(jobs, workers=workers, threads=threads, log=log))
    for i in range(len(calls)):
        for seed in run.seeds:
            out[i][seed] = next(results)
    return out


def _plan(run: Run, jobs: int) -> tuple:
    """(worker processes, threads each) for `jobs` independent trainings of this run (parallel.plan_workers)."""
    return plan_workers(jobs, run.cfg.seed_workers,
                        cuda=resolve_device(run.cfg.device).type == "cuda" or launches(run.cfg.nproc))


def _in_process(run: Run, calls, *, log=print) -> list:
    """over_seeds in this process, seed by seed."""
    out = [{} for _ in calls]
    for r, data in each_seed(run, log=log):
        for i, (function, *args) in enumerate(calls):
            out[i][r.cfg.seed] = function(r, data, *args, log=log)
    return out


def _prepare_shared(run: Run, *, log=print) -> None:
    """What worker processes share, made here once before they start: the frame cache and the pretraining
    population."""
    load_data(run, log=log)
    if _needs_pretraining(run):
        prepare_population(run.cfg, data_root=run.data_root, log=log)


def _seed_job(run: Run, seed: int, call: tuple):
    """One job of over_seeds, in a worker process: the seed's data and pretrained networks, then the call."""
    r, data, log = _worker_seed(run, seed)
    function, *args = call
    return function(r, data, *args, log=log)


def _worker_seed(run: Run, seed: int) -> tuple:
    """In a worker process: (the run of `seed`, its data, a log through the notebook), its networks pretrained."""
    r = run.for_seed(seed)
    log = worker_log(f"[seed {seed}]")
    data = load_data(r, log=None)
    pretrain(r, log=log)
    return r, data, log


def _needs_pretraining(run: Run) -> bool:
    names = {run.cfg.action_model, run.cfg.privacy_model} | {p.arch for p in parse_probes(run.cfg.attackers)}
    return run.cfg.weights == "pretrained" and any(network(n).pretrained_here for n in names)


def pretrain(run: Run, log=print) -> None:
    """Make sure the small models have their pretrained weights (cpu profile: trained once here, then cached)."""
    if _needs_pretraining(run):
        pretrain_small_models(run.cfg, data_root=run.data_root, log=log)


def parse_methods(spec, name: str, *, games: bool = False, family=None, required=(), cfg=None) -> list:
    """A notebook parameter of method names ("bdq,bdq_ensemble", "B,D+Q", "elr28,elr14"), each checked against the
    registry: known, a game method if `games`, of `family` (a name or tuple of names) if given, with every name of
    `required`, defined on `cfg`'s crop if a config is given; an error naming the parameter otherwise."""
    names = parse_names(spec)
    families = (family,) if isinstance(family, str) else family
    bad = []
    for n in names:
        if not methods.is_method(n):
            bad.append(f"{n} (unknown)")
            continue
        m = methods.resolve(n)[0]
        if (games and m.game is None) or (families and m.family not in families):
            bad.append(n)
        elif cfg is not None and cfg.crop not in m.crops:
            bad.append(f"{n} (needs crop {' or '.join(m.crops)}; CROP is {cfg.crop})")
    missing = [r for r in required if r not in names]
    if bad or missing:
        want = "game methods (" + ", ".join(methods.games()) + ")" if games else \
            f"methods of {', '.join(families)}" if families else "methods"
        raise ValueError(f"{name}={spec!r}: {want} expected" + (f"; not {', '.join(bad)}" if bad else "")
                         + (f"; must include {', '.join(missing)}" if missing else "")
                         + f". Known: {', '.join(methods.known())}")
    return names


def on_crop(names: list, cfg, parameter: str, log=print) -> list:
    """The names of a profile's default method list that are defined on `cfg`'s crop; the others are left out with a
    line saying so (a list the user wrote is checked by parse_methods(cfg=...) instead, and refused)."""
    kept = [n for n in names if cfg.crop in methods.resolve(n)[0].crops]
    if len(kept) < len(names):
        log(f"{parameter}: {', '.join(n for n in names if n not in kept)} left out -- defined on S x S crops only, and "
            f"this run's CROP is {cfg.crop}")
    return kept


def encoder_alpha(run: Run, name: str, alpha=None):
    """The alpha `name`'s encoder is keyed by: `alpha` (the run's if None) for a method that takes one, else None."""
    return _alpha_for(methods.resolve(name)[0], alpha, run)


def _alpha_for(method, alpha, run: Run):
    """The alpha an encoder of `method` is keyed by: the given one, the run's for a method that takes one, else None."""
    if not method.takes_alpha:
        return None
    return float(run.cfg.alpha if alpha_key(alpha) is None else alpha)


def fit(run: Run, data: DataBundle, name: str, alpha=None, log=print):
    """Whatever `name` needs trained before it can be built (the game at `alpha`, RAPrivacy's two phases), in the
    run folder, resuming; nothing for a fixed encoder. Returns what the method's fit returns (None if nothing)."""
    method, arg = methods.resolve(name)
    methods.check_crop(method, run.cfg, name)
    if method.fit is None:
        return None
    return method.fit(run, data, _alpha_for(method, alpha, run), arg, log)


def encoder_of(run: Run, name: str, alpha=None):
    """The frozen encoder behind a results.csv row of this run (trained ones read from the run folder)."""
    method, arg = methods.resolve(name)
    methods.check_crop(method, run.cfg, name)
    return method.build(run, _alpha_for(method, alpha, run), arg)


def trained_encoder(run: Run, alpha: float, name: str = "bdq"):
    """The encoder a game method trained at `alpha` in this run (after fit)."""
    return _trained_game_encoder(methods.resolve(name)[0], run, float(alpha))


def evaluate(run: Run, data: DataBundle, name: str, alpha=None, *, log=print, frozen_clean_models=None):
    """fit, build and validate one method's encoder (skipping what results.csv holds); with `frozen_clean_models`
    (clean_models(run, data)) also SPPA's protocol. Returns the encoder."""
    fit(run, data, name, alpha, log=log)
    encoder = encoder_of(run, name, alpha)
    validate(run, data, encoder, method=name, alpha=alpha, log=log)
    if frozen_clean_models is not None and not run.has_result(name, alpha, protocol="frozen_clean"):
        frozen_clean(run, data, encoder, method=name, alpha=alpha, models=frozen_clean_models)
    return encoder


def evaluate_each(run: Run, specs, *, log=print, frozen_clean: bool = False) -> dict:
    """`evaluate` for every (name, alpha) of `specs` and every seed of the run, side by side where over_seeds runs
    seeds in processes; with `frozen_clean` also SPPA's protocol (03's raw networks of each seed). Returns
    {(seed, name, alpha): encoder}."""
    function = _evaluate_with_frozen_clean if frozen_clean else evaluate

    def finished(name, alpha) -> bool:  # every seed validated (and under frozen_clean if asked): nothing to train
        return all(r.has_result(name, alpha)
                   and (not frozen_clean or r.has_result(name, alpha, protocol="frozen_clean")) for r in run.each_seed())

    # what results.csv holds is read back here, not sent to a worker: a finished job would hold a process (and its
    # share of the cores) for nothing while the one left to train runs on fewer threads
    ready = [spec for spec in specs if finished(*spec)]
    todo = [spec for spec in specs if spec not in ready]
    if todo:
        train_side_by_side(run, todo, log=log)  # with one worker: nothing, everything is trained below
    done = _in_process(run, [(function, name, alpha) for name, alpha in todo], log=log) if todo else []
    out = {(r.cfg.seed, name, alpha): encoder_of(r, name, alpha) for name, alpha in ready for r in run.each_seed()}
    out.update({(seed, name, alpha): encoder for (name, alpha), by_seed in zip(todo, done)
                for seed, encoder in by_seed.items()})
    return {(r.cfg.seed, name, alpha): out[(r.cfg.seed, name, alpha)] for name, alpha in specs for r in run.each_seed()}


def train_side_by_side(run: Run, specs, *, log=print) -> None:
    """Train what validating the encoders of `specs` ((name, alpha) pairs) needs, for every seed, as separate jobs
    in processes side by side (where the run has more than one worker): each encoder's fit (its game, RAPrivacy's
    phases), then each network of its suite -- the action networks and every attacker -- once the fit is done.
    Finer jobs than a whole encoder keep the cores busy: a suite is five trainings of unequal length, and one
    method's long fit no longer holds its whole suite behind it. Everything lands in the run folder (checkpoints,
    E's output shared through a file per encoder) for `evaluate` to read back; nothing is recorded here.

    Of the jobs that can start, the fits go first (others wait on them), then the one-cycle recipes (they run all
    val_epochs), then networks from random initialisation (they train longer), then the rest, each group in the order
    of `specs`."""
    probes = suite_probes(run.cfg)
    jobs = {}
    for name, alpha in specs:
        method = methods.resolve(name)[0]
        key_alpha = _alpha_for(method, alpha, run)
        for r in run.each_seed():
            if r.has_result(name, key_alpha) or recorded_same_encoder(r, name, key_alpha):
                continue  # done, or validate records the other row's results under this name
            seed, after = r.cfg.seed, ()
            if method.fit is not None:
                after = (("fit", seed, name, key_alpha),)
                jobs[after[0]] = Job(_fit_job, (run, seed, name, key_alpha), priority=2)
            folder = r.validation_dir(name, key_alpha)
            for key, probe in probes.items():
                if not _finished_probe(folder / f"{key}.pt"):
                    jobs[("probe", seed, name, key_alpha, key)] = Job(
                        _member_job, (run, seed, name, key_alpha, key), after=after,
                        priority=1.5 if RECIPES[probe.recipe].schedule == "onecycle" else 1 if probe.init == "none"
                        else 0)
    workers, _ = _plan(run, len(jobs))
    if workers == 1 or not jobs:
        return
    _prepare_shared(run, log=log)
    log(f"[parallel] {len(jobs)} trainings ({sum(k[0] == 'fit' for k in jobs)} encoders to fit, "
        f"{sum(k[0] == 'probe' for k in jobs)} validation networks) in {workers} processes")
    run_graph(jobs, workers=workers, log=log)


def _finished_probe(path: Path) -> bool:
    return path.is_file() and "result" in torch.load(path, map_location="cpu", weights_only=False)


def _fit_job(run: Run, seed: int, name: str, alpha) -> None:
    r, data, log = _worker_seed(run, seed)
    fit(r, data, name, alpha, log=log)


def _member_job(run: Run, seed: int, name: str, alpha, key: str) -> None:
    r, data, log = _worker_seed(run, seed)
    train_suite_member(encoder_of(r, name, alpha), data, r.cfg, method=name, alpha=alpha,
                       checkpoint_dir=r.validation_dir(name, alpha), key=key,
                       store=encoded_store(r, name, alpha), log=log)


def encoded_store(run: Run, method: str, alpha=None) -> Path:
    """The file E's output of one encoder is shared through while its suite trains (removed once validated)."""
    return run.validation_dir(method, alpha) / "encoded.pt"


def _evaluate_with_frozen_clean(run: Run, data: DataBundle, name: str, alpha=None, *, log=print):
    return evaluate(run, data, name, alpha, log=log, frozen_clean_models=clean_models(run, data))


def attacker_sweep(run: Run, data: DataBundle, method: str, alpha, spec: str, *, log=print) -> dict:
    """06's attacker sweep on one encoder of this seed (an over_seeds call): the networks of `spec` trained on its
    output and joined to its suite (robustness.sweep_attackers). Returns attacker name -> test top-1."""
    return robustness.sweep_attackers(run, data, encoder_of(run, method, alpha), method=method, alpha=alpha,
                                      attackers=robustness.probes_of(spec, run, method, alpha), log=log)


def action_sweep(run: Run, data: DataBundle, method: str, alpha, spec: str, *, log=print) -> pd.DataFrame:
    """06's action-network sweep on one encoder of this seed (an over_seeds call): this seed's rows of the networks
    of `spec` (robustness.sweep_actions)."""
    networks = robustness.probes_of(spec, run, method, alpha, target="action")
    done = robustness.sweep_actions(run, data, encoder_of(run, method, alpha), method=method, alpha=alpha,
                                    networks=networks, log=log)
    return done[done["network"].isin([p.name for p in networks]) & (done["seed"] == run.cfg.seed)]


def trained_alphas(run: Run, name: str = "bdq") -> list:
    """The alphas at which a game method's encoder was trained in this run (its encoder.pt exists), sorted."""
    method = methods.resolve(name)[0]
    alphas = {r["alpha"] for r in run.results().to_dict("records") if r["method"] == name and r["alpha"] == r["alpha"]}
    return sorted(a for a in alphas if encoder_path(run, a, method.name).is_file())


def adversarial_history(run: Run, alpha: float, method: str = "bdq") -> pd.DataFrame:
    return pd.read_csv(run.adversarial_dir(alpha, method) / "log.csv")


def validate(run: Run, data: DataBundle, encoder, *, method: str, alpha=None, log=print) -> list | None:
    """The validation protocol for one encoder (T and the attack suite), recorded in results.csv.

    Skipped if the encoder's rows are already there. An encoder that is another row's encoder (the method's
    `same_as`: B+D+Q is BDQ itself, a 1-px pixelation is the raw video) gets that row's results recorded under its
    own name, as validation is deterministic for a seed, instead of being computed twice.
    """
    log = log or quiet
    alpha = _alpha_for(methods.resolve(method)[0], alpha, run)
    if run.has_result(method, alpha):
        log(f"[validate {method}] already in {run.results_path.name}; skipped")
        return None
    same_as = recorded_same_encoder(run, method, alpha)
    if same_as is not None:
        rows = [{**r, "method": method, "alpha": alpha} for r in run.rows(*same_as)]
        same_preds = run.predictions()
        same_preds = same_preds[(same_preds["method"] == same_as[0]) & (same_preds["protocol"] == "retrain")
                                & (same_preds["seed"] == run.cfg.seed)
                                & ((same_preds["alpha"].isna()) if same_as[1] is None
                                   else (same_preds["alpha"] == same_as[1]))]
        run.record_predictions(same_preds.assign(method=method, alpha=alpha).to_dict("records"))
        top = run.result(*same_as)
        log(f"[validate {method}] the same encoder as {same_as[0]}"
            + ("" if same_as[1] is None else f" alpha={same_as[1]:g}")
            + f": its rows are recorded (action {top['action_top1']:.3f}, privacy {top['privacy_top1']:.3f})")
        run.record(*rows)
        return rows
    if launches(run.cfg.nproc):  # the processes rebuild the encoder from (method, alpha) and record the rows
        launch_workers(run.cfg.nproc, "validate", run.run_dir, method, *([] if alpha is None else [alpha]), log=log)
        return run.rows(method, alpha)
    store = encoded_store(run, method, alpha)
    rows, predictions = validate_encoder(encoder, data, run.cfg, method=method, alpha=alpha,
                                         checkpoint_dir=run.validation_dir(method, alpha), log=log, budget=run.budget(),
                                         store=store)
    run.record_predictions(predictions)
    run.record(*rows)
    for path in (store, store.with_name(f".{store.name}.lock")):  # E's output is not needed once validated
        path.unlink(missing_ok=True)
    return rows


def recorded_same_encoder(run: Run, method: str, alpha=None):
    """(method, alpha) of the results.csv row whose encoder `method`'s is (its `same_as`: B+D+Q is BDQ itself), if
    that row is recorded for this seed; else None."""
    m, arg = methods.resolve(method)
    same_as = m.same_as(run.cfg, _alpha_for(m, alpha, run), arg) if m.same_as is not None else None
    return same_as if same_as is not None and run.has_result(*same_as) else None


def clean_models(run: Run, data: DataBundle) -> tuple:
    """The raw video's T and attackers (best-validation weights from 03's checkpoints): frozen_clean's models."""
    folder = run.validation_dir("raw")
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
        model = saved_model(probe, state, run.cfg, num_classes(data, probe.target))  # as trained (Standardized)
        models[probe.name if probe.target == "identity" else "action"] = (model.to(resolve_device(run.cfg.device)),
                                                                          probe.level)
    return models.pop("action")[0], models


def frozen_clean(run: Run, data: DataBundle, encoder, *, method: str, alpha=None, models=None) -> list:
    """SPPA's protocol for one encoder, with the raw video's networks (`clean_models`); recorded in results.csv."""
    action, attackers = models or clean_models(run, data)
    rows, predictions = evaluate_frozen_clean(encoder, data, run.cfg, action, attackers, method=method,
                                              alpha=_alpha_for(methods.resolve(method)[0], alpha, run))
    run.record_predictions(predictions)
    run.record(*rows)
    return rows


def probe_histories(run: Run, method: str, alpha=None) -> pd.DataFrame:
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


__all__ = ["STRONGEST", "NOTEBOOK_PARAMETERS", "Run", "start_run", "start_notebook_run", "open_run", "load_data",
           "each_seed", "pretrain", "parse_methods", "encoder_alpha", "trained_alphas", "fit", "encoder_of", "trained_encoder", "evaluate", "validate", "clean_models", "frozen_clean",
           "adversarial_history", "probe_histories", "disk_usage"]
