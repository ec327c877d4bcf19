import pandas as pd

from bdqlib.report import published, summary


def test_the_computed_comparison_with_the_headline():
    base = {"protocol": "retrain", "strongest_attacker": "small2d", "alpha": float("nan")}
    results = pd.DataFrame([{**base, "method": "bdq", "alpha": 1.0, "action_top1": 0.7, "privacy_top1": 0.4},
                            {**base, "method": "alf", "alpha": 1.0, "action_top1": 0.6, "privacy_top1": 0.5},
                            {**base, "method": "elr28", "action_top1": 0.8, "privacy_top1": 0.3}])
    text = summary.compare_with_headline(results, 1.0, ["alf", "elr28"])
    assert "alf alpha=1: action 0.600" in text and "dominated by BDQ" in text
    assert "elr28: action 0.800" in text and "at least as good as BDQ on both axes" in text
    assert "nothing to compare" in summary.compare_with_headline(results, 2.0, ["alf"])


def test_the_kth_anchor_is_sppas_table_2_and_computes_to_96_percent():
    anchor = published.kth_anchor()
    assert round(anchor["removed"], 3) == round((90.00 - 7.15) / (90.00 - 4.0), 3)
    assert "SPPA" in anchor["source"] and "Table 2" in anchor["source"]
