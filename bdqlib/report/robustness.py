"""Figures of the robustness experiments (06): sweeps as grouped bars, reconstructions beside the raw frames."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from . import published, stats
from .plots import frame_grid, save_figure, to_image


def plot_sweep(df: pd.DataFrame, path=None, *, value: str, title: str, chance: float | None = None):
    """Grouped bars: one group per network (df["network"]), one bar per encoder (df["encoder"]) of df[value]
    (paper Fig. 5 / 6: raw vs BDQ per architecture). A dotted line marks chance."""
    table = df.pivot_table(index="network", columns="encoder", values=value, sort=False)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(table), 3.8))
    width = 0.8 / max(len(table.columns), 1)
    x = np.arange(len(table))
    for i, encoder in enumerate(table.columns):
        bars = ax.bar(x + (i - (len(table.columns) - 1) / 2) * width, table[encoder], width, label=encoder)
        ax.bar_label(bars, fmt="%.2f", fontsize=6)
    if chance is not None:
        ax.axhline(chance, ls=":", c="grey", lw=1, label="chance")
    ax.set_xticks(x, table.index, rotation=20, fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel(value.replace("_", " "))
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_reconstructions(raw: torch.Tensor, rows: dict, path=None, *, mean, std, frame: int = 0):
    """One test clip: per encoder (rows: name -> (E(x) (C, T', H, W), U(E(x)) (C, T', H, W))), the raw frame,
    E's output and the reconstruction at `frame` of E's output (paper Fig. 7). raw: (C, T, H, W)."""
    images, titles = [], []
    for name, (encoded, recon) in rows.items():
        t = min(frame, encoded.shape[1] - 1)
        target = raw[:, raw.shape[1] - encoded.shape[1] + t]  # the raw frame E's output frame t ends at
        images += [to_image(target, mean=mean, std=std), to_image(encoded[:, t], symmetric=True),
                   to_image(recon[:, t], mean=mean, std=std)]
        titles += [f"raw (frame {raw.shape[1] - encoded.shape[1] + t})", f"{name}: E(x)", f"{name}: U(E(x))"]
    return frame_grid(images, titles, path, ncols=3)


def _by_encoder(df: pd.DataFrame, value: str) -> pd.DataFrame:
    return df.pivot_table(index="network", columns="encoder", values=value, sort=False)


def _rows_of(predictions, method: str, alpha, network: str, protocol: str = "retrain", target: str = "identity"):
    if predictions is None or len(predictions) == 0:
        return None
    p = predictions
    sel = p[(p["method"] == method) & (p["network"] == network) & (p["protocol"] == protocol) & (p["target"] == target)]
    return sel[sel["alpha"].isna()] if alpha is None or alpha != alpha else sel[sel["alpha"] == alpha]


def describe_attacker_sweep(df: pd.DataFrame, chance: float, *, predictions=None, encoders=None) -> str:
    """Computed sentences on the attacker sweep (means over seeds): per encoder the strongest and weakest attacker;
    with `predictions` and `encoders` [(label, method, alpha)], each attacker's verdict of the other encoders against
    the first (paired over the same test videos and seeds)."""
    table = _by_encoder(df, "privacy_top1")
    lines = []
    for encoder in table.columns:
        col = table[encoder].dropna()
        lines.append(f"{encoder}: strongest {col.idxmax()} {col.max():.3f}, weakest {col.idxmin()} {col.min():.3f} "
                     f"(means over seeds; chance {chance:.3f}; {len(col)} attackers)")
    if encoders and len(encoders) > 1 and predictions is not None:
        ref = encoders[0]
        for label, method, alpha in encoders[1:]:
            tally = {"<": 0, ">": 0, "=": 0}
            for network in table.index:
                v = stats.network_verdict(_rows_of(predictions, method, alpha, network),
                                          _rows_of(predictions, ref[1], ref[2], network),
                                          names=(label, ref[0])) if _rows_of(predictions, method, alpha, network) \
                    is not None else None
                if v is not None:
                    tally["<" if v.high < 0 else ">" if v.low > 0 else "="] += 1
            lines.append(f"{label} against {ref[0]}, attacker by attacker (95% intervals over test videos and "
                         f"seeds): less identifiable for {tally['<']}, more for {tally['>']}, not distinguishable "
                         f"for {tally['=']}.")
    return "\n".join(lines)


def describe_action_sweep(df: pd.DataFrame) -> str:
    """Each action network's accuracy on every encoder (means over seeds), relative to the first encoder's."""
    table = _by_encoder(df, "action_top1")
    lines = []
    for network, row in table.iterrows():
        base = row.iloc[0]
        parts = [f"{enc} {acc:.3f}" + ("" if i == 0 or not base > 0 else f" ({acc / base:.0%} of {table.columns[0]})")
                 for i, (enc, acc) in enumerate(row.dropna().items())]
        lines.append(f"{network}: " + ", ".join(parts))
    lines.append(f"The paper's networks were each marginally below raw on SBU ({published.BDQ_FIG6_ACTIONS[2]}).")
    return "\n".join(lines)


def describe_reconstruction(df: pd.DataFrame, predictions=None) -> str:
    """PSNR/SSIM per encoder, and -- with `predictions` -- whether each attacker finds more identity in the
    reconstructions than in E's output (a verdict on the same test videos)."""
    lines = []
    for _, r in df.iterrows():
        verdict = "no predictions to compare"
        if predictions is not None:
            v = stats.network_verdict(_rows_of(predictions, r["method"], r["alpha"], r["attacker"], "reconstruction"),
                                      _rows_of(predictions, r["method"], r["alpha"], r["attacker"]),
                                      names=("the reconstructions", "E's output"), what="identity found",
                                      higher="the reconstruction recovers identity") \
                if _rows_of(predictions, r["method"], r["alpha"], r["attacker"], "reconstruction") is not None else None
            verdict = v.text if v is not None else verdict
        lines.append(f"alpha={r['alpha']:g}: U-Net PSNR {r['psnr']:.2f} dB, SSIM {r['ssim']:.3f} (E's output as it "
                     f"is: {r['input_psnr']:.2f} dB, {r['input_ssim']:.3f}); {r['attacker']} on the reconstructions "
                     f"{r['privacy_top1']:.3f} vs {r['privacy_encoded']:.3f} on E's output and {r['privacy_raw']:.3f} "
                     f"on raw (chance {r['privacy_chance']:.3f}) -> {verdict}.")
    return "\n".join(lines)


def describe_events(evaluation, alpha: float, cameras: list) -> str:
    """Each event camera against BDQ at `alpha`: its action, privacy and f_0.5 with intervals, and the verdicts."""
    lines = []
    for name in cameras:
        for metric in ("removed", "kept", "f_0.5"):
            v = evaluation.verdict((name, None), ("bdq", alpha), metric)
            if v is not None:
                lines.append(v.text)
    return "\n".join(lines) or "no event camera or no BDQ row to compare in this run"
