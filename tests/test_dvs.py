import math

import pytest
import torch

from bdqlib import methods
from bdqlib.methods.dvs import LOG_EPS, EventCamera, event_method, log_intensity, simulate_events


def pixel(values):
    """One pixel's log intensity over time as a (T, 1, 1) tensor."""
    return torch.tensor(values, dtype=torch.float64).view(-1, 1, 1)


def test_a_ramp_crossing_k_thresholds_fires_k_events_of_its_sign():
    # log intensity 0 -> 1.6 in one frame with C = 0.5: three whole thresholds crossed, 0.1 left over
    assert simulate_events(pixel([0.0, 1.6]), 0.5).flatten().tolist() == [3.0]
    assert simulate_events(pixel([0.0, -1.6]), 0.5).flatten().tolist() == [-3.0]  # OFF events
    # spread over frames: 0.3 (nothing yet), 0.6 (one), 1.75 (two more: the reference is at 0.5, 1.75 - 0.5 = 1.25)
    assert simulate_events(pixel([0.0, 0.3, 0.6, 1.75]), 0.5).flatten().tolist() == [0.0, 1.0, 2.0]


def test_no_event_below_threshold_however_long_it_wiggles():
    wiggle = pixel([0.0, 0.4, -0.4, 0.45, -0.45, 0.0])
    assert simulate_events(wiggle, 0.5).abs().sum() == 0


def test_the_reference_is_reset_to_the_last_event_level_not_to_the_current_intensity():
    # 0 -> 0.7: one event, reference 0.5 (not 0.7). Back down to 0.1: 0.1 - 0.5 = -0.4, no event yet;
    # had the reference been reset to 0.7, -0.6 would have fired one OFF event.
    assert simulate_events(pixel([0.0, 0.7, 0.1]), 0.5).flatten().tolist() == [1.0, 0.0]
    # then 0.7 -> -0.05: from reference 0.5, -0.55 crosses one threshold down
    assert simulate_events(pixel([0.0, 0.7, -0.05]), 0.5).flatten().tolist() == [1.0, -1.0]


def test_bad_threshold_or_too_few_frames_are_refused():
    with pytest.raises(ValueError, match="threshold"):
        simulate_events(pixel([0.0, 1.0]), 0.0)
    with pytest.raises(ValueError, match="2 frames"):
        simulate_events(pixel([0.0]), 0.5)
    with pytest.raises(ValueError, match="threshold"):
        EventCamera(-1)


def test_event_camera_undoes_the_normalisation_and_counts_on_off_per_interval():
    mean, std = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)
    grey = torch.full((1, 3, 3, 2, 2), 0.2, dtype=torch.float64)  # grey level 0.2 everywhere
    grey[:, :, 1, 0, 0] = 0.2 * math.e  # pixel (0, 0) brightens by exactly one natural-log unit, then returns
    video = (grey - 0.45) / 0.225
    out = EventCamera(0.3, mean=mean, std=std)(video)
    assert out.shape == (1, 3, 2, 2, 2)  # (B, ON/OFF/signed, T-1, H, W)
    # log(0.2 e + eps) - log(0.2 + eps) is a bit under 1: three events up, then three down (reference reset)
    step = math.log(0.2 * math.e + LOG_EPS) - math.log(0.2 + LOG_EPS)
    assert int(step / 0.3) == 3
    assert out[0, :, 0, 0, 0].tolist() == [3.0, 0.0, 3.0] and out[0, :, 1, 0, 0].tolist() == [0.0, 3.0, -3.0]
    assert out[0, :, :, 1, 1].abs().sum() == 0  # a constant pixel fires nothing
    assert torch.allclose(log_intensity(video, mean, std)[0, 0], torch.log(torch.tensor(0.2 + LOG_EPS,
                                                                                         dtype=torch.float64)))


def test_higher_thresholds_fire_fewer_events_on_real_looking_video():
    torch.manual_seed(0)
    video = torch.randn(2, 3, 6, 16, 16)
    counts = [EventCamera(t)(video)[:, :2].sum().item() for t in (0.1, 0.3, 0.9)]
    assert counts[0] > counts[1] > counts[2] > 0


def test_method_names_round_trip():
    assert event_method(0.5) == "dvs_0.5" and methods.resolve("dvs_0.5") == (methods.REGISTRY["dvs"], 0.5)
    assert methods.resolve("bdq")[0].name == "bdq" and not methods.is_method("dvs_x")
