from dataclasses import replace

import pytest
import torch

from bdqlib import methods
from bdqlib.experiments import pipeline
from bdqlib.methods.alf import ALFEncoder
from bdqlib.report.complexity import complexity_table


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


def test_alf_is_trained_by_the_same_game_with_restarts(tmp_path, tiny_cfg, tiny_data):
    run = pipeline.Run(replace(tiny_cfg, alf_width=4, alf_blocks=1, alf_restart_every=3), tmp_path / "run",
                       tmp_path / "data")
    cfg = methods.resolve("alf")[0].game(run.cfg, 1.0)
    assert (cfg.encoder, cfg.privacy_restart_every, cfg.alpha) == ("alf", 3, 1.0)
    assert methods.resolve("bdq")[0].game(run.cfg, 1.0).privacy_restart_every == run.cfg.privacy_restart_every
    result = pipeline.fit(run, tiny_data, "alf", 1.0, log=None)
    assert result.status == "completed" and "privacy_restarts" in result.history
    assert (run.adversarial_dir(1.0, "alf") / "encoder.pt").is_file()
    assert not (run.adversarial_dir(1.0) / "encoder.pt").exists()  # BDQ's folder untouched
    loaded = pipeline.encoder_of(run, "alf", 1.0)
    assert isinstance(loaded, ALFEncoder)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), result.encoder.state_dict().values()))
    assert pipeline.fit(run, tiny_data, "elr28", 1.0, log=None) is None  # a fixed encoder: nothing to fit
