"""Figures of the robustness experiments (06): sweeps as grouped bars, reconstructions beside the raw frames."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

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


def describe_attacker_sweep(df: pd.DataFrame, chance: float) -> str:
    """Computed sentences on the attacker sweep: per encoder the strongest and weakest attacker; against raw (the
    first encoder), for how many attackers each encoder's output is less identifiable."""
    table = _by_encoder(df, "privacy_top1")
    lines = []
    for encoder in table.columns:
        col = table[encoder].dropna()
        lines.append(f"{encoder}: strongest {col.idxmax()} {col.max():.3f}, weakest {col.idxmin()} {col.min():.3f} "
                     f"(chance {chance:.3f}; {len(col)} attackers)")
    if len(table.columns) > 1:
        raw = table[table.columns[0]]
        for encoder in table.columns[1:]:
            both = table[[table.columns[0], encoder]].dropna()
            lower = int((both[encoder] < both[table.columns[0]]).sum())
            text = f"{encoder} is less identifiable than {table.columns[0]} for {lower} of {len(both)} attackers"
            above = both[raw[both.index] > chance].index  # a share of nothing is no share
            if len(above):
                kept = (both.loc[above, encoder] - chance) / (raw[above] - chance)
                text += (f"; the attacker that keeps most of {table.columns[0]}'s above-chance accuracy keeps "
                         f"{kept.max():.0%} ({kept.idxmax()})")
            else:
                text += f"; {table.columns[0]} itself is at or below chance for every attacker: nothing to remove"
            lines.append(text + ".")
    return "\n".join(lines)


def describe_action_sweep(df: pd.DataFrame) -> str:
    """Computed sentences on the action sweep: per network, each encoder's accuracy relative to the first's."""
    table = _by_encoder(df, "action_top1")
    lines = []
    for network, row in table.iterrows():
        base = row.iloc[0]
        parts = [f"{enc} {acc:.3f}" + ("" if i == 0 or not base > 0 else f" ({acc / base:.0%} of {table.columns[0]})")
                 for i, (enc, acc) in enumerate(row.dropna().items())]
        lines.append(f"{network}: " + ", ".join(parts))
    if len(table.columns) > 1:
        below = int((table[table.columns[1]] < table[table.columns[0]]).sum())
        lines.append(f"{table.columns[1]} is below {table.columns[0]} for {below} of {len(table)} action networks "
                     f"(paper: all five, marginally).")
    return "\n".join(lines)


def describe_reconstruction(df: pd.DataFrame) -> str:
    """Computed sentences: PSNR/SSIM per encoder, and whether the reconstructions are more identifiable than E's
    output for the same attacker."""
    lines = []
    for _, r in df.iterrows():
        gained = r["privacy_top1"] - r["privacy_encoded"]
        verdict = ("no result of this attacker on E's output to compare with" if gained != gained else
                   "MORE identifiable than E's output: the reconstruction recovers identity" if gained > 0.02 else
                   "not more identifiable than E's output" if gained >= -0.02 else "less identifiable than E's output")
        lines.append(f"alpha={r['alpha']:g}: U-Net PSNR {r['psnr']:.2f} dB, SSIM {r['ssim']:.3f} (E's output as it "
                     f"is: {r['input_psnr']:.2f} dB, {r['input_ssim']:.3f}); {r['attacker']} on the reconstructions "
                     f"{r['privacy_top1']:.3f} vs {r['privacy_encoded']:.3f} on E's output and {r['privacy_raw']:.3f} "
                     f"on raw (chance {r['privacy_chance']:.3f}) -> {verdict}.")
    if df["alpha"].nunique() > 1:
        best, worst = df.loc[df["psnr"].idxmax()], df.loc[df["psnr"].idxmin()]
        lines.append(f"Reconstruction is harder from alpha={worst['alpha']:g} ({worst['psnr']:.2f} dB) than from "
                     f"alpha={best['alpha']:g} ({best['psnr']:.2f} dB) (paper: poor from the trained encoder, "
                     f"good from the untrained one).")
    return "\n".join(lines)


def describe_events(table: pd.DataFrame, alpha: float) -> str:
    """Computed sentences: each event camera's retrain point against BDQ at `alpha`, and the closest one."""
    retrain = table[table["protocol"] == "retrain"]
    dvs = retrain[retrain["method"].str.startswith("dvs_")]
    bdq = retrain[(retrain["method"] == "bdq") & (retrain["alpha"] == alpha)]
    if len(dvs) == 0 or len(bdq) == 0:
        return "no event camera or no BDQ row to compare in this run"
    b = bdq.iloc[0]
    lines = []
    for _, r in dvs.iterrows():
        dominated = r["action_top1"] >= b["action_top1"] and r["privacy_top1"] <= b["privacy_top1"]
        lines.append(f"{r['method']}: action {r['action_top1']:.3f}, privacy {r['privacy_top1']:.3f} "
                     f"({r['strongest_attacker']}), f_0.5 {r['f_0.5']:.3f} vs BDQ alpha={alpha:g} "
                     f"{b['action_top1']:.3f} / {b['privacy_top1']:.3f}, f_0.5 {b['f_0.5']:.3f}"
                     + (" -> at least as good on both axes as BDQ" if dominated else ""))
    distance = ((dvs["action_top1"] - b["action_top1"]) ** 2 + (dvs["privacy_top1"] - b["privacy_top1"]) ** 2) ** 0.5
    near = dvs.loc[distance.idxmin()]
    lines.append(f"closest event camera to BDQ alpha={alpha:g}: {near['method']} (distance {distance.min():.3f} "
                 f"on the trade-off plane; paper: threshold 2.4 close to BDQ alpha=2 on SBU).")
    return "\n".join(lines)
