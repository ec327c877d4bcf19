import hashlib

import pytest
import torch

from bdqlib.config import make_config
from bdqlib.nets import registry, weights
from bdqlib.nets.small import small2d, small3d
from bdqlib.nets.zoo import (
    PretrainedWeightsUnavailable,
    build_model,
    init_weights,
    make_models,
    model_level,
    privacy_logits,
    small_weights_file,
    video_frames,
)

action_model = privacy_model = build_model


def test_small_models_return_logits_of_the_right_shape():
    x = torch.randn(2, 3, 6, 32, 32)
    assert small3d(6)(x).shape == (2, 6)
    assert privacy_logits(small2d(10), x).shape == (2, 6, 10)
    frames = video_frames(x)
    assert frames.shape == (12, 3, 32, 32) and torch.equal(frames[7], x[1, :, 1])  # clip-major, then time


@pytest.mark.parametrize("name", ["i3d_r50", "r3d_18"])
def test_big_action_models_take_any_clip_size(name):
    model = action_model(name, 6).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 4, 64, 64)).shape == (1, 6)  # i3d's fixed 4x7x7 pool is adaptive now


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_big_privacy_models(name):
    with torch.no_grad():
        assert privacy_model(name, 25).eval()(torch.randn(2, 3, 64, 64)).shape == (2, 25)


def test_weights_from_a_local_file_with_checksum(tmp_path):
    source = privacy_model("resnet18", 1000)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    model = privacy_model("resnet18", 7, weights=str(path), sha256=digest)
    assert torch.equal(model.conv1.weight, source.conv1.weight) and model.fc.out_features == 7
    with pytest.raises(ValueError, match="SHA-256"):
        privacy_model("resnet18", 7, weights=str(path), sha256="0" * 64)
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        privacy_model("resnet18", 7, weights=str(tmp_path / "nope.pth"))


def test_offline_pretrained_weights_give_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BDQ_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(url, dst, **kwargs):
        raise OSError("no network")
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(PretrainedWeightsUnavailable) as err:
        action_model("i3d_r50", 6, weights="pretrained")
    message = str(err.value)
    assert "I3D_8x8_R50.pyth" in message and str(tmp_path) in message and "weights='none'" in message


def test_small_pretrained_weights_must_exist_or_be_declined(tmp_path):
    cfg = make_config("cpu", weights_dir=str(tmp_path))
    with pytest.raises(PretrainedWeightsUnavailable, match="pretrain_small_models"):
        make_models(cfg, 6, 10, "cpu")
    t, p = make_models(make_config("cpu", weights="none"), 6, 10, "cpu")  # random init: only when asked
    assert t[-1].out_features == 6 and p[-1].out_features == 10
    assert init_weights(make_config("paper"), "i3d_r50") == "pretrained"  # big models: the known download
    assert init_weights(make_config("paper"), "resnet50", "none") == "none"  # an attacker from random init


def _weights_file(cfg, name):
    path = small_weights_file(cfg, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_pretrained_small_models_load_and_get_a_new_head(tmp_path):
    cfg = make_config("cpu", weights_dir=str(tmp_path))
    src_t, src_p = small3d(6, cfg.action_width), small2d(10, cfg.privacy_width)
    torch.save(src_t.state_dict(), _weights_file(cfg, "small3d"))
    torch.save(src_p.state_dict(), _weights_file(cfg, "small2d"))
    t, p = make_models(cfg, 6, 3, "cpu")
    assert torch.equal(t[0][0].weight, src_t[0][0].weight) and torch.equal(p[0][0].weight, src_p[0][0].weight)
    assert p[-1].out_features == 3 and not torch.equal(t[-1].weight, src_t[-1].weight)  # heads are new


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown network 'c3d'; registered: .*small2d.*torchvision"):
        build_model("c3d", 6)
    with pytest.raises(PretrainedWeightsUnavailable, match="pretrain_small_models"):
        build_model("small2d", 6, weights="pretrained")  # the cpu profile's: made by bdqlib.train.pretrain
    with pytest.raises(PretrainedWeightsUnavailable):
        weights.load_checkpoint("small2d", "pretrained")


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x0_5"])
def test_any_torchvision_classifier_is_a_frame_attacker_with_a_new_head(name):
    model = build_model(name, 5)
    assert model_level(name) == "frame" and model_level("small3d") == "clip"
    assert privacy_logits(model.eval(), torch.randn(1, 3, 2, 64, 64)).shape == (1, 2, 5)
    assert registry.network(name).url.startswith("https://download.pytorch.org/")
    assert registry.network(name).trained_on == "ImageNet-1k"


def test_the_registry_has_one_entry_per_architecture():
    assert {"small3d", "small2d", "res2d", "mobile2d", "vit2d", "small2plus1d"} <= set(registry.NETWORKS)
    assert registry.network("small3d").width_field == "action_width" and registry.network("res2d").width == 24
    assert registry.network("i3d_r50").level == "clip" and registry.network("i3d_r50").url.endswith("I3D_8x8_R50.pyth")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_network(registry.network("small2d"))
    with pytest.raises(ValueError, match="level must be"):
        registry.Network("x", "pixel", lambda *a: None)
