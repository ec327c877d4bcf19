"""Independent trainings side by side: a process pool whose workers log through the caller.

On a CPU the small networks of the cpu profile scale badly across threads, while the seeds of a run (and the
encoders of one seed) are independent trainings: several processes of fewer threads each finish them sooner than
one process with all the cores (bench/bench_seed_workers.py measures it). The standard library's process pool does
the scheduling; this module adds only what a notebook needs from it -- each worker's log lines printed by the
notebook process as they come (a worker's own stdout would not reach the saved notebook), and the threads per
worker set before it computes anything.
"""
from __future__ import annotations

import multiprocessing
import os
import queue as queues
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable

import torch

POLL_S = 0.5  # how often the notebook process prints the workers' lines while they run


def plan_workers(jobs: int, requested: int = 0, *, cuda: bool = False) -> tuple:
    """(worker processes, threads each) for `jobs` independent trainings. requested > 0 is taken as given (at most
    one per job); 0 is automatic: one process on a GPU (its trainings share the device; run seeds as separate jobs
    there), otherwise one per core up to the number of jobs, the cores shared out among them."""
    cores = os.cpu_count() or 1
    workers = requested if requested > 0 else (1 if cuda else cores)
    workers = max(1, min(workers, jobs))
    return workers, max(1, cores // workers)


def _init(threads: int, lines) -> None:
    torch.set_num_threads(threads)
    global _LINES
    _LINES = lines


_LINES = None


def worker_log(prefix: str):
    """In a worker: a log function whose lines the notebook process prints (prefixed, e.g. "[seed 1]")."""
    return lambda message: _LINES.put(f"{prefix} {message}")


def run_jobs(jobs: list, *, workers: int, threads: int, log=print) -> list:
    """Call every job (function, *args) -- module-level functions and picklable arguments -- in `workers` spawned
    processes of `threads` threads each; returns their results in the order of `jobs`. A job that raises re-raises
    here (after the jobs already running have finished) with its traceback. The jobs' lines sent through
    `worker_log` are passed to `log` while they run."""
    graph = {i: Job(job[0], tuple(job[1:]), threads=n)
             for i, (job, n) in enumerate(zip(jobs, job_threads(len(jobs), workers, threads)))}
    done = run_graph(graph, workers=workers, log=log)
    return [done[i] for i in range(len(jobs))]


@dataclass
class Job:
    """One training of run_graph: function(*args), started once the jobs named in `after` have finished, before
    the ready ones of lower `priority`; `threads` None: the cores shared among the jobs not yet finished."""
    function: Callable
    args: tuple = ()
    after: tuple = ()
    priority: float = 0.0
    threads: int | None = None


def run_graph(jobs: dict, *, workers: int, log=print) -> dict:
    """Run the Jobs of `jobs` (key -> Job) in `workers` spawned processes, each once the jobs it comes after have
    finished; of the ready ones, the highest priority first (ties: the order of `jobs`). A job started with
    threads=None gets the cores shared among the jobs not yet finished (at least one each). Returns key -> result.
    A job that raises re-raises here, after the running ones have finished; the ones not started are dropped.
    The jobs' `worker_log` lines are passed to `log` while they run."""
    unknown = {a for job in jobs.values() for a in job.after if a not in jobs}
    if unknown:
        raise ValueError(f"jobs come after jobs that are not there: {sorted(map(str, unknown))}")
    cores, order = os.cpu_count() or 1, {key: i for i, key in enumerate(jobs)}
    waiting, running, results = dict(jobs), {}, {}
    context = multiprocessing.get_context("spawn")  # fork is unsafe with torch's thread pools
    with context.Manager() as manager:
        lines = manager.Queue()
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(1, lines)) as pool:
            failed = None
            while waiting or running:
                ready = sorted((k for k, j in waiting.items() if all(a in results for a in j.after)),
                               key=lambda k: (-waiting[k].priority, order[k]))
                while ready and len(running) < workers and failed is None:
                    key = ready.pop(0)
                    job = waiting.pop(key)
                    unfinished = len(waiting) + len(running) + 1
                    threads = job.threads or max(1, cores // min(workers, unfinished))
                    running[pool.submit(_call, threads, job.function, *job.args)] = key
                if not running:
                    if failed is not None or not waiting:
                        break
                    raise ValueError(f"jobs wait on each other: {sorted(map(str, waiting))}")
                finished, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
                _drain(lines, log)
                for future in finished:
                    key = running.pop(future)
                    if future.exception() is not None:
                        failed = failed or future
                    else:
                        results[key] = future.result()
            _drain(lines, log)
            if failed is not None:
                failed.result()  # re-raises the job's exception
    return results


def job_threads(jobs: int, workers: int, threads: int) -> list:
    """Threads for each job, in submission order: `threads`, except the last round when it has fewer jobs than
    workers -- those share out the cores the others leave (3 jobs on 2 cores: 1, 1, 2), so no core idles while
    the last job runs alone."""
    tail = jobs % workers if jobs > workers else 0
    if not tail:
        return [threads] * jobs
    return [threads] * (jobs - tail) + [max(threads, threads * workers // tail)] * tail


def _call(threads: int, function, *args):
    torch.set_num_threads(threads)
    return function(*args)


def _drain(lines, log) -> None:
    while True:
        try:
            message = lines.get_nowait()
        except queues.Empty:
            return
        if log:
            log(message)
