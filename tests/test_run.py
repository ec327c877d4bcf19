"""The run folder: its config check, time budget, SMOKE, the notebooks' parameters; old folders still open."""
import json
import os

import pytest
import torch

from bdqlib.engine.checkpoint import ConfigMismatch
from bdqlib.experiments import run as runs
from bdqlib.experiments.run import SMOKE_OVERRIDES

pipeline = runs  # the tests below read as the notebooks call these: start_run, open_run, ...


def test_parameters_override_smoke_which_overrides_the_profile(roots):
    run = pipeline.start_run(smoke=True, run_dir=roots / "a")
    assert run.cfg.epochs == SMOKE_OVERRIDES["epochs"] and run.cfg.synthetic_subjects == 3
    run = pipeline.start_run(smoke=True, epochs=3, val_epochs=None, run_dir=roots / "b")  # None: not given
    assert run.cfg.epochs == 3 and run.cfg.val_epochs == SMOKE_OVERRIDES["val_epochs"]
    assert json.loads((roots / "b" / "run.json").read_text())["epochs"] == 3


def test_a_run_folder_refuses_other_parameters(roots):
    pipeline.start_run(run_dir=roots / "run", alpha=1.0)
    pipeline.start_run(run_dir=roots / "run", alpha=1.0)  # same parameters: resumes
    with pytest.raises(ConfigMismatch, match="alpha"):
        pipeline.start_run(run_dir=roots / "run", alpha=2.0)


def test_time_budget_from_the_environment_and_on_kaggle(roots, monkeypatch):
    assert pipeline.start_run(run_dir=roots / "a").cfg.time_budget_h == 0
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Batch")
    assert pipeline.start_run(run_dir=roots / "a").cfg.time_budget_h == pipeline.KAGGLE_TIME_BUDGET_H
    monkeypatch.setenv("BDQ_TIME_BUDGET_H", "2.5")
    assert pipeline.start_run(run_dir=roots / "a").cfg.time_budget_h == 2.5  # resuming with another budget is fine


def test_the_time_budget_counts_from_the_sessions_first_notebook(roots, monkeypatch):
    from bdqlib.engine import checkpoint
    first = checkpoint.session_start(roots / "run")
    assert checkpoint.session_start(roots / "run") == first  # a second notebook (kernel) of the session
    budget = checkpoint.TimeBudget(1.0, start=first - 3500)  # 3500 s of the hour used by earlier kernels
    budget.record(200.0)
    assert budget.exhausted() and not checkpoint.TimeBudget(1.0, start=first).exhausted()
    monkeypatch.setattr(checkpoint, "machine_session", lambda: "another-boot")  # the next Kaggle session
    assert checkpoint.session_start(roots / "run") > first
    run = pipeline.start_run(run_dir=roots / "run2", time_budget_h=2.0)
    assert run.budget().seconds == 7200 and run.budget().start == checkpoint.session_start(roots / "run2")


def test_open_run_reads_what_start_run_wrote_and_workers_default_per_platform(roots):
    made = pipeline.start_run(run_dir=roots / "run", alpha=2.0, epochs=3)
    opened = pipeline.open_run(roots / "run")
    assert opened.cfg == made.cfg and opened.run_dir == made.run_dir
    assert made.cfg.num_workers == pipeline.default_workers()
    assert pipeline.default_workers() == (min(os.cpu_count(), 8) if torch.cuda.is_available() else 0)


def test_a_notebook_starts_its_run_from_its_parameters_and_names_a_missing_one(roots):
    params = {name: None for name in pipeline.NOTEBOOK_PARAMETERS}
    params.update(DATASET="synthetic", DATA_DIR="", PROFILE="cpu", ALPHA=2.0, MISSING="error", SEEDS="0",
                  RUN_DIR=str(roots / "nb"), SMOKE=True, NPROC=1, UNRELATED="ignored")
    run = pipeline.start_notebook_run(params)
    assert run.cfg.alpha == 2.0 and run.smoke and run.run_dir == roots / "nb"
    del params["SPLIT"]
    with pytest.raises(NameError, match="SPLIT"):
        pipeline.start_notebook_run(params)


def test_a_run_folder_written_before_protocol_was_renamed_split_opens_and_resumes(roots):
    """`Config.protocol` is `split` now: run.json files of earlier code name it `protocol`."""
    made = runs.start_run(run_dir=roots / "old")
    saved = json.loads((roots / "old" / "run.json").read_text())
    saved["protocol"] = saved.pop("split")
    (roots / "old" / "run.json").write_text(json.dumps(saved))
    assert runs.open_run(roots / "old").cfg == made.cfg
    runs.start_run(run_dir=roots / "old")  # same parameters under the new name: resumes
    with pytest.raises(ConfigMismatch, match="split"):
        runs.start_run(run_dir=roots / "old", split="clip")


def test_alpha_keys_none_for_methods_without_one():
    assert runs.alpha_key(None) is None and runs.alpha_key(float("nan")) is None and runs.alpha_key(1) == 1.0


def test_seeds_are_an_axis_with_their_own_folders_and_run_json_keeps_them_all(roots):
    run = runs.start_run(run_dir=roots / "s", seeds="0,2")
    assert run.seeds == (0, 2) and run.cfg.seed == 0
    other = run.for_seed(2)
    assert other.cfg.seed == 2 and other.run_dir == run.run_dir
    assert run.adversarial_dir(1.0) == roots / "s" / "adversarial" / "alpha_1"  # seed 0: the layout of older runs
    assert other.adversarial_dir(1.0) == roots / "s" / "adversarial" / "seed2" / "alpha_1"
    assert other.validation_dir("raw") == roots / "s" / "validation" / "seed2" / "raw"
    assert [r.cfg.seed for r in run.each_seed()] == [0, 2]
    runs.start_run(run_dir=roots / "s", seeds="1")  # another notebook on another seed: the folder keeps both
    saved = json.loads((roots / "s" / "run.json").read_text())
    assert saved["seeds"] == [0, 1, 2] and "torch" in saved["environment"] and "cpu" in saved["environment"]
    assert saved["commits"] == [saved["environment"]["commit"]]  # one commit so far: listed once
    assert runs.open_run(roots / "s").seeds == (0, 1, 2)
    assert runs.start_run(run_dir=roots / "t").seeds == (0,)  # the cpu profile's SEEDS (the 25-minute limit)
    assert runs.start_run(run_dir=roots / "t2", profile="paper").seeds == (0, 1, 2)  # the paper profile's
    assert runs.start_run(run_dir=roots / "u", smoke=True).seeds == (0, 1)  # SMOKE: two, the multi-seed paths
    # 04-06 take the profile's STUDY_SEEDS when SEEDS is unset: the cpu default's one seed, the paper's three
    assert runs.start_run(run_dir=roots / "v", seeds_default="STUDY_SEEDS").seeds == (0,)
    assert runs.start_run(run_dir=roots / "w", profile="paper", seeds_default="STUDY_SEEDS").seeds == (0, 1, 2)
    assert runs.start_run(run_dir=roots / "v", seeds="0,1", seeds_default="STUDY_SEEDS").seeds == (0, 1)
    assert runs.start_run(run_dir=roots / "x", smoke=True, seeds_default="STUDY_SEEDS").seeds == (0, 1)
    for bad in ("", "0,0", "one"):
        with pytest.raises(ValueError, match="SEEDS"):
            runs.parse_seeds(bad)


def _start(run_dir, seeds, barrier):  # a notebook starting its run in another process (run_all.sh side by side)
    barrier.wait(60)  # all at the same moment, imports done
    runs.start_run(run_dir=run_dir, seeds=seeds)


def test_notebooks_started_together_keep_every_seed_in_run_json(roots):
    """Side-by-side notebooks read-modify-write run.json at the same moment: none of their seeds may be lost
    (without the lock, 6 processes lost seeds in 3 of 3 tries)."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    runs.start_run(run_dir=roots / "together", seeds="0")  # run.json exists, as after 01-03
    barrier = ctx.Barrier(6)
    procs = [ctx.Process(target=_start, args=(roots / "together", str(s), barrier)) for s in range(1, 7)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 6
    assert json.loads((roots / "together" / "run.json").read_text())["seeds"] == list(range(7))


def test_results_of_some_encoders_are_theirs_and_raws(roots):
    run = runs.start_run(run_dir=roots / "r")
    row = {"dataset": "synthetic", "protocol": "retrain", "attacker": "strongest", "split": "video", "seed": 0,
           "action_top1": 0.5, "privacy_top1": 0.5}
    run.record({**row, "method": "raw", "alpha": None}, {**row, "method": "bdq", "alpha": 1.0},
               {**row, "method": "bdq", "alpha": 0.0}, {**row, "method": "sppa", "alpha": None})
    mine = run.results(only=[("bdq", 1), ("sppa", float("nan"))])
    assert sorted(zip(mine["method"], mine["alpha"].fillna(-1))) == [("bdq", 1.0), ("raw", -1), ("sppa", -1)]
    assert len(run.results()) == 4
