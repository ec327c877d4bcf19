"""Computed sentences: every comparison a verdict on paired replicates, every number a mean with its interval."""
from bdqlib.report import published, summary

from .test_stats import fake_run


class FakeRun:
    """What summary reads of a run: its rows and predictions."""

    def __init__(self, results, predictions):
        self._results, self._predictions = results, predictions

    def results(self, attacker="strongest"):
        return self._results if attacker is None else self._results[self._results["attacker"] == attacker]

    def predictions(self):
        return self._predictions

    def rows(self, method, alpha=None, protocol="retrain"):
        r = self._results[(self._results["method"] == method) & (self._results["protocol"] == protocol)]
        r = r[r["alpha"].isna()] if alpha is None else r[r["alpha"] == alpha]
        return r.to_dict("records")

    def result(self, method, alpha=None, protocol="retrain"):
        rows = self.rows(method, alpha, protocol)
        return rows[-1] if rows else None


def test_comparisons_with_the_headline_are_verdicts():
    results, preds = fake_run(privacy_b=0.9)
    results = results.replace({"method": {"a": "bdq"}})
    preds = preds.replace({"method": {"a": "bdq"}})
    run = FakeRun(results, preds)
    text = summary.compare_with_headline(run, 1.0, ["b"])
    assert text.startswith("b: removes") and "b removed < bdq alpha=1" in text
    head = summary.headline(run, 1.0)
    assert "over 3 seed(s)" in head and "95% intervals" in head and "SPPA" in head
    close = FakeRun(*[d.replace({"method": {"a": "bdq"}}) for d in fake_run(privacy_b=0.41, seed=3)])
    assert "not distinguishable at this size" in summary.compare_with_headline(close, 1.0, ["b"])
    assert "nothing to compare" in summary.compare_with_headline(run, 2.0, ["b"])


def test_the_kth_anchor_is_sppas_table_2_and_computes_to_96_percent():
    anchor = published.kth_anchor()
    assert round(anchor["removed"], 3) == round((90.00 - 7.15) / (90.00 - 4.0), 3)
    assert "SPPA" in anchor["source"] and "Table 2" in anchor["source"]


def test_no_removal_is_claimed_where_raw_identity_is_not_above_chance():
    """Weizmann's aligned masks (outputs/weizmann-aligned-5fold): raw privacy 0.10 at a chance of 0.14 made the
    sentence "BDQ removes 72 % (-391 %-536 %)" -- a ratio over an identity the attackers never found."""
    results, preds = fake_run(privacy_b=0.1, privacy_raw=0.11)  # raw at chance (0.1)
    run = FakeRun(*[d.replace({"method": {"a": "bdq"}}) for d in (results, preds)])
    head = summary.headline(run, 1.0)
    assert "does not identify people on the raw video above chance" in head and "not measurable" in head
    assert "of raw's above-chance identity" not in head and "chance 0.100" in head
    above = FakeRun(*[d.replace({"method": {"a": "bdq"}}) for d in fake_run(privacy_b=0.1)])  # raw 0.95
    assert summary.headline(above, 1.0).startswith("BDQ (alpha=1) removes")
