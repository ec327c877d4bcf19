"""Figures of the report, drawn from results.csv / log.csv only. Each function saves a PNG and returns the figure."""
from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from .. import methods  # noqa: E402
from ..core.encoder import as_input_of, encode_clip  # noqa: E402
from ..metrics import f_lambda  # noqa: E402


class _FamilyColours(dict):
    """family -> colour, from the method registry (bdqlib.methods.colour); "black" for anything else."""

    def __missing__(self, family_name):
        return methods.colour(family_name) if family_name != "other" else "black"


FAMILY_COLOURS = _FamilyColours()


def family(method: str) -> str:
    """A method's family (legend group, colour): bdqlib.methods' registry; "other" for a name it does not know."""
    return methods.family(method) if methods.is_method(method) else "other"


def strength(row) -> float:
    """A degradation rank for marker sizes (block size, blur kernel, 1/resolution, alpha): the method's own."""
    if not methods.is_method(row["method"]):
        return 1.0
    method, arg = methods.resolve(row["method"])
    alpha = row["alpha"] if row["alpha"] == row["alpha"] else None
    return float(method.strength(arg, alpha))


def save_figure(fig, path):
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def row_label(r) -> str:
    """"bdq a=1", "raw": a results row's method and, where it has one, its alpha."""
    return r["method"] + (f" a={r['alpha']:g}" if r["alpha"] == r["alpha"] else "")


def merged_points(df: pd.DataFrame) -> pd.DataFrame:
    """One point per distinct (privacy, action): rows of the same encoder (e.g. B+D+Q and the headline BDQ) share it,
    their labels joined with " = "."""
    df = df.assign(label=df.apply(row_label, axis=1), key=list(zip(df["privacy_top1"].round(9),
                                                                     df["action_top1"].round(9))))
    # a shared point takes the colour of its most telling name: raw or bdq before a module combination's
    df = df.iloc[np.argsort([m not in ("raw", "bdq") for m in df["method"]], kind="stable")]
    extra = {c: (c, "first") for c in ("privacy_low", "privacy_high", "action_low", "action_high") if c in df}
    return (df.groupby("key", sort=False)
              .agg(privacy_top1=("privacy_top1", "first"), action_top1=("action_top1", "first"),
                   method=("method", "first"), alpha=("alpha", "first"), label=("label", " = ".join), **extra)
              .reset_index(drop=True))


OFFSETS = [(4, 3), (4, -10), (-6, 6), (4, 12), (4, -19), (-6, -14), (4, 21), (4, -28)]  # points, tried in order


def place_labels(ax, points: pd.DataFrame, *, fontsize=7) -> list:
    """Annotate each point at the first offset whose text box overlaps no label placed before; returns the texts."""
    fig = ax.figure
    fig.canvas.draw()
    renderer, placed, texts = fig.canvas.get_renderer(), [], []
    for _, r in points.sort_values("action_top1", ascending=False).iterrows():
        for k, (dx, dy) in enumerate(OFFSETS):
            text = ax.annotate(r["label"], (r["privacy_top1"], r["action_top1"]), fontsize=fontsize,
                               xytext=(dx, dy), textcoords="offset points", ha="right" if dx < 0 else "left")
            box = text.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in placed) or k == len(OFFSETS) - 1:
                placed.append(box)
                texts.append(text)
                break
            text.remove()
    return texts


def plot_tradeoff(results: pd.DataFrame, path=None, *, protocol: str = "retrain", evaluation=None):
    """Action vs privacy accuracy of every method (paper Fig. 3 row 1): top-left is ideal. One panel per dataset
    in `results` (the paper's figure has three: SBU, KTH, IPN). With `evaluation` (bdqlib.report.tables.Evaluation
    of the run) each point is the mean over seeds with its 95 % intervals as error bars."""
    df = results[results["protocol"] == protocol]
    if evaluation is not None and evaluation.available:
        table = evaluation.table()
        if len(table):
            df = table.rename(columns={"action": "action_top1", "privacy": "privacy_top1"}).assign(
                dataset=df["dataset"].iloc[0] if len(df) else None, protocol=protocol)
    datasets = sorted(df["dataset"].dropna().unique()) if "dataset" in df and len(df) else [None]
    datasets = datasets or [None]
    fig, axes = plt.subplots(1, len(datasets), figsize=(7 * len(datasets), 5.5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        _tradeoff_panel(ax, df if dataset is None else df[df["dataset"] == dataset], protocol, dataset)
    return save_figure(fig, path)


def _tradeoff_panel(ax, df: pd.DataFrame, protocol: str, dataset) -> None:
    points = merged_points(df)
    for fam, group in points.groupby(points["method"].map(family)):
        sizes = 40 + 50 * group.apply(strength, axis=1)
        if "privacy_low" in group:  # means over seeds with their 95 % intervals
            ax.errorbar(group["privacy_top1"], group["action_top1"], fmt="none", ecolor=FAMILY_COLOURS[fam],
                        alpha=0.6, lw=1, xerr=[group["privacy_top1"] - group["privacy_low"],
                                               group["privacy_high"] - group["privacy_top1"]],
                        yerr=[group["action_top1"] - group["action_low"], group["action_high"] - group["action_top1"]])
        ax.scatter(group["privacy_top1"], group["action_top1"], s=sizes, c=FAMILY_COLOURS[fam], alpha=0.8,
                   label=fam, edgecolors="white")
    chance_p, chance_a = df["privacy_chance"].mean(), df["action_chance"].mean()
    ax.scatter([chance_p], [1.0], marker="*", s=250, c="gold", edgecolors="black", label="ideal", zorder=5)
    ax.axvline(chance_p, ls=":", c="grey", lw=1)
    ax.axhline(chance_a, ls=":", c="grey", lw=1)
    ax.set_xlabel("privacy (identity) top-1, strongest attacker -- lower is better")
    ax.set_ylabel("action top-1 -- higher is better")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{dataset + ': ' if dataset else ''}Trade-off ({protocol}); bigger marker = stronger degradation")
    ax.legend(fontsize=8, loc="lower right")
    place_labels(ax, points)


def staircase(bins, hardness: float = 5.0, num_bins: int = 15, points: int = 600):
    z = torch.linspace(0, num_bins, points, dtype=torch.float64)
    b = torch.as_tensor(bins).detach().to("cpu", torch.float64)  # bins may live on a GPU
    return z.numpy(), torch.sigmoid(hardness * (z[:, None] - b[None, :])).sum(1).numpy()


def plot_quant_steps(bins_by_name: dict, path=None, *, hardness: float = 5.0):
    """The quantizer's transfer function, normalised input -> output (paper Fig. 3 row 2)."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, bins in bins_by_name.items():
        z, y = staircase(bins, hardness)
        ax.plot(z, y, label=name, lw=1.8 if "initial" not in name else 1.2, ls="--" if "initial" in name else "-")
    ax.plot([0, 15], [0, 15], c="grey", lw=0.6, ls=":")
    ax.set_xlabel("normalised input z (0 = clip min, 15 = clip max)")
    ax.set_ylabel("quantizer output")
    ax.set_title("Learned quantization steps")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _error_bars(ax, df: pd.DataFrame, colour) -> None:
    """95 % intervals of points that have them (an Evaluation table: means over seeds)."""
    if "privacy_low" in df and len(df):
        ax.errorbar(df["privacy_top1"], df["action_top1"], fmt="none", ecolor=colour, alpha=0.6, lw=1,
                    xerr=[df["privacy_top1"] - df["privacy_low"], df["privacy_high"] - df["privacy_top1"]],
                    yerr=[df["action_top1"] - df["action_low"], df["action_high"] - df["action_top1"]])


def evaluation_points(table: pd.DataFrame) -> pd.DataFrame:
    """An Evaluation table (means over seeds with intervals) with the columns the figures read."""
    return table.rename(columns={"action": "action_top1", "privacy": "privacy_top1"}).assign(protocol="retrain")


def plot_ablation(results: pd.DataFrame, bins_by_alpha: dict, path=None, *, hardness: float = 5.0):
    """Module combinations and the alpha sweep (paper Fig. 4), with the learned staircase per alpha. `results`:
    results.csv rows, or (better) `evaluation_points` of an Evaluation table: means over seeds with 95 % intervals."""
    df = results[results["protocol"] == "retrain"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    modules = df[df["method"].map(family) == "module"]
    _error_bars(ax, modules, "tab:orange")
    ax.scatter(modules["privacy_top1"], modules["action_top1"], c="tab:orange", s=60, label="modules (trained E)")
    for _, r in modules.iterrows():
        ax.annotate(r["method"], (r["privacy_top1"], r["action_top1"]), fontsize=8, xytext=(4, 3),
                    textcoords="offset points")
    sweep = df[df["method"] == "bdq"].sort_values("alpha")
    _error_bars(ax, sweep, "tab:red")
    ax.scatter(sweep["privacy_top1"], sweep["action_top1"], marker="*", s=80 + 60 * sweep["alpha"], c="tab:red",
               label="B+D+Q trained at alpha (bigger = larger)")
    for _, r in sweep.iterrows():
        ax.annotate(f"a={r['alpha']:g}", (r["privacy_top1"], r["action_top1"]), fontsize=8, xytext=(4, -10),
                    textcoords="offset points")
    raw = df[df["method"] == "raw"]
    _error_bars(ax, raw, "black")
    ax.scatter(raw["privacy_top1"], raw["action_top1"], c="black", s=60, label="raw")
    ax.set_xlabel("privacy top-1")
    ax.set_ylabel("action top-1")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Ablation: modules of the trained encoder, and alpha")
    cmap = plt.get_cmap("viridis")
    alphas = sorted(bins_by_alpha)
    for i, alpha in enumerate(alphas):
        z, y = staircase(bins_by_alpha[alpha], hardness)
        ax2.plot(z, y, c=cmap(i / max(len(alphas) - 1, 1)), label=f"alpha={alpha:g}")
    z, y = staircase(np.arange(15) + 0.5, hardness)
    ax2.plot(z, y, c="grey", ls="--", lw=1, label="initial")
    ax2.set_xlabel("normalised input z")
    ax2.set_ylabel("quantizer output")
    ax2.set_title("Learned quantization steps per alpha")
    ax2.legend(fontsize=8)
    return save_figure(fig, path)


def plot_training_curves(history: pd.DataFrame, path=None, *, warmup_epochs: int = 0):
    """Per-epoch accuracies, losses and sigma (BDQ) or E's loss (ALF) of an adversarial run: the game's dynamics.

    Validation accuracies are drawn where the log has them (every eval_every epochs), each ensemble attacker's too
    (val_privacy_top1_<name>, the hardened game); P's restarts and the end of the warm-up are marked."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    e = history["epoch"]
    ax = axes[0]
    for col, style in (("train_action_top1", "tab:blue"), ("val_action_top1", "tab:blue"),
                       ("train_privacy_top1", "tab:red"), ("val_privacy_top1", "tab:red")):
        if col in history:
            val = col.startswith("val")
            ax.plot(e[history[col].notna()], history[col].dropna(), c=style, ls="-" if val else "--",
                    marker="o" if val else None, ms=3, label=col)
    members = [c for c in history if c.startswith("val_privacy_top1_")]
    for col, colour in zip(members, ("tab:purple", "tab:brown", "tab:pink", "tab:olive")):
        ax.plot(e[history[col].notna()], history[col].dropna(), c=colour, marker="s", ms=3,
                label=col.replace("val_privacy_top1_", "val, ensemble: "))
    ax.set_title("accuracy (clip level)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    ax = axes[1]
    for col in ("loss_action", "loss_privacy", "entropy"):
        ax.plot(e, history[col], label=col)
    ax.set_title("losses (nats)")
    ax.legend(fontsize=7)
    if "sigma" in history:  # BDQ's blur; ALF's log has no single number to follow
        axes[2].plot(e, history["sigma"], c="k")
        axes[2].set_title("blur sigma")
    else:
        axes[2].plot(e, history["loss_et"], c="k")
        axes[2].set_title("E/T loss: CE(action) - alpha H(P)")
    if "privacy_restarts" in history:  # epochs in which P was restarted (config privacy_restart_every)
        for epoch in e[history["privacy_restarts"].diff().fillna(history["privacy_restarts"]) > 0]:
            for ax in axes:
                ax.axvline(epoch, c="grey", lw=0.6, ls=":")
        axes[0].set_title("accuracy (clip level); dotted: P restarted")
    if 0 < warmup_epochs < len(e):  # before it, E and T learn the action alone and P learns on E's output
        for ax in axes:
            ax.axvline(warmup_epochs + 0.5, c="k", lw=0.8, ls="--", alpha=0.5)
    for ax in axes:
        ax.set_xlabel("epoch")
    return save_figure(fig, path)


def plot_frontier(frontier: pd.DataFrame, path=None, *, goal_removed: float = 0.90, goal_kept: float = 0.95):
    """Privacy removed vs action kept (relative to raw), one point per run seed, per game and alpha
    (docs/studies/game_frontier.py's frontier.csv: columns game, alpha, kept, removed, synthetic_seed, subjects), with
    the hardening goal's corner shaded; one panel per synthetic population."""
    populations = frontier.groupby(["synthetic_seed", "subjects"]).size().index.tolist()
    fig, axes = plt.subplots(1, len(populations), figsize=(5.2 * len(populations), 4.2), squeeze=False)
    for ax, (seed, subjects) in zip(axes[0], populations):
        df = frontier[(frontier["synthetic_seed"] == seed) & (frontier["subjects"] == subjects)]
        ax.add_patch(plt.Rectangle((goal_kept, goal_removed), 2, 2, color="tab:green", alpha=0.12, lw=0))
        for (game, alpha), g in df.groupby(["game", "alpha"]):
            marker = {0.0: "x", 0.5: "v", 1.0: "o", 2.0: "^", 4.0: "s"}.get(float(alpha), "D")
            ax.scatter(g["kept"], g["removed"], c=FAMILY_COLOURS[game], marker=marker, s=36,
                       label=f"{game} a={alpha:g} (n={len(g)})")
        ax.set_xlabel("action kept (x raw)")
        ax.set_ylabel("identity removed (share of raw's above-chance)")
        ax.set_title(f"synthetic seed {seed}, {subjects} people (test split)")
        ax.set_xlim(min(0.5, df["kept"].min() - 0.05), 1.15)
        ax.set_ylim(min(0.0, df["removed"].min() - 0.05), 1.02)
        ax.legend(fontsize=7, loc="lower left")
    return save_figure(fig, path)


def plot_probe_curves(curves: dict, path=None):
    """Validation accuracy over epochs of every network validated on each encoder: curves name -> DataFrame
    (bdqlib.experiments.pipeline.probe_histories); a marker at the epoch whose weights were tested."""
    curves = {k: v for k, v in curves.items() if len(v)}
    fig, axes = plt.subplots(1, max(len(curves), 1), figsize=(5.5 * max(len(curves), 1), 4), squeeze=False)
    for ax, (title, df) in zip(axes[0], curves.items()):
        for (network, target), g in df.groupby(["network", "target"]):
            line, = ax.plot(g["epoch"], g["val_top1"], lw=1.4, ls="-" if target == "identity" else "--",
                            label=f"{network} ({'attacker' if target == 'identity' else 'action T'})")
            best = g[g["epoch"] == g["best_epoch"]]
            ax.scatter(best["epoch"], best["val_top1"], c=[line.get_color()], s=40, zorder=3)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation top-1")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_flambda(results: pd.DataFrame, path=None, *, protocol: str = "retrain"):
    """f_lambda = (1 - lambda) a + lambda (1 - p) over lambda in [0, 1], per method (SPPA Fig. 7)."""
    df = results[results["protocol"] == protocol]
    lam = np.linspace(0, 1, 51)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for _, r in df.iterrows():
        label = row_label(r)
        ax.plot(lam, [f_lambda(r["action_top1"], r["privacy_top1"], x) for x in lam], label=label,
                c=FAMILY_COLOURS[family(r["method"])], alpha=0.9 if r["method"] in ("bdq", "raw") else 0.5,
                lw=2 if r["method"] == "bdq" else 1)
    ax.set_xlabel("lambda (weight of privacy)")
    ax.set_ylabel("f_lambda")
    ax.set_title("Trade-off score over lambda")
    ax.legend(fontsize=6, ncol=2)
    return save_figure(fig, path)


def results_table(results: pd.DataFrame) -> pd.DataFrame:
    """Rows with f_0.5 and the share of raw's above-chance privacy each method removes, sorted by f_0.5."""
    df = results.copy()
    df["f_0.5"] = [f_lambda(a, p, 0.5) for a, p in zip(df["action_top1"], df["privacy_top1"])]
    raw = df[(df["method"] == "raw") & (df["protocol"] == "retrain")]
    if len(raw):
        p_raw = float(raw["privacy_top1"].iloc[0])
        df["privacy_removed"] = (p_raw - df["privacy_top1"]) / (p_raw - df["privacy_chance"])
    return df.sort_values(["protocol", "f_0.5"], ascending=[True, False]).reset_index(drop=True)


def method_frames(encoders: dict, clips: torch.Tensor, frame: int, path=None, *, mean, std):
    """Frame `frame` of each clip (N, C, T, H, W) raw, then through each encoder of `encoders` (name -> encoder),
    with the panels its method adds (bdqlib.methods: SPPA's saliency): one row per clip."""
    images, titles = [], []
    for clip in clips:
        images.append(to_image(clip[:, frame], mean=mean, std=std))
        titles.append("raw")
        for name, enc in encoders.items():
            method = methods.resolve(name)[0]
            for title, image in (method.panels(enc, clip, frame) if method.panels else []):
                images.append(image)
                titles.append(f"{name}: {title}")
            out = encode_clip(enc, clip[None])[0, :, frame].float().cpu()
            images.append(to_image(out, mean=mean, std=std))
            titles.append(name)
    return frame_grid(images, titles, path, ncols=len(images) // len(clips))


def family_rows(table: pd.DataFrame, *families: str) -> pd.DataFrame:
    """The rows of a results table whose method belongs to one of `families`, with the raw video's and BDQ's rows
    beside them for reference."""
    keep = set(families) | {"raw", "bdq"}
    return table[table["method"].map(family).isin(keep)]


def game_comparison(results: pd.DataFrame, games: list) -> pd.DataFrame:
    """Each game's encoders beside the raw video under the retrain protocol: action, strongest-attacker privacy, the
    share of raw's above-chance privacy removed, the action kept relative to raw, f_0.5."""
    table = results_table(results)
    table = table[(table["protocol"] == "retrain") & table["method"].isin(["raw", *games])].copy()
    raw = table.loc[table["method"] == "raw", "action_top1"]
    table["action_kept"] = table["action_top1"] / float(raw.iloc[0]) if len(raw) else float("nan")
    return table[["method", "alpha", "action_top1", "privacy_top1", "strongest_attacker", "privacy_removed",
                  "action_kept", "f_0.5"]].sort_values(["method", "alpha"])


def frame_grid(frames, titles, path=None, *, ncols: int = 6, cmap=None):
    """Show a list of (H, W, 3) float/uint8 images with titles."""
    n = len(frames)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.1 * ncols, 1.9 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, frames, titles):
        ax.imshow(img, cmap=cmap)
        ax.set_title(title, fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def to_image(frame: torch.Tensor, *, mean=None, std=None, symmetric: bool = False) -> np.ndarray:
    """(C, H, W) tensor -> (H, W, 3) float in [0, 1]: undo normalisation, or map a signed frame around grey."""
    x = frame.detach().float().cpu()
    if symmetric:
        m = float(x.abs().max()) or 1.0
        return (x / (2 * m) + 0.5).permute(1, 2, 0).clamp(0, 1).numpy()
    if mean is not None:
        x = x * torch.tensor(std).view(3, 1, 1) + torch.tensor(mean).view(3, 1, 1)
    return x.permute(1, 2, 0).clamp(0, 1).numpy()


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", text)


def plot_encoder_stages(encoder, clip: torch.Tensor, frame: int, path=None, *, mean, std, results=None,
                        point: str | None = None):
    """One clip (C, T, H, W) after each module `encoder` runs (input, blurred, difference, quantized) at `frame`,
    with the learned staircase; with `results` and `point` (a `row_label`), the trade-off with that point marked."""
    with torch.no_grad():
        x = as_input_of(encoder, clip[None])
        stages = encoder.eval().stages(x) if hasattr(encoder, "stages") else {"input": x, "output": encoder(x)}
    quantizes = getattr(encoder, "use_quantize", False)
    extra = int(quantizes) + int(results is not None)
    fig, axes = plt.subplots(1, len(stages) + extra, figsize=(2.6 * (len(stages) + extra), 2.8), squeeze=False)
    for ax, (name, y) in zip(axes[0], stages.items()):
        y = y[0].detach().float().cpu()
        t = min(frame, y.shape[1] - 1)
        signed = "D" in name.split("+")
        ax.imshow(to_image(y[:, t], symmetric=signed) if signed else to_image(y[:, t], mean=mean, std=std))
        ax.set_title(f"{name} (frame {t})", fontsize=8)
        ax.axis("off")
    if quantizes:
        ax = axes[0][len(stages)]
        z, y = staircase(encoder.bins, encoder.hardness, encoder.num_bins)
        ax.plot(z, y, c="tab:red")
        ax.plot([0, encoder.num_bins], [0, encoder.num_bins], c="grey", lw=0.6, ls=":")
        ax.set_title(f"staircase, sigma {float(encoder.sigma.detach()):.2f}", fontsize=8)
    if results is not None:
        ax = axes[0][-1]
        df = results[results["protocol"] == "retrain"]
        labels = df.apply(row_label, axis=1)
        ax.scatter(df["privacy_top1"], df["action_top1"], c="lightgrey", s=20)
        hit = df[labels == point]
        ax.scatter(hit["privacy_top1"], hit["action_top1"], c="tab:red", s=60, label=point)
        ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="privacy top-1", ylabel="action top-1")
        ax.set_title(point or "", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
