"""Computed sentences: what the notebooks print about a run, from its results only (never written by hand).

`run` is anything with .result(method, alpha), .rows(method, alpha) and .cfg (bdqlib.experiments.run.Run). The
reference is the raw video and the headline is BDQ at the run's alpha: those two names are roles here, not dispatch.
"""
from __future__ import annotations

import pandas as pd

from .. import methods
from ..core.encoder import MODULE_NAMES
from ..metrics import f_lambda, privacy_removal
from . import published

REFERENCE, HEADLINE = "raw", "bdq"


def headline(run, alpha: float) -> str:
    """The run's headline sentence: raw vs BDQ at `alpha` (and alpha = 0)."""
    raw, bdq, bdq0 = run.result(REFERENCE), run.result(HEADLINE, alpha), run.result(HEADLINE, 0.0)
    if raw is None or bdq is None:
        return "raw or BDQ not validated yet in this run"

    def removed(r):
        return privacy_removal(r["privacy_top1"], raw["privacy_top1"], r["privacy_chance"])

    text = (f"Against the strongest of {len(run.rows(HEADLINE, alpha)) - 1} attackers, BDQ (alpha={alpha:g}) removes "
            f"{removed(bdq):.0%} of raw's above-chance privacy accuracy ({raw['privacy_top1']:.3f} by "
            f"{raw['strongest_attacker']} -> {bdq['privacy_top1']:.3f} by {bdq['strongest_attacker']}, chance "
            f"{bdq['privacy_chance']:.3f}); action {raw['action_top1']:.3f} -> {bdq['action_top1']:.3f} "
            f"({bdq['action_top1'] / raw['action_top1']:.0%} of raw).")
    if bdq0 is not None and alpha != 0:
        text += (f" Without the adversary (alpha=0) it removes {removed(bdq0):.0%} (privacy "
                 f"{bdq0['privacy_top1']:.3f}, action {bdq0['action_top1']:.3f}).")
    anchor = published.kth_anchor()
    text += (f" For scale: {anchor['removed']:.0%} removed on real KTH by {anchor['source']} -- another dataset and "
             f"another protocol.")
    return text


def compare_with_headline(results: pd.DataFrame, alpha: float, names: list) -> str:
    """Each named method's retrain point (results: a run's headline rows) against BDQ at `alpha`: f_0.5, and
    whether either dominates."""
    retrain = [r for r in results.to_dict("records") if r["protocol"] == "retrain"]
    bdq = next((r for r in retrain if r["method"] == HEADLINE and r["alpha"] == alpha), None)
    if bdq is None:
        return "BDQ not validated in this run: nothing to compare with"
    lines = []
    for name in dict.fromkeys(names):
        for r in (r for r in retrain if r["method"] == name):
            f, fb = (f_lambda(x["action_top1"], x["privacy_top1"], 0.5) for x in (r, bdq))
            better = r["action_top1"] >= bdq["action_top1"] and r["privacy_top1"] <= bdq["privacy_top1"]
            worse = r["action_top1"] <= bdq["action_top1"] and r["privacy_top1"] >= bdq["privacy_top1"]
            verdict = ("at least as good as BDQ on both axes" if better else "dominated by BDQ" if worse
                       else "neither dominates")
            label = name + ("" if r["alpha"] != r["alpha"] else f" alpha={r['alpha']:g}")
            lines.append(f"{label}: action {r['action_top1']:.3f}, privacy {r['privacy_top1']:.3f} "
                         f"({r['strongest_attacker']}), f_0.5 {f:.3f} vs BDQ alpha={alpha:g} {bdq['action_top1']:.3f} / "
                         f"{bdq['privacy_top1']:.3f}, f_0.5 {fb:.3f} -> {verdict}")
    return "\n".join(lines) or "no comparator ran"


def _row(table: pd.DataFrame, method: str, alpha=None):
    sel = table[(table["protocol"] == "retrain") & (table["method"] == method)]
    if alpha is not None:
        sel = sel[sel["alpha"] == alpha]
    return sel.iloc[0] if len(sel) else None


def attacker_wins(table: pd.DataFrame, per_attacker: pd.DataFrame, privacy_model: str, alpha: float) -> str:
    """Which attacker was strongest how often, and what the paper's single attacker alone would have reported."""
    retrain = table[table["protocol"] == "retrain"]
    wins = retrain["strongest_attacker"].value_counts()
    text = "strongest attacker per encoder: " + ", ".join(f"{name} {n}x" for name, n in wins.items())
    bdq = _row(table, HEADLINE, alpha)
    if privacy_model in per_attacker and bdq is not None:
        b = per_attacker[privacy_model].get(f"{HEADLINE} a={alpha:g}")
        if b is not None:
            text += (f"\nthe paper's attacker alone ({privacy_model}, pretrained) would report BDQ privacy {b:.3f}; "
                     f"the suite reports {bdq['privacy_top1']:.3f} ({bdq['strongest_attacker']}).")
    return text


def against_baselines(table: pd.DataFrame, alpha: float) -> str:
    """BDQ at `alpha` against raw and against the best naive baseline of the run (by f_0.5)."""
    raw, bdq = _row(table, REFERENCE), _row(table, HEADLINE, alpha)
    if raw is None or bdq is None:
        return "raw or BDQ not validated in this run"
    anchor = published.kth_anchor()
    text = (f"BDQ alpha={alpha:g}: privacy {bdq['privacy_top1']:.2f} vs raw {raw['privacy_top1']:.2f} (chance "
            f"{bdq['privacy_chance']:.2f}) -> removes {bdq['privacy_removed']:.0%} of raw's above-chance privacy "
            f"(SPPA's Table 2 on real KTH: ~{anchor['removed']:.0%}); action {bdq['action_top1']:.2f} vs raw "
            f"{raw['action_top1']:.2f}.")
    retrain = table[table["protocol"] == "retrain"]
    naive = retrain[[methods.is_method(m) and methods.family(m) in ("pixelate", "blur", "downsample")
                     for m in retrain["method"]]]
    if len(naive):
        best = naive.sort_values("f_0.5", ascending=False).iloc[0]
        verdict = "higher" if bdq["f_0.5"] > best["f_0.5"] else "not higher"
        text += f"\nf_0.5: BDQ {bdq['f_0.5']:.3f}; best baseline {best['method']} {best['f_0.5']:.3f} -> BDQ's is {verdict}."
    else:
        text += "\nNo naive baseline in this run (04's BASELINES): nothing to compare BDQ with there."
    return text


def ablation(table: pd.DataFrame, alpha: float) -> str:
    """The module combinations at `alpha` against the paper's Fig. 4 (SBU), and alpha against alpha = 0."""
    lines = []
    mods = {n: _row(table, n, alpha) for n in MODULE_NAMES}
    mods = {n: r for n, r in mods.items() if r is not None}
    for name, r in mods.items():
        lines.append(f"{name:6s} action {r['action_top1']:.2f}  privacy {r['privacy_top1']:.2f}  "
                     f"removed {r['privacy_removed']:.0%}")
    if mods and _row(table, REFERENCE) is not None:
        best = min(mods, key=lambda n: mods[n]["privacy_top1"])
        lines.append(f"vs the paper (Fig. 4, SBU): among the combinations run ({', '.join(mods)}), the lowest privacy "
                     f"is {best}'s (paper: B+D+Q) -> {'matches' if best == 'B+D+Q' else 'differs'}.")
        for name in ("B", "D", "Q"):
            if name in mods:
                near = mods[name]["privacy_removed"] < 0.25  # "close to raw" for privacy: removes under a quarter
                lines.append(f"{name} alone close to raw for privacy: {near} (removes "
                             f"{mods[name]['privacy_removed']:.0%}; paper: yes)")
    bdq, bdq0 = _row(table, HEADLINE, alpha), _row(table, HEADLINE, 0.0)
    if bdq0 is not None and bdq is not None and alpha != 0:
        verdict = "more private" if bdq["privacy_top1"] < bdq0["privacy_top1"] else "NOT more private"
        lines.append(f"alpha={alpha:g} vs alpha=0 (no adversary): privacy {bdq['privacy_top1']:.2f} vs "
                     f"{bdq0['privacy_top1']:.2f} -> the adversarially trained encoder is {verdict}.")
    return "\n".join(lines)


def study_against_paper(criterion: str, per_question: int) -> str:
    """The paper's figure for one of the study's criteria."""
    if criterion == "all_correct" and per_question == 2:
        got, chance = published.BDQ_STUDY["all_correct"]
    elif criterion == "at_least_one":
        got, chance = published.BDQ_STUDY["at_least_one"]
    else:
        return "the paper has no one-person study"
    return f"paper: {got}% vs {chance}% ({published.BDQ_STUDY['source']})"
