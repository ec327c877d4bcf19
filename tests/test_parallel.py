import pandas as pd
import pytest
import torch

from bdqlib.experiments import parallel, pipeline


def _square(x):
    parallel.worker_log("[job]")(f"squaring {x}")
    return x * x


def _fail(x):
    raise ValueError(f"job {x} failed")


def test_plan_workers_shares_the_cores_and_never_exceeds_the_jobs(monkeypatch):
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 8)
    assert parallel.plan_workers(3) == (3, 2)      # one process per job, the cores shared out
    assert parallel.plan_workers(20) == (8, 1)     # one per core
    assert parallel.plan_workers(6, 2) == (2, 4)   # asked for
    assert parallel.plan_workers(1, 4) == (1, 8)   # never more processes than jobs
    assert parallel.plan_workers(6, cuda=True) == (1, 8)  # a GPU: its trainings in one process
    assert parallel.job_threads(3, 2, 1) == [1, 1, 2]   # the last job alone takes both cores
    assert parallel.job_threads(6, 2, 1) == [1] * 6     # full rounds: as planned
    assert parallel.job_threads(7, 3, 2) == [2] * 6 + [6]
    assert parallel.job_threads(2, 2, 1) == [1, 1] and parallel.job_threads(1, 1, 2) == [2]


def test_run_jobs_returns_in_order_forwards_log_lines_and_reraises():
    lines = []
    assert parallel.run_jobs([(_square, 3), (_square, 4), (_square, 5)], workers=2, threads=1,
                             log=lines.append) == [9, 16, 25]
    assert sorted(lines) == ["[job] squaring 3", "[job] squaring 4", "[job] squaring 5"]
    with pytest.raises(ValueError, match="job 2 failed"):
        parallel.run_jobs([(_square, 1), (_fail, 2)], workers=2, threads=1, log=None)


def _run(roots, tiny_cfg, name, workers):
    return pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=roots / name, seeds="0,1",
                              num_frames=4, size=24, cache_short_side=24, weights="none", epochs=2,
                              warmup_epochs=1, batch_size=6, action_width=4, privacy_width=4, privacy_frames=2,
                              val_epochs=1, val_min_epochs=1, attackers="small2d@scratch", action_networks="small3d",
                              seed_workers=workers)


def test_seeds_side_by_side_give_the_rows_of_seeds_one_after_another(roots, tiny_cfg):
    """The same trainings in two processes of one thread and in this process with one thread: the same bits in
    results.csv and predictions.csv (both written by the two processes at once, under the lock)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = _run(roots, tiny_cfg, "one", 1)
        fits, = pipeline.over_seeds(one, (pipeline.fit, "bdq", 1.0), log=None)
        pipeline.over_seeds(one, (pipeline.evaluate, "raw"), log=None)
    finally:
        torch.set_num_threads(threads)
    two = _run(roots, tiny_cfg, "two", 2)
    lines = []
    fits2, evals2 = pipeline.over_seeds(two, (pipeline.fit, "bdq", 1.0), (pipeline.evaluate, "raw"),
                                        log=lines.append)
    assert sorted(fits2) == sorted(evals2) == [0, 1] and all(torch.equal(fits[s].encoder.bins, fits2[s].encoder.bins) for s in (0, 1))
    assert any(line.startswith("[seed 1] ") for line in lines) and any("in 2 processes of" in line for line in lines)

    def table(run, name):
        df = pd.read_csv(run.run_dir / name)
        return df.drop(columns=[c for c in df.columns if "seconds" in c]).sort_values(list(df.columns[:8])) \
            .reset_index(drop=True)
    for name in ("results.csv", "predictions.csv"):
        a, b = table(one, name), table(two, name)
        assert sorted(set(a["seed"])) == [0, 1]
        pd.testing.assert_frame_equal(a, b)


def _stamp(x):
    import time
    start = time.time()
    time.sleep(0.3)
    return x, start, time.time()


def test_run_graph_starts_a_job_after_the_ones_it_comes_after_and_the_ready_ones_by_priority():
    jobs = {"fit": parallel.Job(_stamp, ("fit",)),
            "a": parallel.Job(_stamp, ("a",), after=("fit",)), "b": parallel.Job(_stamp, ("b",), after=("fit",)),
            "low": parallel.Job(_stamp, ("low",), priority=0), "high": parallel.Job(_stamp, ("high",), priority=5)}
    done = parallel.run_graph(jobs, workers=2, log=None)
    assert {k: v[0] for k, v in done.items()} == {k: k for k in jobs}
    assert done["a"][1] >= done["fit"][2] and done["b"][1] >= done["fit"][2]   # after their fit
    assert done["high"][1] <= done["low"][1]                                    # the higher priority first
    with pytest.raises(ValueError, match="not there"):
        parallel.run_graph({"a": parallel.Job(_stamp, ("a",), after=("nothing",))}, workers=2, log=None)
    with pytest.raises(ValueError, match="wait on each other"):
        parallel.run_graph({"a": parallel.Job(_stamp, ("a",), after=("b",)),
                            "b": parallel.Job(_stamp, ("b",), after=("a",))}, workers=2, log=None)
    with pytest.raises(ValueError, match="job 2 failed"):  # and the job after it is not started
        parallel.run_graph({"f": parallel.Job(_fail, (2,)), "g": parallel.Job(_stamp, ("g",), after=("f",))},
                           workers=2, log=None)


def test_suites_side_by_side_give_the_rows_of_suites_trained_in_one_process(roots, tiny_cfg):
    """evaluate_each with two workers trains each fit and each network of each suite as a job of its own (E's
    output shared through a file, removed once the rows are recorded): the rows of the same trainings in one
    process."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = _run(roots, tiny_cfg, "suite-one", 1)
        pipeline.evaluate_each(one, [("raw", None), ("bdq", 1.0)], log=None)
    finally:
        torch.set_num_threads(threads)
    two = _run(roots, tiny_cfg, "suite-two", 2)
    lines = []
    encoders = pipeline.evaluate_each(two, [("raw", None), ("bdq", 1.0)], log=lines.append)
    assert sorted(encoders) == sorted((s, m, a) for s in (0, 1) for m, a in (("raw", None), ("bdq", 1.0)))
    assert any("2 encoders to fit, 8 validation networks" in line for line in lines), lines
    assert not list(two.run_dir.rglob("encoded.pt"))
    for name in ("results.csv", "predictions.csv"):
        a, b = (pd.read_csv(r.run_dir / name) for r in (one, two))
        a, b = (df.drop(columns=[c for c in df.columns if "seconds" in c]).sort_values(list(df.columns[:8]))
                .reset_index(drop=True) for df in (a, b))
        pd.testing.assert_frame_equal(a, b)
