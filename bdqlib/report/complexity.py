"""Space-time complexity of encoders (paper Table 1): parameters, size on disk, FLOPs per clip.

Counted on one 16 x 224 x 224 x 3 clip, as in the paper. Two FLOP counts:
* `flops_conv`: what torch.utils.flop_counter measures -- convolutions and matmuls only, 2 FLOPs per multiply-add.
  The paper's 120.4 M for BDQ is exactly this count for its 5x5 blur done as a full 2-D convolution:
  2 x 25 x (16 x 3 x 224 x 224) = 120,422,400. (Our separable blur needs 2 x 10 per pixel: 48.2 M.)
* `flops_total`: everything, with elementwise work counted analytically (1 FLOP per add/sub/mul/compare, 4 per
  sigmoid): the difference and the 15-bin soft quantizer cost more than the blur.
"""
from __future__ import annotations

import io

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from .. import methods
from ..config import make_config
from ..core.encoder import BDQEncoder, gaussian_blur, raw_encoder
from ..methods.alf import ALFEncoder
from ..methods.naive import BASELINES as NAIVE

CLIP = (1, 3, 16, 224, 224)  # B, C, T, H, W
# How flops_conv counts, written into every row so that complexity.csv explains itself (BDQ's and ALF's rows alike)
FLOPS_RULE = ("flops_conv: torch.utils.flop_counter -- convolutions (transposed ones included) and matmuls, "
              "2 FLOPs per multiply-add; normalisation, activations and elementwise work not counted")
SIGMOID_FLOPS = 4  # exp, add, reciprocal, and the scaling by the hardness


def count_conv_flops(fn, x) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(x)
    return int(counter.get_total_flops())


def size_on_disk(module: torch.nn.Module) -> int:
    """Bytes of torch.save(state_dict) (0 for an encoder without state)."""
    if not module.state_dict():
        return 0
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return buf.getbuffer().nbytes


def bdq_elementwise_flops(enc: BDQEncoder, shape=CLIP) -> int:
    """Analytic count of BDQ's non-convolution work on a clip of `shape`."""
    b, c, t, h, w = shape
    n_out = b * c * (t - 1 if enc.use_difference else t) * h * w
    flops = 0
    if enc.use_difference:
        flops += n_out  # one subtraction per output value
    if enc.use_quantize:
        flops += 2 * n_out  # min and max
        flops += 3 * n_out  # (x - min) / (max - min + eps) * N
        flops += enc.num_bins * (2 + SIGMOID_FLOPS + 1) * n_out  # per bin: subtract, scale, sigmoid, accumulate
        flops += 2 * n_out  # back to the input's units: y * s + min
    return flops


def complexity_table(encoders: dict, shape=CLIP) -> pd.DataFrame:
    """One row per named encoder: params, bytes on disk, FLOPs (conv-only and total) on a clip of `shape`."""
    # The input requires grad so the blur runs as torch convolutions, which the FLOP counter sees (without
    # autograd it runs in OpenCV; the arithmetic is the same).
    x = torch.rand(shape, requires_grad=True)
    rows = []
    for name, enc in encoders.items():
        enc = enc.eval()
        conv = count_conv_flops(enc, x)
        row = {"method": name, "params": sum(p.numel() for p in enc.parameters()), "bytes_on_disk": size_on_disk(enc),
               "flops_conv": conv, "flops_total": conv, "flops_rule": FLOPS_RULE}
        if isinstance(enc, BDQEncoder):  # count only the modules that run (the identity has none)
            row["params"] = int(enc.use_blur and enc.log_sigma.requires_grad) + enc.use_quantize * enc.num_bins
            row["bytes_on_disk"] = row["bytes_on_disk"] if enc.use_blur or enc.use_quantize else 0
            row["flops_total"] = conv + bdq_elementwise_flops(enc, shape)
            if enc.use_blur:  # the paper's way: the blur as one full k x k convolution, nothing else
                row["flops_paper_count"] = count_conv_flops(
                    lambda v: gaussian_blur(v, enc.sigma, enc.kernel_size, separable=False), x)
        rows.append(row)
    return pd.DataFrame(rows)


def paper_table_encoders(bdq) -> dict:
    """The encoders of the paper's Table 1 for `complexity_table`: BDQ (as trained), the raw video, ALF at the
    paper's size (width 32, 4 residual blocks) whatever profile ran, and every naive baseline at 224 px."""
    encoders = {"bdq": bdq, "raw": raw_encoder(), "alf (paper size)": ALFEncoder(width=32, blocks=4)}
    at224 = make_config("paper", size=224)
    encoders.update({name: methods.build_fixed(name, at224) for name in NAIVE})
    return encoders
