from dataclasses import replace

import pandas as pd
import pytest
import torch

from bdqlib.experiments import pipeline
from bdqlib.methods import comparators
from bdqlib.methods.comparators import ELR, ALFEncoder, apply_transform, transform_bank
from bdqlib.methods.naive import make_baseline
from bdqlib.report.complexity import complexity_table
from bdqlib.train.probes import EncodedData


def test_alf_maps_every_frame_to_a_frame_of_the_same_size():
    enc = ALFEncoder(width=4, blocks=1)
    x = torch.randn(2, 3, 5, 16, 24)
    assert enc(x).shape == (2, 3, 5, 16, 24)
    frame_alone = enc(x[:, :, 2:3])  # per frame: a frame's output does not depend on the others
    assert torch.allclose(frame_alone[:, :, 0], enc(x)[:, :, 2], atol=1e-5)
    with pytest.raises(ValueError, match="divisible by 4"):
        enc(torch.randn(1, 3, 2, 18, 16))


def test_alf_at_the_papers_size_has_the_papers_complexity():
    """Width 32 and 4 residual blocks: the paper's Table 1 gives 1.3 M parameters and 166.4 GFLOPs on 16 x 224 x 224;
    ours counts 1.38 M and every convolution (transposed ones included) at 2 FLOPs per multiply-add."""
    row = complexity_table({"alf": ALFEncoder(width=32, blocks=4)}).iloc[0]
    assert abs(row["params"] - 1.3e6) / 1.3e6 < 0.1 and abs(row["flops_conv"] - 166.4e9) / 166.4e9 < 0.1
    assert "transposed ones included" in row["flops_rule"]  # complexity.csv says how it counted


def test_a_half_pixel_shift_of_the_bank_moves_a_pattern_by_half_a_low_resolution_pixel():
    size, resolution = 64, 16  # one low-resolution pixel = 4 px here: half of it = 2 px
    frame = torch.zeros(1, 1, size, size)
    frame[..., 20:28, 30:38] = 1.0  # a bright square, centre (23.5, 33.5)
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")

    def centre(img):
        w = img[0, 0]
        return float((w * ys).sum() / w.sum()), float((w * xs).sum() / w.sum())

    bank = transform_bank(resolution)
    assert torch.equal(bank[0], torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]))  # the identity comes first
    y0, x0 = centre(apply_transform(frame, bank[:1]))
    y1, x1 = centre(apply_transform(frame, bank[1:2]))  # dx = half a low-resolution pixel
    assert (y0, x0) == pytest.approx((23.5, 33.5), abs=1e-3)
    assert (y1 - y0, x1 - x0) == pytest.approx((0.0, -2.0), abs=1e-3)  # content moves by -dx: 2 px to the left
    y2, x2 = centre(apply_transform(frame, bank[2:3]))
    assert (y2 - y0, x2 - x0) == pytest.approx((-2.0, 0.0), abs=1e-3)


def test_elr_is_low_resolution_and_augments_only_in_training_mode():
    enc = make_baseline("elr28", 48)
    assert isinstance(enc, ELR) and enc.resolution == 6  # 28 px at 224 -> 6 px at 48
    x = torch.randn(3, 3, 4, 48, 48)
    out = enc.eval()(x)
    assert torch.equal(out, make_baseline("downsample28", 48)(x))  # eval: the plain 6 x 6 camera, shown at 48 px
    assert torch.equal(enc(x), out)  # eval: the camera as it is, deterministic
    torch.manual_seed(0)
    trained = enc.train()(x)
    assert trained.shape == x.shape and not torch.allclose(trained, out)  # a transform of the bank was applied


def test_training_views_are_encoded_in_training_mode_and_test_clips_in_eval_mode(tiny_cfg, tiny_data):
    enc = make_baseline("elr28", tiny_cfg.size)
    cfg = replace(tiny_cfg, val_views=1)
    cached = EncodedData(enc, tiny_data, cfg, device=torch.device("cpu"), views=1)
    plain = EncodedData(enc, tiny_data, cfg, device=torch.device("cpu"), views=0)
    test_cached = torch.cat([b[0] for b in cached.batches("test")])
    test_plain = torch.cat([b[0] for b in plain.batches("test")])
    assert torch.allclose(test_cached, test_plain, atol=1e-2)  # eval mode both ways
    assert not cached.encoder.training and not plain.encoder.training


def test_alf_is_trained_by_the_same_game_with_restarts(tmp_path, tiny_cfg, tiny_data):
    run = pipeline.Run(replace(tiny_cfg, alf_width=4, alf_blocks=1, alf_restart_every=3), tmp_path / "run",
                       tmp_path / "data")
    cfg = pipeline.game_config(run.cfg, "alf", 1.0)
    assert (cfg.encoder, cfg.privacy_restart_every, cfg.alpha) == ("alf", 3, 1.0)
    assert pipeline.game_config(run.cfg, "bdq", 1.0).privacy_restart_every == run.cfg.privacy_restart_every
    result = pipeline.train_encoder(run, tiny_data, 1.0, log=None, method="alf")
    assert result.status == "completed" and "privacy_restarts" in result.history
    assert (run.adversarial_dir(1.0, "alf") / "encoder.pt").is_file()
    assert not (run.adversarial_dir(1.0) / "encoder.pt").exists()  # BDQ's folder untouched
    loaded = pipeline.encoder_of(run, "alf", 1.0)
    assert isinstance(loaded, ALFEncoder)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), result.encoder.state_dict().values()))
    with pytest.raises(ValueError, match="trains bdq, bdq_ensemble, alf, not .elr28."):
        pipeline.game_config(run.cfg, "elr28", 1.0)


def test_notebook_parameters_and_the_computed_comparison():
    assert comparators.comparator_alphas(None, 2.0) == [2.0] and comparators.comparator_alphas("", 1.0) == []
    assert comparators.comparator_alphas(None, 1.0, "cpu") == [] and comparators.comparator_alphas("1", 1.0, "cpu") == [1.0]
    assert comparators.comparator_names(None, "paper") == ["elr112", "elr56", "elr28", "elr14", "elr7", "elr4"]
    assert comparators.comparator_names("", "cpu") == [] and comparators.comparator_names(None, "cpu") == []
    assert comparators.system_names(None, "cpu") == ["sppa", "masking", "raprivacy"]
    assert comparators.system_names(None, "paper") == ["sppa", "sppa_iid", "masking", "raprivacy"]
    with pytest.raises(ValueError, match="SYSTEMS"):
        comparators.system_names("sppa,yolo", "cpu")
    with pytest.raises(ValueError, match="elr<resolution"):
        comparators.comparator_names("elr28,downsample28", "cpu")
    with pytest.raises(ValueError, match="ALF_ALPHAS"):
        comparators.comparator_alphas("one", 1.0)
    base = {"protocol": "retrain", "strongest_attacker": "small2d", "alpha": float("nan")}
    results = pd.DataFrame([{**base, "method": "bdq", "alpha": 1.0, "action_top1": 0.7, "privacy_top1": 0.4},
                            {**base, "method": "alf", "alpha": 1.0, "action_top1": 0.6, "privacy_top1": 0.5},
                            {**base, "method": "elr28", "action_top1": 0.8, "privacy_top1": 0.3}])
    text = comparators.compare_with_bdq(results, 1.0, ["alf", "elr28"])
    assert "alf alpha=1: action 0.600" in text and "dominated by BDQ" in text
    assert "elr28: action 0.800" in text and "at least as good as BDQ on both axes" in text
