"""Several GPUs (or CPU processes) with PyTorch's own engine: torchrun and DistributedDataParallel.

With `nproc` > 1 (config; notebook parameter NPROC), a game method's fit (bdqlib.methods.games) and `pipeline.validate` launch
`torchrun --standalone --nproc_per_node=N -m bdqlib.experiments.launch ...` and wait; every process reads the run folder, trains
on its share of each batch, and rank 0 alone writes checkpoints, logs and results.csv -- the same files a single
process writes, so a run can be resumed with another number of processes.

What makes N processes equal one process on the same global batch (tested with gloo on a CPU):
  * the batch order comes from one seeded permutation per epoch (`DistributedSampler`, also with one process), and
    process r takes items r, r + N, ... of it, so the N local batches of a step are exactly the global batch;
  * T, P and the validation networks are wrapped in DDP (gradients averaged over processes); E's 16 numbers get
    their gradients averaged by hooks (DDP cannot wrap a module whose parameters are frozen during the warm-up);
  * losses are means over the local batch, so the average of the N gradients is the global batch's gradient.
Not equal, by design of data parallelism: BatchNorm statistics are per process unless SyncBatchNorm is used
(`sync_batchnorm`, on by default on CUDA; PyTorch's SyncBatchNorm has no CPU kernel), and random augmentation
(crops, frame choice) is drawn per process.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class Dist:
    """This process's place among `world` processes (world 1: no distribution at all)."""
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = Dist()


def init_from_env(device: torch.device | None = None) -> Dist:
    """Join the process group torchrun describes in the environment: nccl when the run trains on CUDA (`device`;
    None: CUDA if there is one), gloo otherwise -- a CPU run on a GPU machine stays on gloo and off the GPUs."""
    if "RANK" not in os.environ:
        return SINGLE
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    on_cuda = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
    if not dist.is_initialized():
        backend = "nccl" if on_cuda else "gloo"
        if on_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend, rank=rank, world_size=world)
    return Dist(rank, world, local)


def device_for(d: Dist, device: torch.device) -> torch.device:
    """One GPU per process (its local rank) on CUDA; the CPU otherwise."""
    return torch.device("cuda", d.local_rank) if device.type == "cuda" and d.active else device


def local_batch(d: Dist, batch_size: int) -> int:
    if batch_size % d.world:
        raise ValueError(f"batch_size {batch_size} must be divisible by the {d.world} processes (each takes an "
                         f"equal share of every batch)")
    return batch_size // d.world


def wrap(model: torch.nn.Module, d: Dist, device: torch.device, *, sync_batchnorm: bool = False):
    """DDP around `model` when distributed (optionally with SyncBatchNorm on CUDA); `model` itself otherwise."""
    if not d.active:
        return model
    if sync_batchnorm and device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def average_gradients_of(module: torch.nn.Module, d: Dist) -> None:
    """Average the gradients of `module`'s parameters over the processes as they are computed (backward hooks)."""
    if not d.active:
        return
    for p in module.parameters():
        p.register_hook(lambda g: _all_reduce_mean(g.clone(), d))


def _all_reduce_mean(t: torch.Tensor, d: Dist) -> torch.Tensor:
    dist.all_reduce(t)
    return t / d.world


def collective_device(d: Dist) -> torch.device:
    """Where the tensors of a collective must be: NCCL reduces CUDA tensors only (this process's GPU), gloo CPU ones."""
    return torch.device("cuda", d.local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")


def mean_over_processes(stats: dict, d: Dist) -> dict:
    """An epoch's per-process mean statistics averaged over the processes (equal local batches)."""
    if not d.active or not stats:
        return stats
    keys = sorted(stats)
    t = torch.tensor([float(stats[k]) for k in keys], dtype=torch.float64, device=collective_device(d))
    dist.all_reduce(t)
    return {k: float(v) / d.world for k, v in zip(keys, t.tolist())}


def agree(flag: bool, d: Dist) -> bool:
    """Rank 0's decision, for all (e.g. whether the time budget stops training before the next epoch)."""
    if not d.active:
        return flag
    t = torch.tensor([int(flag)], device=collective_device(d))
    dist.broadcast(t, 0)
    return bool(t.item())


def barrier(d: Dist) -> None:
    if d.active:
        dist.barrier()


def unwrap(model):
    return model.module if isinstance(model, DistributedDataParallel) else model


def check_nproc(nproc: int, device: torch.device) -> None:
    """NPROC processes need NPROC GPUs on CUDA (one each); an error naming both numbers otherwise."""
    if nproc < 1:
        raise ValueError(f"NPROC must be at least 1, got {nproc}")
    if nproc > 1 and device.type == "cuda" and nproc > torch.cuda.device_count():
        raise ValueError(f"NPROC={nproc} asks for {nproc} GPUs (one per process) but this machine has "
                         f"{torch.cuda.device_count()}: set NPROC to at most {torch.cuda.device_count()}")


def launches(nproc: int) -> bool:
    """Whether a call should launch torchrun: nproc > 1 and not already inside a torchrun process."""
    return nproc > 1 and "RANK" not in os.environ


def launch_workers(nproc: int, task: str, run_dir, *args, log=print) -> None:
    """`python -m bdqlib.experiments.launch TASK RUN_DIR ARGS` in `nproc` processes under torchrun; waits, raises on failure."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "bdqlib.experiments.launch", task, str(run_dir), *map(str, args)]
    log(f"[launch] {nproc} processes: {' '.join(command[2:])}")
    # The workers' output goes through `log` line by line: a notebook cell shows what a child process prints only
    # if the kernel itself prints it.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            log(line.rstrip())
    if proc.returncode != 0:
        raise RuntimeError(f"torchrun {task} {' '.join(map(str, args))} failed (exit {proc.returncode}); its output "
                           f"is above. Re-running resumes from the last checkpoint in {run_dir}")
