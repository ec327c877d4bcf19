"""Fitting a stage into a GPU's memory: the choice, the refusal, and the throwaway steps every stage measures."""
from dataclasses import replace

import pytest
import torch

from bdqlib import BDQEncoder
from bdqlib.engine import memory
from bdqlib.methods.alf import make_alf
from bdqlib.methods.raprivacy import throwaway_raprivacy
from bdqlib.train.game import throwaway_game
from bdqlib.train.probes import Probe, throwaway_probe
from bdqlib.train.reconstruct import throwaway_unet

GiB = memory.GiB


def test_choose_accum_takes_the_fewest_equal_micro_batches_that_fit():
    # 16 clips of 1 GiB each over 2 GiB fixed: 16 GiB usable holds 14 clips -> 2 micro-batches of 8
    assert memory.choose_accum(16, fixed=2 * GiB, per_clip=GiB, available=16 * GiB) == 2
    assert memory.choose_accum(16, fixed=2 * GiB, per_clip=GiB, available=100 * GiB) == 1
    assert memory.choose_accum(16, fixed=2 * GiB, per_clip=GiB, available=3.5 * GiB) == 16  # one clip at a time
    assert memory.choose_accum(16, fixed=2 * GiB, per_clip=GiB, available=2.5 * GiB) is None
    assert memory.choose_accum(12, fixed=0, per_clip=GiB, available=5 * GiB) == 3  # micro 4 (a divisor of 12)


def test_a_line_through_two_measured_peaks():
    line = memory.line_through({1: 5 * GiB, 2: 7 * GiB})
    assert line["fixed"] == 3 * GiB and line["per_clip"] == 2 * GiB
    assert memory.line_through({1: 5 * GiB, 2: None})["per_clip"] == 5 * GiB  # conservative: all of it per clip
    assert memory.line_through({1: None, 2: None})["per_clip"] is None


def test_fit_is_one_on_a_cpu_and_measured_on_cuda(monkeypatch):
    assert memory.fit("the game", 16, lambda: None, "cpu") == 1
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d: type("P", (), {"total_memory": 16 * GiB}))
    monkeypatch.setattr(torch.random, "fork_rng", lambda **k: __import__("contextlib").nullcontext())
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(memory, "measure_cuda", lambda step, device, micros: memory.line_through(
        {1: 3 * GiB, 2: 4 * GiB}))
    lines = []
    assert memory.fit("the game", 16, lambda: (lambda n: None), "cuda", log=lines.append) == 2  # 2 + 8 = 10 GiB
    assert "batch 16 as 2 micro-batch(es) of 8" in lines[0]
    monkeypatch.setattr(memory, "measure_cuda", lambda step, device, micros: memory.line_through(
        {1: 15 * GiB, 2: 20 * GiB}))
    with pytest.raises(memory.StageWontFit, match="does not fit on this 16.0 GiB GPU even one clip.*AMP.*"
                                                  "PRIVACY_FRAMES.*VAL_FRAMES.*CHECKPOINTING"):
        memory.fit("the game", 16, lambda: (lambda n: None), "cuda")


def test_resolve_keeps_a_set_accumulation_and_checks_it_divides_the_batch():
    assert memory.resolve(4, "x", 16, None, "cpu") == 4
    assert memory.resolve(0, "x", 16, None, "cpu") == 1  # auto on a CPU
    with pytest.raises(ValueError, match="ACCUM=3 must divide the batch of 16"):
        memory.resolve(3, "x", 16, None, "cpu")


def test_every_stage_has_a_throwaway_step_that_runs_at_one_and_more_clips(tiny_cfg):
    """What memory.fit measures on a GPU, run on the CPU: the game (paper's, hardened, ALF), a frame-level and a
    clip-level validation network, RAPrivacy and the U-Net each build throwaway networks and take a step at 1 and 2
    clips."""
    cfg = replace(tiny_cfg, rap_style_count=2)
    makers = {
        "game": throwaway_game(cfg, 3, 4, torch.device("cpu")),
        "hardened game": throwaway_game(replace(cfg, privacy_ensemble="small3d,res2d@scratch"), 3, 4, "cpu"),
        "alf": throwaway_game(replace(cfg, encoder="alf", alf_width=4, alf_blocks=1), 3, 4, "cpu", make_alf),
        "frame probe": throwaway_probe(Probe("small2d"), cfg, (3, 3, 24, 24), 4, "cpu"),
        "clip probe": throwaway_probe(Probe("small3d", "action", "none"), cfg, (3, 3, 24, 24), 3, "cpu"),
        "raprivacy": throwaway_raprivacy(cfg, 3, 4, "cpu"),
        "unet": throwaway_unet(BDQEncoder(), (3, 4, 24, 24), 3, 3, cfg, width=2, depth=1, device="cpu"),
    }
    for name, make_step in makers.items():
        with torch.random.fork_rng():
            step = make_step()
            for n in (2, 3):  # BatchNorm needs two values per channel at the smallest map
                step(n)
