"""Computed sentences: what the notebooks print about a run, from its results and predictions only (never written by
hand). Every comparative sentence comes from a verdict on paired bootstrap replicates (bdqlib.report.tables,
bdqlib.report.stats): "X > Y", "X < Y", or "not distinguishable at this size (n = ...)"; every number is the mean
over the run's seeds with its 95 % interval.

`run` is anything with .result(method, alpha), .rows(method, alpha), .results(None), .predictions() and .cfg
(bdqlib.experiments.run.Run). The reference is the raw video and the headline BDQ at the run's alpha: those two
names are roles here, not dispatch.
"""
from __future__ import annotations

import pandas as pd

from .. import methods
from ..core.encoder import MODULE_NAMES
from . import published
from .stats import interval
from .tables import Evaluation, label

REFERENCE, HEADLINE = "raw", "bdq"


def evaluation(run, protocol: str = "retrain") -> Evaluation:
    return Evaluation(run.results(attacker=None), run.predictions(), protocol=protocol)


def _value(ev: Evaluation, key: tuple, metric: str) -> str:
    """"0.675 (0.61-0.74)": the mean over seeds and its 95 % interval."""
    reps = ev.replicates(key)
    if reps is None or metric not in reps:
        return "n/a"
    point, r = reps[metric]
    lo, hi = interval(r)
    return f"{point:.3f} ({lo:.3f}-{hi:.3f})" if metric not in ("removed", "kept") else \
        f"{point:.0%} ({lo:.0%}-{hi:.0%})"


def headline(run, alpha: float, ev: Evaluation | None = None) -> str:
    """The run's headline sentence: raw vs BDQ at `alpha` (and alpha = 0), with seeds and intervals."""
    ev = ev or evaluation(run)
    if run.result(REFERENCE) is None or run.result(HEADLINE, alpha) is None or not ev.available:
        return "raw or BDQ not validated yet in this run"
    bdq, raw = (HEADLINE, alpha), (REFERENCE, None)
    rows = run.results()
    seeds = rows[(rows["method"] == HEADLINE) & (rows["protocol"] == "retrain")]["seed"].nunique()
    measured = (f"Privacy is the attacker chosen on validation for each seed: raw {_value(ev, raw, 'privacy')}, "
                f"BDQ {_value(ev, bdq, 'privacy')}; action raw {_value(ev, raw, 'action')}, BDQ "
                f"{_value(ev, bdq, 'action')}.")
    chance = raw_identity_at_chance(run, ev)
    if chance is not None:  # a ratio over an above-chance identity that is not there says nothing
        return (f"The attack suite does not identify people on the raw video above chance here (raw privacy "
                f"{_value(ev, raw, 'privacy')}, chance {chance:.3f}; means over {seeds} seed(s), 95% intervals over "
                f"seeds and test videos), so how much identity BDQ (alpha={alpha:g}) removes is not measurable in this "
                f"run: a stronger attacker is needed first. BDQ keeps {_value(ev, bdq, 'kept')} of raw's action. "
                + measured)
    text = (f"BDQ (alpha={alpha:g}) removes {_value(ev, bdq, 'removed')} of raw's above-chance identity and keeps "
            f"{_value(ev, bdq, 'kept')} of its action (means over {seeds} seed(s), 95% intervals over seeds and test "
            f"videos). " + measured)
    if run.result(HEADLINE, 0.0) is not None and alpha != 0:
        v = ev.verdict(bdq, (HEADLINE, 0.0), "removed")
        text += f" Without the adversary (alpha=0) it removes {_value(ev, (HEADLINE, 0.0), 'removed')}" + \
            (f"; {v.text}." if v else ".")
    anchor = published.kth_anchor()
    text += (f" For scale: {anchor['removed']:.0%} removed on real KTH by {anchor['source']} -- another dataset and "
             f"another protocol.")
    return text


def raw_identity_at_chance(run, ev: Evaluation) -> float | None:
    """The chance level where raw's privacy interval reaches down to it (the attackers found no identity to remove:
    removal, a ratio over raw's above-chance identity, means nothing); None where raw is above chance."""
    reps = ev.replicates((REFERENCE, None))
    rows = run.results()
    raw_rows = rows[(rows["method"] == REFERENCE) & (rows["protocol"] == ev.protocol)]
    if reps is None or "privacy" not in reps or not len(raw_rows):
        return None
    chance = float(raw_rows["privacy_chance"].mean())
    low, _ = interval(reps["privacy"][1])
    return chance if low <= chance else None


def compare_with_headline(run, alpha: float, names: list, ev: Evaluation | None = None) -> str:
    """Each named method against BDQ at `alpha`: identity removed and action kept, as verdicts."""
    ev = ev or evaluation(run)
    if run.result(HEADLINE, alpha) is None:
        return "BDQ not validated in this run: nothing to compare with"
    lines = []
    for name in dict.fromkeys(names):
        key = (name, pipeline_alpha(name, alpha))
        if run.result(*key) is None:
            continue
        parts = [f"{label(*key)}: removes {_value(ev, key, 'removed')}, keeps {_value(ev, key, 'kept')}"]
        for metric in ("removed", "kept"):
            v = ev.verdict(key, (HEADLINE, alpha), metric)
            if v is not None:
                parts.append(v.text)
        lines.append("; ".join(parts))
    return "\n".join(lines) or "no comparator ran"


def pipeline_alpha(name: str, alpha):
    """The alpha a method's row carries: `alpha` for one that takes one, else None."""
    return alpha if methods.is_method(name) and methods.resolve(name)[0].takes_alpha else None


def attacker_wins(table: pd.DataFrame, per_attacker: pd.DataFrame, privacy_model: str, alpha: float) -> str:
    """Which attacker was chosen (on validation) how often, and what the paper's single attacker alone reports."""
    retrain = table[table["protocol"] == "retrain"]
    wins = retrain["strongest_attacker"].value_counts()
    text = "attacker chosen on validation, per encoder and seed: " + ", ".join(f"{n} {k}x" for n, k in wins.items())
    if "oracle_attacker" in retrain:
        differ = int((retrain["oracle_attacker"] != retrain["strongest_attacker"]).sum())
        text += f"; the test maximum (the oracle column) is another attacker's for {differ} of {len(retrain)}"
    bdq = retrain[(retrain["method"] == HEADLINE) & (retrain["alpha"] == alpha)]
    if privacy_model in per_attacker and len(bdq):
        b = per_attacker[privacy_model].get(f"{HEADLINE} a={alpha:g}")
        if b is not None:
            text += (f"\nthe paper's attacker alone ({privacy_model}, pretrained) reports BDQ privacy {b:.3f} (mean "
                     f"over seeds); the attacker chosen on validation {bdq['privacy_top1'].mean():.3f}.")
    return text


def against_baselines(run, alpha: float, ev: Evaluation | None = None) -> str:
    """BDQ at `alpha` against the best naive baseline of the run (by f_0.5), as a verdict."""
    ev = ev or evaluation(run)
    if run.result(REFERENCE) is None or run.result(HEADLINE, alpha) is None:
        return "raw or BDQ not validated in this run"
    anchor = published.kth_anchor()
    text = (f"BDQ alpha={alpha:g} removes {_value(ev, (HEADLINE, alpha), 'removed')} of raw's above-chance identity "
            f"(SPPA's Table 2 on real KTH: ~{anchor['removed']:.0%}) and keeps {_value(ev, (HEADLINE, alpha), 'kept')} "
            f"of its action.")
    table = ev.table()
    naive = table[[methods.is_method(m) and methods.family(m) in ("pixelate", "blur", "downsample")
                   for m in table["method"]]] if len(table) else table
    if len(naive):
        best = naive.iloc[0]  # the table is sorted by f_0.5
        v = ev.verdict((HEADLINE, alpha), (best["method"], None), "f_0.5")
        text += f"\nagainst the best naive baseline by f_0.5 ({best['method']}): " + (v.text if v else "n/a")
    else:
        text += "\nNo naive baseline in this run (04's BASELINES): nothing to compare BDQ with there."
    return text


def ablation(run, alpha: float, ev: Evaluation | None = None) -> str:
    """The module combinations at `alpha` (paper Fig. 4, SBU) and alpha against alpha = 0, as verdicts."""
    ev = ev or evaluation(run)
    lines = []
    mods = [n for n in MODULE_NAMES if run.result(n, alpha) is not None]
    for name in mods:
        lines.append(f"{name:6s} action {_value(ev, (name, alpha), 'action')}  privacy "
                     f"{_value(ev, (name, alpha), 'privacy')}  removed {_value(ev, (name, alpha), 'removed')}")
    full = ("B+D+Q", alpha)
    for name in mods:
        if name != "B+D+Q":
            v = ev.verdict((name, alpha), full, "privacy")
            if v is not None:
                lines.append(f"vs B+D+Q (the paper: B+D+Q lowest): {v.text}")
    if run.result(HEADLINE, 0.0) is not None and alpha != 0:
        v = ev.verdict((HEADLINE, alpha), (HEADLINE, 0.0), "privacy")
        if v is not None:
            lines.append(f"the adversary's effect on privacy: {v.text}")
    return "\n".join(lines) or "no module combination in this run"


def study_against_paper(criterion: str, per_question: int) -> str:
    """The paper's figure for one of the study's criteria."""
    if criterion == "all_correct" and per_question == 2:
        got, chance = published.BDQ_STUDY["all_correct"]
    elif criterion == "at_least_one":
        got, chance = published.BDQ_STUDY["at_least_one"]
    else:
        return "the paper has no one-person study"
    return f"paper: {got}% vs {chance}% ({published.BDQ_STUDY['source']})"
