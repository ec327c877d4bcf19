"""The results table with seeds and intervals, and computed verdicts, from a run's results.csv and predictions.csv.

    ev = Evaluation(run.results(attacker=None), run.predictions())
    ev.table()                                   # one row per encoder: mean over seeds and 95 % intervals
    ev.verdict(("bdq", 1.0), ("raprivacy", None), "removed")   # "bdq removed > raprivacy ...", or "not
                                                               # distinguishable at this size (n = ...)"

Per encoder and seed, privacy is the attacker chosen on validation (results.csv's "strongest" row names it) and
action the action network chosen on validation; their test predictions are what is resampled (bdqlib.report.stats).
Derived quantities -- removal (P_raw - P) / (P_raw - chance), kept A / A_raw, f_0.5 = (A + 1 - P) / 2 -- are
computed on every replicate from the encoder's and the raw video's predictions on the same videos and seeds.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import stats
from .results import STRONGEST

REFERENCE = "raw"
METRICS = ("action", "privacy", "removed", "kept", "f_0.5")
HIGHER = {"action": "more action kept", "privacy": "more identity found", "removed": "more identity removed",
          "kept": "more action kept", "f_0.5": "a better trade-off"}


def _key(method: str, alpha) -> tuple:
    return method, (None if alpha is None or (isinstance(alpha, float) and math.isnan(alpha)) else float(alpha))


class Evaluation:
    """Every encoder of a run under one protocol, on one shared bootstrap plan."""

    def __init__(self, results: pd.DataFrame, predictions: pd.DataFrame, *, protocol: str = "retrain",
                 resamples: int = stats.RESAMPLES, only=None):
        """only: the encoders [(method, alpha), ...] to show (the raw video always, as the reference); None: every
        encoder of `results`. A notebook's table of its own encoders stays the same while another notebook, run
        beside it, adds rows to the same results.csv."""
        self.protocol = protocol
        self.rows = results[(results["protocol"] == protocol) & (results["attacker"] == STRONGEST)]
        if only is not None:
            keep = {_key(m, a) for m, a in only} | {_key(REFERENCE, None)}
            self.rows = self.rows[[_key(m, a) in keep for m, a in zip(self.rows["method"], self.rows["alpha"])]]
        preds = predictions[predictions["protocol"] == protocol] if len(predictions) else predictions
        self.available = len(preds) > 0
        if not self.available:
            return
        self._videos, self._sample = stats.samples_from(preds)
        self._resamples = resamples
        self._plans, self._cache = {}, {}
        self._preds = preds

    def plan(self, seeds) -> stats.Plan:
        """The shared replicates of a set of seeds (every encoder with the same seeds is resampled alike)."""
        seeds = tuple(sorted(seeds))
        if seeds not in self._plans:
            self._plans[seeds] = stats.Plan.make({s: self._videos[s] for s in seeds}, self._resamples)
        return self._plans[seeds]

    def encoders(self) -> list:
        keys = [_key(m, a) for m, a in zip(self.rows["method"], self.rows["alpha"])]
        return list(dict.fromkeys(keys))

    def _network_sample(self, key: tuple, target: str, column: str):
        """Per seed, the predictions of the network the encoder's strongest row names in `column`."""
        method, alpha = key
        rows = self._rows(key)
        parts = []
        for _, r in rows.iterrows():
            name = r.get(column) or ""
            if not isinstance(name, str) or not name:
                continue
            p = self._preds
            sel = p[(p["method"] == method) & (p["network"] == name) & (p["target"] == target)
                    & (p["seed"] == r["seed"])
                    & (p["alpha"].isna() if alpha is None else p["alpha"] == alpha)]
            parts.append(sel)
        if not parts or not sum(len(x) for x in parts):
            return None
        return self._sample(pd.concat(parts))

    def _rows(self, key: tuple) -> pd.DataFrame:
        method, alpha = key
        r = self.rows[self.rows["method"] == method]
        return r[r["alpha"].isna()] if alpha is None else r[r["alpha"] == alpha]

    def replicates(self, key: tuple, seeds=None) -> dict | None:
        """metric -> (point, replicates) for one encoder on the plan of `seeds` (default: the encoder's own seeds);
        None without predictions for it on those seeds."""
        key = _key(*key)
        action = self._network_sample(key, "action", "action_network")
        privacy = self._network_sample(key, "identity", "strongest_attacker")
        if action is None or privacy is None:
            return None
        seeds = tuple(sorted(seeds if seeds is not None else privacy.seeds))
        if (key, seeds) in self._cache:
            return self._cache[(key, seeds)]
        if not set(seeds) <= set(privacy.seeds) & set(action.seeds):
            return None
        plan = self.plan(seeds)
        action, privacy = action.restricted(seeds), privacy.restricted(seeds)
        raw = self._network_sample((REFERENCE, None), "identity", "strongest_attacker")
        raw_action = self._network_sample((REFERENCE, None), "action", "action_network")
        chance = float(self._rows(key)["privacy_chance"].iloc[0])
        a, p = plan.replicates(action), plan.replicates(privacy)
        out = {"action": (action.point(), a), "privacy": (privacy.point(), p),
               "f_0.5": (0.5 * (action.point() + 1 - privacy.point()), stats.f_lambda(a, p))}
        if raw is not None and raw_action is not None and set(seeds) <= set(raw.seeds) & set(raw_action.seeds):
            raw, raw_action = raw.restricted(seeds), raw_action.restricted(seeds)
            pr, ar = plan.replicates(raw), plan.replicates(raw_action)
            out["removed"] = (float(stats.removal(np.array(privacy.point()), np.array(raw.point()), chance)),
                              stats.removal(p, pr, chance))
            # kept is undefined where raw video's action accuracy is 0 (a tiny SMOKE run can get there)
            base = raw_action.point()
            out["kept"] = (action.point() / base if base > 0 else float("nan"),
                           np.where(ar > 0, a / np.maximum(ar, 1e-12), np.nan))
        self._cache[(key, seeds)] = out
        return out

    def table(self) -> pd.DataFrame:
        """One row per encoder: seeds, and for each metric the mean over seeds with its 95 % interval."""
        rows = []
        if not self.available:
            return pd.DataFrame()
        for key in self.encoders():
            reps = self.replicates(key)
            if reps is None:
                continue
            first = self._rows(key).iloc[0]
            seeds = tuple(sorted(int(x) for x in self._rows(key)["seed"]))
            row = {"method": key[0], "alpha": float("nan") if key[1] is None else key[1],
                   "seeds": len(seeds), "n": self.plan(seeds).size,
                   "privacy_chance": first["privacy_chance"], "action_chance": first["action_chance"]}
            for metric, (point, r) in reps.items():
                lo, hi = stats.interval(r)
                row.update({metric: point, f"{metric}_low": lo, f"{metric}_high": hi})
            rows.append(row)
        df = pd.DataFrame(rows)
        return df.sort_values("f_0.5", ascending=False).reset_index(drop=True) if len(df) else df

    def verdict(self, a: tuple, b: tuple, metric: str) -> stats.Verdict | None:
        """Computed comparison of two encoders on one metric, on the replicates of the seeds both have (paired);
        None if either has no predictions there."""
        seeds = set(self._rows(_key(*a))["seed"].astype(int)) & set(self._rows(_key(*b))["seed"].astype(int))
        if not self.available or not seeds:
            return None
        ra, rb = self.replicates(a, seeds), self.replicates(b, seeds)
        if ra is None or rb is None or metric not in ra or metric not in rb:
            return None
        return stats.compare(ra[metric][1], rb[metric][1], ra[metric][0], rb[metric][0],
                             names=(label(*_key(*a)), label(*_key(*b))), what=metric, higher=HIGHER[metric],
                             size=self.plan(seeds).size)


def label(method: str, alpha=None) -> str:
    return method + ("" if alpha is None or alpha != alpha else f" alpha={alpha:g}")


def with_intervals(table: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """The table as a reader sees it: "0.675 ± 0.040" (mean over seeds ± the 95 % interval's half-width); an empty
    table (no encoder evaluated under that protocol) as an empty one."""
    if len(table) == 0:
        return pd.DataFrame(columns=["method", "alpha", "seeds", *metrics])
    out = table[["method", "alpha", "seeds"]].copy()
    for m in metrics:
        if m in table:
            out[m] = [f"{v:.3f} ± {(hi - lo) / 2:.3f}" if v == v else "" for v, lo, hi in
                      zip(table[m], table[f"{m}_low"], table[f"{m}_high"])]
    return out
