import json
from collections import Counter

import pandas as pd
import pytest

from bdqlib.study import design as S


def manifests(people=("ann", "bob", "cid", "dee", "eve", "fay", "gus", "hal"), videos_per_person=4, pairs=False):
    """Hand-made test/train manifests: every identity has `videos_per_person` test videos (2 clips each) and two
    training videos. pairs: identities are actor pairs "x+y" of neighbours."""
    ids = [f"{a}+{b}" for a, b in zip(people, people[1:])] if pairs else list(people)
    test = [{"video": f"{i}_t{v}", "subject": i} for i in ids for v in range(videos_per_person) for _ in range(2)]
    train = [{"video": f"{i}_r{v}", "subject": i, "start": 1, "end": 10} for i in ids for v in range(2)]
    return pd.DataFrame(test), pd.DataFrame(train)


def test_chance_is_the_papers_for_seven_choose_two_and_one_in_k_for_one_person():
    two = S.chance(7, 2)
    assert two["all_correct"] == pytest.approx(1 / 21) and round(100 * two["all_correct"], 2) == 4.76
    assert two["at_least_one"] == pytest.approx(1 - 10 / 21) and round(100 * two["at_least_one"], 2) == 52.38
    assert S.chance(7, 1) == {"all_correct": pytest.approx(1 / 7), "at_least_one": pytest.approx(1 / 7)}
    with pytest.raises(ValueError, match="m <= k"):
        S.chance(3, 4)


def test_study_is_seeded_one_question_per_video_and_balanced_over_identities():
    test, train = manifests()
    a = S.build_study(test, train, questions=20, candidates=5, seed=3, method="bdq")
    assert a == S.build_study(test, train, questions=20, candidates=5, seed=3, method="bdq")
    assert a.questions != S.build_study(test, train, questions=20, candidates=5, seed=4).questions
    assert len(a.questions) == 20 and [q.number for q in a.questions] == list(range(1, 21))
    assert len({test.loc[q.clip, "video"] for q in a.questions}) == 20  # never two clips of one video
    asked = Counter(q.answer[0] for q in a.questions)
    assert max(asked.values()) - min(asked.values()) <= 1  # 8 people, 20 questions: 2 or 3 each
    for q in a.questions:
        assert len(q.candidates) == 5 == len(set(q.candidates)) and set(q.answer) <= set(q.candidates)
        assert q.answer == (test.loc[q.clip, "subject"],)
    positions = Counter(q.candidates.index(q.answer[0]) for q in a.questions)
    assert len(positions) >= 3  # the true person is not always at the same place
    assert set(a.gallery) == set(train["subject"])
    assert all(train.loc[row, "subject"] == person for person, row in a.gallery.items())


def test_study_takes_all_videos_when_fewer_than_asked_and_caps_candidates():
    test, train = manifests(people=("ann", "bob", "cid"), videos_per_person=2)
    s = S.build_study(test, train, questions=60, candidates=7)
    assert len(s.questions) == 6 and s.candidates == 3 and s.per_question == 1


def test_pairs_ask_for_both_people_and_the_gallery_shows_each_person_once():
    test, train = manifests(pairs=True)
    s = S.build_study(test, train, questions=10, candidates=7, seed=1)
    assert s.per_question == 2 and s.candidates == 7
    for q in s.questions:
        assert set(q.answer) == set(test.loc[q.clip, "subject"].split("+")) and set(q.answer) <= set(q.candidates)
    assert set(s.gallery) == {"ann", "bob", "cid", "dee", "eve", "fay", "gus", "hal"}
    assert all(p in train.loc[row, "subject"].split("+") for p, row in s.gallery.items())


def test_a_test_identity_missing_from_training_is_an_error():
    test, train = manifests()
    with pytest.raises(ValueError, match="not in the training split"):
        S.build_study(test, train[train["subject"] != "ann"], questions=40)


def test_scoring_one_question():
    q = S.Question(1, 0, ("ann", "bob", "cid"), ("bob",))
    assert q.score("B") == {"n_correct": 1, "all_correct": True, "at_least_one": True}
    assert q.score("a")["all_correct"] is False
    pair = S.Question(2, 0, ("ann", "bob", "cid", "dee"), ("ann", "dee"))
    assert pair.score("A+B") == {"n_correct": 1, "all_correct": False, "at_least_one": True}
    assert pair.score("DA")["all_correct"] is True
    for bad in ("E", "AA", "ABC", ""):
        with pytest.raises(ValueError, match="question 2"):
            pair.score(bad)


def test_answers_are_saved_per_participant_resume_and_refuse_a_second_answer(tmp_path):
    test, train = manifests()
    s = S.build_study(test, train, questions=4, candidates=3, seed=0)
    path = S.participant_file(tmp_path, "Dr. Who?")
    assert path.name == "answers-Dr__Who_.csv"
    right = "ABC"[s.questions[0].candidates.index(s.questions[0].answer[0])]
    S.record_answer(s, path, "Dr. Who?", 1, right)
    answers = S.record_answer(s, path, "Dr. Who?", 2, "ABC".replace(
        "ABC"[s.questions[1].candidates.index(s.questions[1].answer[0])], "")[0])
    assert list(answers["all_correct"]) == [True, False]
    assert S.next_question(s, S.read_answers(path)) == 3
    with pytest.raises(ValueError, match="already answered"):
        S.record_answer(s, path, "Dr. Who?", 1, "A")
    assert not list(tmp_path.glob(".*part*"))  # no temporary file left behind
    with pytest.raises(ValueError, match="empty"):
        S.participant_file(tmp_path, "  ")


def test_scores_per_participant_and_pooled_against_chance(tmp_path):
    test, train = manifests()
    s = S.build_study(test, train, questions=6, candidates=7, seed=0)
    for name, hits in (("p1", 6), ("p2", 0)):
        rows = [{"participant": name, "question": i + 1, "chosen": "A", "n_correct": int(i < hits),
                 "all_correct": i < hits, "at_least_one": i < hits, "answered_at": ""} for i in range(6)]
        pd.DataFrame(rows).to_csv(tmp_path / f"answers-{name}.csv", index=False)
    table = S.score(s, tmp_path).set_index("participant")
    assert set(table["criterion"]) == {"all_correct"}  # one person per question: no "at least one"
    assert table.loc["p1", "accuracy"] == 1 and table.loc["p1", "ci_high"] == 1
    assert table.loc["p1", "p_value"] == pytest.approx((1 / 7) ** 6)  # P(6 of 6 | chance 1/7)
    assert table.loc["p1", "verdict"] == "above chance"
    assert table.loc["p2", "ci_low"] == 0 and table.loc["p2", "p_value"] == pytest.approx(1.0)
    assert table.loc["p2", "verdict"] == "not distinguishable from chance"
    assert table.loc["pooled", "n"] == 12 and table.loc["pooled", "correct"] == 6
    # the exact interval for 6 of 12 (Clopper-Pearson), from the beta quantiles
    assert (table.loc["pooled", "ci_low"], table.loc["pooled", "ci_high"]) == (pytest.approx(0.2109, abs=1e-4),
                                                                               pytest.approx(0.7891, abs=1e-4))


def test_no_answers_score_as_no_answers_and_a_foreign_csv_is_refused(tmp_path):
    test, train = manifests(pairs=True)
    s = S.build_study(test, train, questions=3)
    table = S.score(s, tmp_path)
    assert list(table["criterion"]) == ["all_correct", "at_least_one"] and (table["verdict"] == "no answers").all()
    (tmp_path / "answers-x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="answers-x.csv.*not an answer file"):
        S.score(s, tmp_path)


def test_a_saved_study_is_reused_and_one_made_otherwise_is_refused(tmp_path):
    test, train = manifests()
    first = S.open_study(tmp_path, lambda: S.build_study(test, train, questions=5, seed=0))
    saved = json.loads((tmp_path / "study.json").read_text())
    assert len(saved["questions"]) == 5 and saved["params"]["seed"] == 0
    assert S.open_study(tmp_path, lambda: S.build_study(test, train, questions=5, seed=0)) == first
    with pytest.raises(ValueError, match="other parameters"):
        S.open_study(tmp_path, lambda: S.build_study(test, train, questions=5, seed=1))
