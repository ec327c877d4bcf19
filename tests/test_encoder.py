import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bdqlib import BDQEncoder
from bdqlib.core.encoder import MODULE_NAMES, frame_difference, gaussian_blur, gaussian_kernel1d, gaussian_kernel2d
from bdqlib.core.quantize import soft_staircase_exact, soft_staircase_lut


def video(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=dtype)


def perturb_bins(enc, seed=1, scale=0.3):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        enc.bin_centres.add_(torch.randn(enc.num_bins, generator=g) * scale)


# ---------------------------------------------------------------- an independent implementation of the authors'
# released code (degradNet.py): fixed sigma = 3 built as a product of 1-D densities, a (1, 5, 5) Conv3d with zero
# padding, x - roll(x, 1) with the first frame dropped, min/max over the whole batch, bins clamped and sorted in
# place, one sigmoid per bin, output y * scale + min.
def authors_encoder(x, bins, sigma=3.0, hardness=5.0, bits=4):
    x = x.double()
    coords = torch.arange(5, dtype=torch.float64)
    dens = 1 / (sigma * math.sqrt(2 * math.pi)) * torch.exp(-(((coords - 2) / sigma) ** 2) / 2)
    kernel = (dens[:, None] * dens[None, :])[None]  # (1, 5, 5): the temporal axis has size 1
    kernel = kernel / kernel.sum()
    weight = kernel.view(1, 1, 1, 5, 5).repeat(3, 1, 1, 1, 1)
    x = F.conv3d(x, weight, groups=3, padding=(0, 2, 2))
    x = (x - torch.roll(x, 1, dims=2))[:, :, 1:]
    qmax = 2.0**bits - 1
    mn, mx = x.min(), x.max()
    scale = max(float(mx - mn) / qmax, 1e-4)
    z = (x - mn) / ((mx - mn) + 1e-4) * qmax
    b = bins.double().clamp(0, qmax).sort().values
    y = torch.zeros_like(z)
    for i in range(int(qmax)):
        y = y + torch.sigmoid(hardness * (z - b[i]))
    return y * scale + mn


def test_matches_the_authors_semantics():
    x = video(3, 3, 9, 24, 28)
    enc = BDQEncoder(sigma=3.0, learn_sigma=False, normalization="batch")
    perturb_bins(enc)
    ref = authors_encoder(x, enc.bin_centres.detach())
    out = enc(x)
    assert out.shape == (3, 3, 8, 24, 28)
    assert torch.allclose(out.double(), ref, atol=1e-5, rtol=0)


def test_blur_kernel_is_the_closed_form_gaussian():
    for sigma in (0.5, 1.0, 3.0):
        k = gaussian_kernel2d(torch.tensor(sigma, dtype=torch.float64), 5).numpy()
        x, y = np.meshgrid(np.arange(5) - 2, np.arange(5) - 2, indexing="ij")
        g = np.exp(-(x**2 + y**2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)
        np.testing.assert_allclose(k, g / g.sum(), rtol=1e-12)
        assert k.sum() == pytest.approx(1.0)
        k1 = gaussian_kernel1d(torch.tensor(sigma, dtype=torch.float64), 5).numpy()
        np.testing.assert_allclose(np.outer(k1, k1), k, rtol=1e-12)


def test_separable_blur_equals_full_convolution():
    x = video(2, 3, 4, 17, 23, dtype=torch.float64)
    sigma = torch.tensor(1.7, dtype=torch.float64)
    sep = gaussian_blur(x, sigma, 5, separable=True)
    full = gaussian_blur(x, sigma, 5, separable=False)
    assert torch.allclose(sep, full, atol=1e-12)
    # and equal to a plain zero-padded conv of each frame with the 2-D kernel
    k = gaussian_kernel2d(sigma, 5)
    frame = F.conv2d(x[1, 2, 3][None, None], k[None, None], padding=2)[0, 0]
    assert torch.allclose(sep[1, 2, 3], frame, atol=1e-12)
    assert sep.shape == x.shape


def test_difference_shapes_and_values():
    x = video(2, 3, 5, 4, 4)
    d = frame_difference(x)
    assert d.shape == (2, 3, 4, 4, 4)
    assert torch.equal(d[:, :, 0], x[:, :, 1] - x[:, :, 0])
    assert torch.equal(d[:, :, 3], x[:, :, 4] - x[:, :, 3])  # no wrap-around frame
    enc = BDQEncoder(blur=False, difference=True, quantize=False)
    assert torch.equal(enc(x), d)
    with pytest.raises(ValueError, match="at least 2 frames"):
        frame_difference(x[:, :, :1])


@pytest.mark.parametrize("impl", ["exact", "lut"])
@pytest.mark.parametrize("normalization", ["clip", "batch"])
def test_quantizer_matches_the_formula_written_out(impl, normalization):
    x = video(3, 3, 4, 10, 12) * 4 - 1
    x[1] *= 0.1  # clips with different ranges
    enc = BDQEncoder(blur=False, difference=False, quantize=True, normalization=normalization, impl=impl)
    perturb_bins(enc)
    b = enc.bins.double()
    xd = x.double()
    if normalization == "batch":
        lo, hi = xd.min(), xd.max()
    else:
        lo = xd.amin(dim=(1, 2, 3, 4), keepdim=True)
        hi = xd.amax(dim=(1, 2, 3, 4), keepdim=True)
    z = (xd - lo) / (hi - lo + 1e-4) * 15
    y = torch.sigmoid(5.0 * (z[..., None] - b)).sum(-1)  # all 15 bins at once
    ref = y * torch.clamp((hi - lo) / 15, min=1e-4) + lo
    assert torch.allclose(enc(x).double(), ref, atol=1e-5, rtol=0)


def test_bins_are_clamped_and_sorted():
    enc = BDQEncoder()
    with torch.no_grad():
        enc.bin_centres.copy_(torch.tensor([20.0, -3.0, 2.0, 1.0] + [7.5] * 11))
    assert torch.equal(enc.bins[:4], torch.tensor([0.0, 1.0, 2.0, 7.5]))
    assert enc.bins[-1] == 15.0
    enc(video(1, 3, 3, 8, 8))
    b = enc.bin_centres.detach()
    assert torch.all(b[1:] >= b[:-1]) and b.min() >= 0 and b.max() <= 15
    assert torch.equal(b, enc.bins)


@pytest.mark.parametrize("make_opt", [lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                                      lambda p: torch.optim.Adam(p, lr=0.1)])
def test_sorting_crossed_bins_carries_their_optimizer_state_with_them(make_opt):
    enc = BDQEncoder()
    opt = make_opt([enc.bin_centres])
    enc.bin_centres.grad = torch.arange(15.0)  # a distinct state value per bin
    opt.step()
    before = {k: v.clone() for k, v in opt.state[enc.bin_centres].items() if v.shape == (15,)}
    assert before
    with torch.no_grad():  # bins 0 and 1 cross (0.5 -> 2.0, 1.5 -> 1.0); bin 14 leaves the range
        enc.bin_centres[0], enc.bin_centres[1], enc.bin_centres[14] = 2.0, 1.0, 99.0
    enc.project_bins_(opt)
    assert torch.equal(enc.bin_centres.detach(), enc.bins) and enc.bin_centres[14] == 15.0
    for key, value in before.items():  # the bin now in slot 0 came from slot 1 and brought slot 1's state
        after = opt.state[enc.bin_centres][key]
        assert torch.equal(after[:2], value[[1, 0]]) and torch.equal(after[2:], value[2:]), key


class _Joint:  # the shape of bdqlib.train.game's optimizer pair: state lives in the inner optimizers
    def __init__(self, *optimizers):
        self.optimizers = optimizers


def test_sorting_reaches_the_state_inside_a_pair_of_optimizers():
    enc = BDQEncoder()
    sgd = torch.optim.SGD([enc.bin_centres], lr=0.1, momentum=0.9)
    enc.bin_centres.grad = torch.arange(15.0)
    sgd.step()
    momentum = sgd.state[enc.bin_centres]["momentum_buffer"].clone()
    with torch.no_grad():
        enc.bin_centres[3], enc.bin_centres[4] = 4.2, 3.0
    enc.project_bins_(_Joint(torch.optim.Adam([torch.zeros(1, requires_grad=True)]), sgd))
    assert torch.equal(sgd.state[enc.bin_centres]["momentum_buffer"][3:5], momentum[[4, 3]])


def test_initial_bins_and_sigma():
    enc = BDQEncoder()
    assert torch.equal(enc.bins, torch.arange(15.0) + 0.5)
    assert float(enc.sigma.detach()) == pytest.approx(1.0)
    assert sum(p.numel() for p in enc.parameters()) == 16  # sigma + 15 bins, as the paper counts
    fixed = BDQEncoder(sigma=3.0, learn_sigma=False)
    assert sum(p.numel() for p in fixed.parameters()) == 15 and float(fixed.sigma.detach()) == pytest.approx(3.0)


def test_clip_normalisation_does_not_depend_on_the_batch():
    a = video(1, 3, 6, 16, 16, seed=1)
    other = video(1, 3, 6, 16, 16, seed=2) * 10  # a much larger range
    for normalization, same in (("clip", True), ("batch", False)):
        enc = BDQEncoder(normalization=normalization)
        alone = enc(a)
        in_batch = enc(torch.cat([a, other]))[:1]
        assert torch.allclose(alone, in_batch, atol=1e-6) is same
    # "clip" on a batch of one is exactly "batch"
    assert torch.allclose(BDQEncoder(normalization="clip")(a), BDQEncoder(normalization="batch")(a))


@pytest.mark.parametrize("impl", ["exact", "lut"])
def test_gradients_reach_sigma_bins_and_input(impl):
    enc = BDQEncoder(impl=impl)
    perturb_bins(enc)
    x = video(2, 3, 6, 20, 20).requires_grad_()
    weights = video(2, 3, 5, 20, 20, seed=5)
    (enc(x) * weights).sum().backward()
    for g in (enc.log_sigma.grad, enc.bin_centres.grad, x.grad):
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0
    assert (enc.bin_centres.grad != 0).sum() >= 10


def test_lut_and_exact_agree_in_values_and_gradients():
    x = video(2, 3, 8, 24, 24, dtype=torch.float64)
    weights = video(2, 3, 7, 24, 24, seed=3, dtype=torch.float64) - 0.5
    grads = {}
    for impl in ("exact", "lut"):
        enc = BDQEncoder(impl=impl).double()
        perturb_bins(enc)
        xx = x.clone().requires_grad_()
        y = enc(xx)
        (y * weights).sum().backward()
        grads[impl] = (y.detach(), enc.log_sigma.grad, enc.bin_centres.grad, xx.grad)
    for a, b in zip(grads["exact"], grads["lut"]):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * float(a.abs().max()))


def test_constant_video_gives_finite_output():
    for normalization in ("clip", "batch"):
        for blur, diff in ((True, True), (False, False)):
            x = torch.full((2, 3, 5, 8, 8), 0.7, requires_grad=True)
            enc = BDQEncoder(blur, diff, True, normalization=normalization)
            y = enc(x)
            y.sum().backward()
            assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
            assert torch.isfinite(enc.bin_centres.grad).all()


def test_identity_configuration_returns_its_input():
    x = video(2, 3, 4, 8, 8)
    enc = BDQEncoder(blur=False, difference=False, quantize=False)
    assert enc(x) is x
    assert enc.modules_name == "raw"


def test_float64_gradcheck():
    enc = BDQEncoder(kernel_size=3).double()
    perturb_bins(enc)
    x = video(1, 2, 3, 5, 5, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(enc, (x,), eps=1e-6, atol=1e-5)

    def as_function_of_params(log_sigma, bins):
        return torch.func.functional_call(enc, {"log_sigma": log_sigma, "bin_centres": bins}, (x.detach(),))

    params = (enc.log_sigma.detach().clone().requires_grad_(), enc.bin_centres.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(as_function_of_params, params, eps=1e-6, atol=1e-5)


def test_with_modules_shares_parameters_but_not_storage():
    enc = BDQEncoder(sigma=2.0)
    perturb_bins(enc)
    x = video(1, 3, 5, 12, 12)
    for name in MODULE_NAMES:
        sub = enc.with_modules(name)
        assert sub.modules_name == name
        assert torch.equal(sub.bins, enc.bins) and float(sub.sigma.detach()) == pytest.approx(2.0)
    assert torch.equal(enc.with_modules("B+D+Q")(x), enc(x))
    assert enc.with_modules("D")(x).shape == (1, 3, 4, 12, 12)
    assert enc.with_modules("B+Q")(x).shape == (1, 3, 5, 12, 12)
    sub = enc.with_modules("Q")
    with torch.no_grad():
        sub.bin_centres.add_(1.0)
    assert not torch.equal(sub.bins, enc.bins)
    with pytest.raises(ValueError, match="module combination"):
        enc.with_modules("B+X")


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_size=4), "kernel_size"), (dict(sigma=0.0), "sigma"), (dict(normalization="global"), "normalization"),
    (dict(impl="fast"), "impl"), (dict(num_bins=0), "num_bins"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BDQEncoder(**kwargs)


def test_wrong_input_rank_is_named():
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        BDQEncoder()(torch.zeros(3, 4, 8, 8))


@pytest.mark.parametrize("normalization", ["clip", "batch"])
def test_inference_path_equals_training_path(normalization):
    # Without autograd the encoder takes other routes (OpenCV blur, the folded table quantizer): same values.
    x = video(3, 3, 6, 19, 23) * 3 - 1
    enc = BDQEncoder(normalization=normalization)
    perturb_bins(enc)
    training = enc(x.clone().requires_grad_()).detach()
    with torch.no_grad():
        inference = enc(x)
    reference = BDQEncoder(normalization=normalization, impl="exact").double()
    reference.load_state_dict(enc.state_dict())
    exact = reference(x.double())
    assert torch.allclose(inference, training, atol=1e-5)
    assert torch.allclose(inference.double(), exact, atol=1e-5)


def test_table_quantizer_is_exact_outside_the_unit_range():
    # A fixed range (streaming) puts z below 0 and above num_bins; the table covers the saturated tails.
    bins = torch.arange(15, dtype=torch.float32) + 0.5
    z = torch.linspace(-6, 21, 5001)
    exact = soft_staircase_exact(z.double(), bins.double(), 5.0)
    assert torch.allclose(soft_staircase_lut(z, bins, 5.0, 15.0).double(), exact, atol=1e-5)


def test_stages_are_the_modules_in_order_and_end_at_the_output():
    x = torch.randn(1, 3, 4, 8, 8)
    enc = BDQEncoder()
    stages = enc.stages(x)
    assert list(stages) == ["input", "B", "B+D", "B+D+Q"]
    torch.testing.assert_close(stages["B+D+Q"], enc(x))
    assert list(enc.with_modules("D+Q").stages(x)) == ["input", "D", "D+Q"]


def test_dead_zone_soft_thresholds_the_difference_and_is_off_by_default():
    assert "dead_zone" not in BDQEncoder().state_dict()  # the paper's encoder: exactly its parameters
    enc = BDQEncoder(blur=False, difference=True, quantize=False, dead_zone=True)
    x = torch.zeros(1, 1, 2, 1, 4)
    x[0, 0, 1, 0] = torch.tensor([0.05, -0.05, 0.5, -0.5])
    assert torch.allclose(enc(x), x[:, :, 1:])  # tau starts at 0: the identity
    with torch.no_grad():
        enc.dead_zone.fill_(0.1)
    assert torch.allclose(enc(x)[0, 0, 0, 0], torch.tensor([0.0, 0.0, 0.4, -0.4]))
    enc(x).sum().backward()
    assert enc.dead_zone.grad is not None and enc.dead_zone.grad.item() == pytest.approx(0.0)  # +0.4 and -0.4
    copy_ = enc.with_modules("D")
    assert copy_.dead_zone is not None and copy_.dead_zone.item() == pytest.approx(0.1)
    with torch.no_grad():
        enc.dead_zone.fill_(-1.0)  # a step below 0 is projected back to 0, where its gradient still flows
    enc.project_()
    assert enc.dead_zone.item() == 0.0 and torch.allclose(enc(x), x[:, :, 1:])
    full = BDQEncoder(dead_zone=True)  # with blur and quantization: one forward and backward, then the projection
    full(torch.randn(2, 3, 4, 8, 8)).sum().backward()
    full.project_()
    assert full.dead_zone.grad is not None and full.bin_centres.grad is not None
