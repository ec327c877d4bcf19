"""Intervals over test videos and seeds, and computed verdicts (bdqlib.report.stats, bdqlib.report.tables)."""
import numpy as np
import pandas as pd
import pytest
import scipy.stats

from bdqlib.report import stats
from bdqlib.report.tables import Evaluation, with_intervals


def per_video(rng, videos, clips, p):
    hits = rng.binomial(clips, p, size=videos).astype(float)
    return hits, np.full(videos, float(clips))


def test_one_seed_is_the_video_bootstrap_scipy_computes():
    rng = np.random.default_rng(0)
    hits, clips = per_video(rng, 60, 4, 0.6)
    sample = stats.Sample({0: hits}, {0: clips})
    plan = stats.Plan.make({0: np.arange(60)}, resamples=4000)
    ours = stats.interval(plan.replicates(sample))
    ref = scipy.stats.bootstrap((hits, clips), lambda h, n: h.sum() / n.sum(), paired=True, vectorized=False,
                                method="percentile", n_resamples=4000, random_state=1).confidence_interval
    assert sample.point() == pytest.approx(hits.sum() / clips.sum())
    assert ours[0] == pytest.approx(ref.low, abs=0.012) and ours[1] == pytest.approx(ref.high, abs=0.012)


def test_seeds_that_disagree_widen_the_interval_of_their_mean():
    rng = np.random.default_rng(1)
    videos = {s: np.arange(60) for s in range(3)}
    same = stats.Sample({s: per_video(np.random.default_rng(s), 60, 4, 0.6)[0] for s in range(3)},
                        {s: np.full(60, 4.0) for s in range(3)})
    spread = stats.Sample({s: per_video(rng, 60, 4, p)[0] for s, p in zip(range(3), (0.3, 0.6, 0.9))},
                          {s: np.full(60, 4.0) for s in range(3)})
    plan = stats.Plan.make(videos)
    lo1, hi1 = stats.interval(plan.replicates(same))
    lo2, hi2 = stats.interval(plan.replicates(spread))
    assert hi2 - lo2 > 2 * (hi1 - lo1)


def fake_run(privacy_b: float, *, seeds=(0, 1, 2), videos=60, clips=4, seed=0, privacy_raw=0.95, action_raw=0.8):
    """results.csv and predictions.csv of raw (privacy 0.95; chance 0.1) and two encoders a (privacy 0.4) and b."""
    rng = np.random.default_rng(seed)
    results, preds = [], []
    for s in seeds:
        for method, alpha, p_priv in (("raw", float("nan"), privacy_raw), ("a", 1.0, 0.4), ("b", float("nan"), privacy_b)):
            results.append({"dataset": "x", "method": method, "alpha": alpha, "protocol": "retrain",
                            "attacker": "strongest", "split": "video", "seed": s, "action_top1": 0.8,
                            "privacy_top1": 0.0, "privacy_chance": 0.1, "action_chance": 0.2,
                            "strongest_attacker": "att", "action_network": "act"})
            for network, target, p in (("att", "identity", p_priv),
                                       ("act", "action", action_raw if method == "raw" else 0.8)):
                for v in range(videos):
                    for c in range(clips):
                        hit = rng.random() < p
                        preds.append({"dataset": "x", "method": method, "alpha": alpha, "protocol": "retrain",
                                      "network": network, "target": target, "split": "video", "seed": s,
                                      "clip": v * clips + c, "video": f"v{v}", "label": 1, "pred": 1 if hit else 0})
    return pd.DataFrame(results), pd.DataFrame(preds)


def test_verdicts_are_computed_for_separated_and_for_overlapping_results():
    results, preds = fake_run(privacy_b=0.9)  # b removes far less than a: separated
    ev = Evaluation(results, preds, resamples=1000)
    v = ev.verdict(("a", 1.0), ("b", None), "removed")
    assert v.low > 0 and v.text.startswith("a alpha=1 removed > b")
    assert ev.verdict(("b", None), ("a", 1.0), "removed").text.startswith("b removed < a alpha=1")
    results, preds = fake_run(privacy_b=0.41, seed=3)  # as good as a: overlapping
    v = Evaluation(results, preds, resamples=1000).verdict(("a", 1.0), ("b", None), "removed")
    assert v.low < 0 < v.high and "not distinguishable at this size" in v.text and "60 test videos x 3 seeds" in v.text


def test_the_table_has_every_metric_with_an_interval_and_recomputes_from_predictions():
    results, preds = fake_run(privacy_b=0.7)
    table = Evaluation(results, preds, resamples=500).table()
    a = table.set_index("method").loc["a"]
    hits = preds[(preds["method"] == "a") & (preds["network"] == "att")]
    assert a["privacy"] == pytest.approx(hits.groupby("seed").apply(lambda g: (g["label"] == g["pred"]).mean()).mean())
    for metric in ("action", "privacy", "removed", "kept", "f_0.5"):
        assert a[f"{metric}_low"] <= a[metric] <= a[f"{metric}_high"], metric
    assert a["seeds"] == 3 and "±" in with_intervals(table)["privacy"].iloc[0]


def test_a_protocol_no_encoder_was_evaluated_under_gives_an_empty_table():
    results = pd.DataFrame(columns=["method", "alpha", "protocol", "attacker", "seed"])
    table = Evaluation(results, pd.DataFrame(), protocol="frozen_clean").table()
    shown = with_intervals(table, metrics=("action", "privacy"))
    assert len(shown) == 0 and list(shown.columns) == ["method", "alpha", "seeds", "action", "privacy"]


def test_kept_is_undefined_not_an_error_where_raw_action_is_zero():
    results, preds = fake_run(privacy_b=0.7, action_raw=0.0)  # a tiny SMOKE run (Weizmann's) got there
    a = Evaluation(results, preds, resamples=200).table().set_index("method").loc["a"]
    assert np.isnan(a["kept"]) and a["removed"] > 0 and a["action"] == pytest.approx(0.8, abs=0.05)


def test_a_table_of_some_encoders_is_theirs_and_raws_with_the_intervals_of_the_whole():
    """A notebook shows its own encoders (Evaluation(only=...)): rows another notebook adds beside it, at any moment,
    change nothing in it -- neither which rows nor their intervals."""
    results, preds = fake_run(privacy_b=0.7)
    whole = Evaluation(results, preds, resamples=300).table().set_index("method")
    mine = Evaluation(results, preds, resamples=300, only=[("a", 1.0)]).table().set_index("method")
    assert sorted(mine.index) == ["a", "raw"]
    pd.testing.assert_frame_equal(mine.loc[["a", "raw"]], whole.loc[["a", "raw"]])
    assert sorted(Evaluation(results, preds, resamples=50, only=[("b", float("nan"))]).table()["method"]) == ["b", "raw"]
