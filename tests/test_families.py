import pytest
import torch

from bdqlib.nets.families import mobile2d, small2plus1d, vit2d
from bdqlib.nets.registry import network
from bdqlib.nets.zoo import PretrainedWeightsUnavailable, build_model, model_level


@pytest.mark.parametrize("name, shape", [("mobile2d", (5, 3, 48, 48)), ("vit2d", (5, 3, 48, 48)),
                                         ("vit2d", (5, 3, 24, 36)), ("small2plus1d", (2, 3, 8, 48, 48))])
def test_family_networks_map_their_input_to_logits(name, shape):
    model = build_model(name, 7)
    assert model(torch.randn(shape)).shape == (shape[0], 7)
    assert model_level(name) == ("clip" if len(shape) == 5 else "frame")
    assert network(name).url is None
    with pytest.raises(PretrainedWeightsUnavailable, match="@scratch"):
        build_model(name, 7, weights="pretrained")


def test_vit_refuses_a_size_its_patches_do_not_tile():
    with pytest.raises(ValueError, match="divisible"):
        vit2d(3)(torch.randn(1, 3, 32, 32))


def test_two_plus_one_d_blocks_factorise_space_and_time():
    convs = [m for m in small2plus1d(3).modules() if isinstance(m, torch.nn.Conv3d)]
    assert {tuple(c.kernel_size) for c in convs} == {(1, 3, 3), (3, 1, 1)}
    depthwise = [m for m in mobile2d(3).modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert depthwise and all(m.groups == m.in_channels for m in depthwise)


@pytest.mark.parametrize("name", ["x3d_xs", "mc3_18"])
def test_paper_profile_video_networks_by_name_take_any_clip_size(name):
    """pytorchvideo hub and torchvision video networks: built by name (no weights here), their fixed-size pooling
    made adaptive, a new head; the weight URL is the Kinetics-400 checkpoint."""
    model = build_model(name, 5)
    assert model_level(name) == "clip"
    assert model(torch.randn(1, 3, 4, 64, 64)).shape == (1, 5)
    url, source = network(name).url, network(name).trained_on
    assert source == "Kinetics-400" and url.startswith("https://")
