import pytest
import torch

from bdqlib.config import make_config
from bdqlib.engine import memory
from bdqlib.experiments import plan
from bdqlib.train.probes import Probe, throwaway_probe


@pytest.fixture(scope="module")
def small():
    cfg = make_config("cpu", num_frames=4, size=32, action_width=4, privacy_width=4, batch_size=8, epochs=2,
                      attackers="small2d,small3d")
    return cfg, plan.make_plan(cfg, num_actions=3, num_subjects=4, train_clips=32, device="cpu", steps=1,
                               cache_bytes=2**30)


def test_the_probe_measures_a_real_step(small):
    cfg, _ = small
    one = plan.probe_step(cfg, num_actions=3, num_subjects=4, batch=1, device="cpu", steps=1)
    two = plan.probe_step(cfg, num_actions=3, num_subjects=4, batch=2, device="cpu", steps=1)
    assert 0 < one["saved_bytes"] < two["saved_bytes"]  # activations grow with the batch
    assert one["state_bytes"] == two["state_bytes"] > 2 * one["param_bytes"] - 1  # weights + gradients (+ Adam)
    assert two["flops"] > one["flops"] > 0 and one["input_bytes"] == 3 * 4 * 32 * 32 * 4
    assert one["precision"] == "fp32" and one["cuda_peak_bytes"] is None


def test_the_plan_extrapolates_time_and_disk_to_the_profiles_batch(small):
    cfg, p = small
    assert p["batch"] == 8 and p["fits"] is None and p["memory_gib"] is None  # a CPU: nothing to check against
    assert p["epoch_minutes"] == pytest.approx(32 // 8 * p["step_seconds"] / 60)
    assert p["adversarial_hours"] == pytest.approx(2 * p["epoch_minutes"] / 60)
    assert p["disk_gib"] > 1.0  # the 1 GiB cache, plus checkpoints and the raw video's networks
    text = plan.describe(p)
    assert "measured on cpu" in text and "projected to batch 8" in text and "disk" in text


def test_meta_accounting_equals_the_bytes_a_real_cpu_step_holds():
    """What the plan counts on the meta device (shapes only) is what the same step allocates on real tensors."""
    cfg = make_config("cpu", val_frames="all", channels_last=False)
    meta = plan.account(throwaway_probe(Probe("small2d", "identity", "none"), cfg, (3, 4, 32, 32), 5, "meta"))
    live = plan.LiveBytes()
    make_step = throwaway_probe(Probe("small2d", "identity", "none"), cfg, (3, 4, 32, 32), 5, "cpu")
    with live:
        step = make_step()
        step(1)
        peaks = {}
        for n in (1, 2):
            live.peak = live.now
            step(n)
            peaks[n] = live.peak
    real = memory.line_through(peaks)
    assert meta["per_clip"] == pytest.approx(real["per_clip"], rel=0.02) and meta["per_clip"] > 0
    assert meta["fixed"] == pytest.approx(real["fixed"], rel=0.05, abs=4096)


def test_the_stage_plan_covers_every_stage_and_chooses_micro_batches_per_card():
    cfg = make_config("cpu", num_frames=4, size=32, batch_size=8, attackers="small2d,res2d@scratch,small3d",
                      weights="none", rap_style_count=2)
    table = plan.stage_plan(cfg, num_actions=3, num_subjects=4, unet=dict(width=4, depth=2),
                            cards={"tiny": 0.004, "big": 40.0})
    names = list(table["stage"])
    assert names[:3] == ["game: bdq", "game: bdq_ensemble", "game: alf"]
    assert {"validation: small3d on action", "validation: small2d on identity", "validation: res2d@scratch on identity",
            "validation: small3d on identity", "RAPrivacy", "reconstruction U-Net"} <= set(names)
    assert (table["per_clip_gib"] > 0).all() and (table["big"] == "8").all()  # 40 GB: no accumulation needed
    assert table["tiny"].str.contains(" x |does not fit").all()  # 4 MB: micro-batches, or nothing fits


def test_for_card_halves_the_activations_under_mixed_precision():
    line = {"fixed": 1 * memory.GiB, "per_clip": 2 * memory.GiB}
    assert plan.for_card(line, 16, 20.0, half=False) == 2  # 1 + 2 * 8 = 17 <= 18
    assert plan.for_card(line, 16, 20.0, half=True) == 1   # 1 + 1 * 16 = 17
    assert plan.for_card(line, 16, 1.0, half=True) is None


def test_whole_frames_are_planned_at_the_widest_aspect():
    """CROP frame: clips are S high and as wide as the frame; the plan takes 4:3 (KTH, IXMAS), the widest supported
    aspect, so its memory is an upper bound for Weizmann's 5:4."""
    assert plan.input_hw(make_config("cpu", size=48)) == (48, 48)
    assert plan.input_hw(make_config("cpu", size=48, crop="frame")) == (48, 64)
    assert plan.input_hw(make_config("cpu", size=50, crop="frame")) == (50, 67)
