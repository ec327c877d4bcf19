"""DDP on a CPU with gloo: N processes on their shares of each batch equal one process on the global batch."""
import os
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp

from bdqlib.config import make_config
from bdqlib.core.encoder import BDQEncoder
from bdqlib.engine.distributed import Dist, local_batch, mean_over_processes
from bdqlib.train.game import train_adversarial
from bdqlib.train.probes import EncodedData, Probe, train_probe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fixed_data():
    """16 training and 8 validation clips of fixed random values: no augmentation, so the only randomness left is
    the batch order, which the sampler shares."""
    g = torch.Generator().manual_seed(123)

    def split(n):
        return torch.utils.data.TensorDataset(torch.randn(n, 3, 4, 16, 16, generator=g),
                                              torch.randint(3, (n,), generator=g), torch.randint(2, (n,), generator=g))
    return SimpleNamespace(train=split(16), val=split(8), test=split(8), num_actions=3, num_subjects=2)


def config():
    # amp off: on a CPU with AVX-512 BF16 "auto" trains the probe in bf16, whose sums over two shares of a batch are
    # not those over the whole one to 1e-4; what is tested here is the split, in fp32
    return make_config("cpu", weights="none", amp="off", num_frames=4, size=16, epochs=2, warmup_epochs=1, batch_size=8,
                       action_width=4, privacy_width=4, privacy_frames="all", eval_every=1, val_epochs=2,
                       val_min_epochs=2, val_views=1, val_frames="all", attackers="small2d")


def worker(rank, world, port, out, task):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    # BatchNorm normalises each process's share separately (SyncBatchNorm has no CPU kernel): without it, the
    # processes' arithmetic is the single process's, which is what is tested here.
    torch.nn.BatchNorm2d = torch.nn.BatchNorm3d = lambda *a, **k: torch.nn.Identity()
    torch.set_num_threads(1)
    d, data, cfg = Dist(rank, world, rank), fixed_data(), config()
    if task == "game":
        result = train_adversarial(cfg, data, out, log=None, dist=d)
        state = {"encoder": result.encoder.state_dict(), "action": result.action.state_dict(),
                 "privacy": result.privacy.state_dict(), "history": result.history.to_dict("list")}
    else:
        encoded = EncodedData(BDQEncoder(), data, cfg, device=torch.device("cpu"), views=1)
        probe = train_probe(Probe("small2d", "identity", "none"), encoded, cfg, dist=d)
        state = {"model": probe.model.state_dict(), "val": probe.val_top1, "test": probe.test_top1}
    if rank == 0:
        torch.save(state, os.path.join(out, "state.pt"))
    torch.distributed.destroy_process_group()


def run_world(world, tmp_path, task):
    out = tmp_path / f"{task}-{world}"
    out.mkdir()
    mp.spawn(worker, args=(world, free_port(), str(out), task), nprocs=world, join=True)
    return torch.load(out / "state.pt", weights_only=False)


@pytest.mark.parametrize("task", ["game", "probe"])
def test_two_processes_equal_one_on_the_same_global_batch(tmp_path, task):
    one, two = run_world(1, tmp_path, task), run_world(2, tmp_path, task)
    for key in [k for k in one if isinstance(one[k], dict) and k != "history"]:
        assert one[key].keys() == two[key].keys()
        for name in one[key]:
            torch.testing.assert_close(two[key][name], one[key][name], rtol=1e-4, atol=1e-5, msg=f"{key}.{name}")
    if task == "game":
        moved = one["encoder"]["bin_centres"] - (torch.arange(15) + 0.5)
        assert moved.abs().max() > 0  # E learned in the epoch after the warm-up, identically in both
        for column in ("loss_action", "entropy", "loss_privacy", "val_action_top1"):
            torch.testing.assert_close(torch.tensor(two["history"][column]), torch.tensor(one["history"][column]),
                                       rtol=1e-4, atol=1e-5)
    else:
        assert (one["val"], one["test"]) == (two["val"], two["test"])


def test_batch_must_split_evenly_and_single_process_helpers_are_identities():
    with pytest.raises(ValueError, match="divisible by the 3 processes"):
        local_batch(Dist(0, 3, 0), 16)
    assert local_batch(Dist(1, 2, 1), 16) == 8 and local_batch(Dist(), 16) == 16
    assert mean_over_processes({"a": 1.5}, Dist()) == {"a": 1.5}


def test_the_launch_path_trains_in_two_processes_and_the_notebook_process_reads_the_result(tmp_path, tiny_cfg,
                                                                                            monkeypatch):
    from bdqlib.experiments import pipeline
    from bdqlib.methods.games import encoder_path
    monkeypatch.setenv("BDQ_DATA_ROOT", str(tmp_path / "data"))
    run = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=tmp_path / "run", num_frames=4,
                             size=24, cache_short_side=24, weights="none", epochs=1, warmup_epochs=0, batch_size=6,
                             action_width=4, privacy_width=4, privacy_frames=2, nproc=2, num_workers=0,
                             device="cpu")  # gloo on the CPU, also on a GPU machine with one GPU
    data = pipeline.load_data(run, log=None)
    lines = []
    result = pipeline.fit(run, data, "bdq", 1.0, log=lines.append)
    assert any("[launch] 2 processes" in line for line in lines) and result.status == "completed"
    assert encoder_path(run, 1.0, "bdq").is_file() and len(result.history) == 1
    again = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=tmp_path / "run", num_frames=4,
                               size=24, cache_short_side=24, weights="none", epochs=1, warmup_epochs=0, batch_size=6,
                               action_width=4, privacy_width=4, privacy_frames=2, nproc=1, num_workers=0,
                               device="cpu")
    lines.clear()
    same = pipeline.fit(again, data, "bdq", 1.0, log=lines.append)  # one process now: resumes, nothing to do
    assert not any("[launch]" in line for line in lines) and same.history.equals(result.history)


@pytest.mark.parametrize("backend, expected", [("nccl", torch.device("cuda", 1)), ("gloo", torch.device("cpu"))])
def test_collectives_put_their_tensors_on_the_process_groups_device(monkeypatch, backend, expected):
    """NCCL (Kaggle's 2 x T4) reduces CUDA tensors only: agree and mean_over_processes must not hand it CPU ones."""
    import bdqlib.engine.distributed as distributed
    monkeypatch.setattr(torch.distributed, "get_backend", lambda *a, **k: backend)
    d = Dist(1, 2, 1)
    assert distributed.collective_device(d) == expected
    seen = []
    monkeypatch.setattr(distributed, "collective_device", lambda d: torch.device("meta"))  # stands in for CUDA
    monkeypatch.setattr(torch.distributed, "all_reduce", lambda t, *a, **k: seen.append(t.device))
    monkeypatch.setattr(torch.distributed, "broadcast", lambda t, *a, **k: seen.append(t.device))
    monkeypatch.setattr(torch.Tensor, "item", lambda self: 0)
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: [0.0] * self.numel())
    distributed.agree(False, d)
    distributed.mean_over_processes({"loss": 1.0}, d)
    assert seen == [torch.device("meta")] * 2


def test_nproc_is_checked_against_the_gpus(monkeypatch):
    from bdqlib.engine.distributed import check_nproc
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="NPROC=2 asks for 2 GPUs .* has 1"):
        check_nproc(2, torch.device("cuda"))
    check_nproc(2, torch.device("cpu"))  # gloo processes on a CPU: any number
    check_nproc(1, torch.device("cuda"))
    with pytest.raises(ValueError, match="at least 1"):
        check_nproc(0, torch.device("cpu"))


def test_loader_workers_are_shared_out_among_the_processes(monkeypatch):
    from bdqlib.experiments import run
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(run.os, "cpu_count", lambda: 4)  # Kaggle's 4 vCPUs
    assert run.default_workers(1) == 4 and run.default_workers(2) == 2
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run.default_workers(2) == 0
