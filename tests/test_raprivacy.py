"""RAPrivacy: AdaAttN, its losses and its two-phase training (bdqlib.nets.adaattn, bdqlib.methods.raprivacy)."""
from dataclasses import replace

import pytest
import torch

from bdqlib.engine.checkpoint import ConfigMismatch
from bdqlib.methods import raprivacy as raprivacy_train
from bdqlib.nets import adaattn as raprivacy


def test_adaattn_shapes_and_keys_up_to():
    feats = [torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)]
    key = raprivacy.keys_up_to(feats, 2)
    assert key.shape == (2, 28, 4, 4)
    m = raprivacy.AdaAttN(16, 28)
    out = m(feats[2], torch.randn(2, 16, 6, 6), key, torch.randn(2, 28, 6, 6))
    assert out.shape == (2, 16, 4, 4)


def test_uniform_attention_gives_the_style_statistics():
    """With zero projections the attention is uniform: every position gets the style's global mean and std, so
    the output's per-channel statistics are the style's (AdaIN as AdaAttN's special case)."""
    m = raprivacy.AdaAttN(3, 5)
    for conv in (m.f, m.g):
        torch.nn.init.zeros_(conv.weight), torch.nn.init.zeros_(conv.bias)
    torch.nn.init.dirac_(m.h.weight), torch.nn.init.zeros_(m.h.bias)
    content, style = torch.randn(1, 3, 6, 6), torch.randn(1, 3, 5, 5) * 3 + 2
    out = m(content, style, torch.randn(1, 5, 6, 6), torch.randn(1, 5, 5, 5))
    mean_o, std_o = raprivacy.mean_std(out)
    mean_s, std_s = raprivacy.mean_std(style)
    assert torch.allclose(mean_o, mean_s, atol=1e-4) and torch.allclose(std_o, std_s, atol=1e-3)


def test_contrastive_loss_on_hand_made_features():
    orth = torch.eye(4).view(2, 2, 4)  # clip 0: e0, e1; clip 1: e2, e3 -- every distance sqrt(2)
    # positives: 2 pairs at D^2 = 2; negatives: 4 pairs at max(0, 1 - 1.414) = 0 -> (2 + 2) / 6
    assert raprivacy.contrastive(orth, margin=1.0).item() == pytest.approx(4 / 6, abs=1e-5)
    same = torch.ones(2, 2, 4)  # all equal: positives 0, negatives (m - 0)^2 = 4 at m = 2
    assert raprivacy.contrastive(same, margin=2.0).item() == pytest.approx(4 * 4 / 6, abs=1e-5)


def test_anonymiser_shapes_and_style_loss_is_finite(tiny_cfg):
    a = raprivacy_train.make_anonymiser(replace(tiny_cfg, rap_style_count=3))
    assert a.styles.shape == (3, 3, tiny_cfg.size, tiny_cfg.size)
    x = torch.randn(2, 3, tiny_cfg.num_frames, tiny_cfg.size, tiny_cfg.size)
    out = a(x)
    assert out.shape == x.shape
    frames = torch.randn(4, 3, tiny_cfg.size, tiny_cfg.size)
    styled, (fc, fs) = a.stylise(frames, a.styles[:1])
    loss = a.style_loss(styled, fc, fs, lambda_global=10, lambda_local=3)
    loss.backward()
    assert torch.isfinite(loss) and a.decoder.out.weight.grad is not None
    assert all(p.grad is None for p in a.encoder.parameters())  # frozen


def test_raprivacy_resumes_exactly_and_refuses_another_config(tiny_cfg, tiny_data, tmp_path, monkeypatch):
    cfg = replace(tiny_cfg, rap_epochs=2, rap_style_count=3)
    whole = raprivacy_train.train_raprivacy(cfg, tiny_data, tmp_path / "whole", log=None)
    real, calls = raprivacy_train.run_epoch, []

    def interrupted(*args, **kwargs):  # the session dies during epoch 2
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(raprivacy_train, "run_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        raprivacy_train.train_raprivacy(cfg, tiny_data, tmp_path / "split", log=None)
    assert not (tmp_path / "split" / "anonymiser.pt").exists()  # nothing half-done is left as a result
    monkeypatch.setattr(raprivacy_train, "run_epoch", real)
    with pytest.raises(ConfigMismatch):
        raprivacy_train.train_raprivacy(replace(cfg, rap_margin=0.5), tiny_data, tmp_path / "split", log=None)
    resumed = raprivacy_train.train_raprivacy(cfg, tiny_data, tmp_path / "split", log=None)
    assert whole.status == resumed.status == "completed" and len(resumed.history) == 2
    for (k, v), w in zip(whole.anonymiser.state_dict().items(), resumed.anonymiser.state_dict().values()):
        assert torch.equal(v, w), k
    assert (tmp_path / "split" / "anonymiser.pt").is_file() and (tmp_path / "split" / "log.csv").is_file()


def test_style_bank_reads_depth_frames_and_on_sbu_takes_its_own(tmp_path):
    from bdqlib.config import make_config
    from bdqlib.data.layouts import write_sbu_like
    root = write_sbu_like(tmp_path / "sbu", sets=("s01s02",), frames=4, short=0, log=None)
    cfg = make_config("cpu", dataset="sbu", data_dir=str(root), rap_style_count=3)
    bank = raprivacy_train.style_bank(cfg)
    assert bank.shape == (3, 3, cfg.size, cfg.size)
    assert torch.allclose(bank[:, 0], bank[:, 1])  # SBU's depth frames: grey
    with pytest.raises(FileNotFoundError, match="rap_styles"):
        raprivacy_train.style_bank(make_config("cpu", rap_styles=str(tmp_path / "empty")))
