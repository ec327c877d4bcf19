import pytest

from bdqlib import plan
from bdqlib.config import make_config


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


def test_the_plan_extrapolates_to_the_profiles_batch_and_says_what_it_assumed(small):
    cfg, p = small
    assert p["batch"] == 8 and p["fits"] is None and p["memory_gib"] is None  # a CPU: nothing to check against
    per_clip, fixed = p["activations_gib_per_clip"], p["activations_gib_fixed"]
    assert p["peak_gib"] == pytest.approx(plan.OVERHEAD * (p["state_gib"] + fixed + 8 * per_clip)
                                          + plan.OVERHEAD * 8 * 3 * 4 * 32 * 32 * 4 / plan.GiB)
    assert p["epoch_minutes"] == pytest.approx(32 // 8 * p["step_seconds"] / 60)
    assert p["adversarial_hours"] == pytest.approx(2 * p["epoch_minutes"] / 60)
    assert p["disk_gib"] > 1.0  # the 1 GiB cache, plus checkpoints and the raw video's networks
    text = plan.describe(p)
    assert "measured on cpu" in text and "projected to batch 8" in text and "disk" in text


def test_advice_names_a_fitting_batch_and_the_other_levers(small):
    cfg, p = small
    tight = {**p, "memory_gib": p["peak_gib"] / 2, "fits": False, "largest_batch": 3}
    line = plan.advice(tight)
    assert line.startswith("WILL NOT FIT") and "batch_size 3" in line and "amp" in line
    assert "privacy_frames 'one'" in line and "activation_checkpointing" in line
    assert plan.advice({**p, "memory_gib": 1e3, "fits": True}).startswith("fits")
    gpu = plan.for_gpu(p, memory_gib=16.0, tflops=10.0)
    assert gpu["peak_gib"] < p["peak_gib"] and gpu["fits"]  # half-precision activations, on 16 GB
    assert gpu["step_seconds"] == pytest.approx(p["step_tflop"] / 10.0)


def test_tiny_crops_fall_back_to_probing_two_and_four_clips():
    cfg = make_config("cpu", num_frames=4, size=16, action_width=4, privacy_width=4, batch_size=8, attackers="small2d")
    p = plan.make_plan(cfg, num_actions=3, num_subjects=4, train_clips=16, device="cpu", steps=1)
    assert p["peak_gib"] > 0 and p["activations_gib_per_clip"] > 0  # batch 1 would hit BatchNorm's 1x1 limit
