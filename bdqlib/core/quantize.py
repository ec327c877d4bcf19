"""The soft staircase of BDQ's Quantization module, y(z) = sum_i sigmoid(hardness * (z - b_i)).

Two implementations of the same function of a normalised input z in [0, num_bins]:

* `soft_staircase_exact` — the formula as written (one sigmoid pass per bin); the reference, used for float64.
* `soft_staircase_lut`   — a custom autograd function that tabulates y(z) and y'(z) on a fine grid
  (`LUT_STEPS_PER_UNIT` points per unit of z, from 16/hardness below 0 to 16/hardness above z_max, where every
  sigmoid is saturated to 1e-7) once per call and interpolates linearly; beyond the grid y is constant. y is smooth (|y''| <= 2.5
  for hardness 5), so the interpolation error is below 2e-6 in z units, i.e. far below 1e-5 in the input's units.
  The bins' gradient, -hardness * sum_e g_e * sigmoid'(hardness (z_e - b_i)), is computed by splatting the
  upstream gradient g onto the same grid (a weighted histogram) and contracting it with the tabulated
  sigmoid' — O(1) passes over the data instead of one per bin.

Both accept any shape of z and a 1-D tensor of bin centres.
"""
from __future__ import annotations

import math

import torch

LUT_STEPS_PER_UNIT = 512  # grid points per unit of z: interpolation error <= |y''|/8 / 512**2 < 2e-6


def soft_staircase_exact(z: torch.Tensor, bins: torch.Tensor, hardness: float) -> torch.Tensor:
    """sum_i sigmoid(hardness * (z - bins[i])), accumulated bin by bin (no (..., num_bins) temporary)."""
    y = torch.zeros_like(z)
    for b in bins:
        y = y + torch.sigmoid(hardness * (z - b))
    return y


def _margin(hardness: float) -> float:
    """Grid extent beyond [0, z_max], in units of z: sigmoid(-16) ~ 1e-7, so y is flat past it."""
    return float(math.ceil(16.0 / hardness))


def _tables(bins: torch.Tensor, hardness: float, z_max: float):
    """Grid of z values and, on it, y, y' and the per-bin sigmoid' matrix (float64 for accurate tables)."""
    margin = _margin(hardness)
    steps = int(round((z_max + 2 * margin) * LUT_STEPS_PER_UNIT)) + 2  # +1: the last point has a right neighbour
    grid = torch.arange(steps, dtype=torch.float64, device=bins.device) / LUT_STEPS_PER_UNIT - margin
    s = torch.sigmoid(hardness * (grid[:, None] - bins.detach().to(torch.float64)[None, :]))  # (steps, num_bins)
    ds = hardness * s * (1 - s)  # d sigmoid(hardness (z - b)) / dz = - d/db
    return s.sum(1), ds.sum(1), ds


class _SoftStaircaseLUT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, bins, hardness, z_max):
        y_tab, dy_tab, ds = _tables(bins, hardness, z_max)
        ctx.save_for_backward(z)
        ctx.tables = (dy_tab, ds)
        ctx.margin = _margin(hardness)
        return _interpolate(y_tab.to(z.dtype), z, ctx.margin)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        dy_tab, ds = ctx.tables
        grad_z = grad_bins = None
        if ctx.needs_input_grad[0]:
            grad_z = _interpolate(dy_tab.to(z.dtype), z, ctx.margin).mul_(g)
        if ctx.needs_input_grad[1]:
            idx, frac = _cell(z, dy_tab.numel(), ctx.margin)
            # Linear splat of g onto the grid (exact for anything linear within a cell), then contract.
            # Accumulate in float64: most elements share a few cells (zero motion), and a float32 running sum
            # of millions of signed terms loses the result.
            flat_idx, gf, fr = idx.reshape(-1), g.reshape(-1).double(), frac.reshape(-1)
            right = gf * fr
            # index_add_ rather than bincount: the same serial float64 sums, bit for bit, and a static output size,
            # so the step can also be traced with fake tensors (bdqlib.experiments.plan's memory accounting)
            cells = ds.shape[0]
            hist = gf.new_zeros(cells).index_add_(0, flat_idx, gf - right)
            hist[1:] += gf.new_zeros(cells).index_add_(0, flat_idx, right)[:-1]
            grad_bins = -(hist @ ds).to(g.dtype)
        return grad_z, grad_bins, None, None


def _cell(z: torch.Tensor, table_size: int, margin: float):
    """Grid cell index (int32, flat) and the fractional position in it (flat) for every element of z."""
    u = (z * LUT_STEPS_PER_UNIT).add_(margin * LUT_STEPS_PER_UNIT).clamp_(0, table_size - 2).reshape(-1)
    idx = u.int()  # truncation == floor, as u >= 0; int32 converts ~20x faster than int64 on CPU
    return idx, u.sub_(idx)


def _interpolate(table: torch.Tensor, z: torch.Tensor, margin: float) -> torch.Tensor:
    """table(z) by linear interpolation on the grid: two 1-D gathers (value and slope of the cell) per element.

    (1-D index_select with int32 indices is the fastest gather on CPU; a (cells, 2) table gathered once is ~4x
    slower, and int64 indices cost a slow conversion.)
    """
    idx, frac = _cell(z, table.numel(), margin)
    value = torch.index_select(table, 0, idx)
    slope = torch.index_select(table[1:] - table[:-1], 0, idx)
    return value.addcmul_(frac, slope).view(z.shape)


def soft_staircase_lut(z: torch.Tensor, bins: torch.Tensor, hardness: float, z_max: float) -> torch.Tensor:
    """Tabulated soft staircase for z in [0, z_max]; same values as `soft_staircase_exact` within 1e-5."""
    return _SoftStaircaseLUT.apply(z, bins, float(hardness), float(z_max))


INFERENCE_CHUNK = 1 << 18  # elements per pass of the inference quantizer: temporaries stay in cache


@torch.no_grad()
def quantize_lut_inference(x: torch.Tensor, lo, hi, bins: torch.Tensor, hardness: float, num_bins: int,
                           eps: float) -> torch.Tensor:
    """BDQEncoder.quantize without autograd: the same values, in fewer passes over the data.

    Clip by clip (lo, hi are scalars or of shape (B, 1, ...)), the input's min-max map is folded into the grid
    index and the output's map (y * scale + lo) into the table, so each element is read once, converted to a cell,
    and gathered twice; chunks of INFERENCE_CHUNK elements keep the temporaries small.
    """
    y_tab = _tables(bins, hardness, float(num_bins))[0].to(x.dtype)
    margin = _margin(hardness)
    lo, hi = torch.as_tensor(lo, dtype=torch.float64), torch.as_tensor(hi, dtype=torch.float64)
    span = hi - lo
    gain = num_bins / (span + eps) * LUT_STEPS_PER_UNIT               # input units -> grid cells
    shift = margin * LUT_STEPS_PER_UNIT - lo * gain
    scale = torch.clamp(span / num_bins, min=eps)
    rows = 1 if lo.numel() == 1 else x.shape[0]  # one range for all (batch / fixed streaming range) or per clip
    x2 = x.reshape(rows, -1)
    out = torch.empty_like(x2)
    top = y_tab.numel() - 2
    for b in range(rows):
        g, sh = float(gain.reshape(-1)[b]), float(shift.reshape(-1)[b])
        table = y_tab * float(scale.reshape(-1)[b]) + float(lo.reshape(-1)[b])
        slope = table[1:] - table[:-1]
        xb, ob = x2[b], out[b]
        for s in range(0, xb.numel(), INFERENCE_CHUNK):
            u = torch.mul(xb[s:s + INFERENCE_CHUNK], g).add_(sh).clamp_(0, top)
            idx = u.int()  # truncation == floor, as u >= 0
            frac = u.sub_(idx)
            torch.addcmul(torch.index_select(table, 0, idx), frac, torch.index_select(slope, 0, idx),
                          out=ob[s:s + INFERENCE_CHUNK])
    return out.view(x.shape)
