"""DDP on a CPU with gloo: N processes on their shares of each batch equal one process on the global batch."""
import os
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp

from bdqlib.adversarial import train_adversarial
from bdqlib.attacks import EncodedData, Probe, train_probe
from bdqlib.config import make_config
from bdqlib.distributed import Dist, local_batch, mean_over_processes
from bdqlib.encoder import BDQEncoder


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
    return make_config("cpu", weights="none", num_frames=4, size=16, epochs=2, warmup_epochs=1, batch_size=8,
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
    from bdqlib import pipeline
    monkeypatch.setenv("BDQ_DATA_ROOT", str(tmp_path / "data"))
    run = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=tmp_path / "run", num_frames=4,
                             size=24, cache_short_side=24, weights="none", epochs=1, warmup_epochs=0, batch_size=6,
                             action_width=4, privacy_width=4, privacy_frames=2, nproc=2, num_workers=0)
    data = pipeline.load_data(run, log=None)
    lines = []
    result = pipeline.train_encoder(run, data, 1.0, log=lines.append)
    assert any("[launch] 2 processes" in line for line in lines) and result.status == "completed"
    assert pipeline.encoder_path(run, 1.0).is_file() and len(result.history) == 1
    again = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=tmp_path / "run", num_frames=4,
                               size=24, cache_short_side=24, weights="none", epochs=1, warmup_epochs=0, batch_size=6,
                               action_width=4, privacy_width=4, privacy_frames=2, nproc=1, num_workers=0)
    lines.clear()
    same = pipeline.train_encoder(again, data, 1.0, log=lines.append)  # one process now: resumes, nothing to do
    assert not any("[launch]" in line for line in lines) and same.history.equals(result.history)
