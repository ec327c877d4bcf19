"""The subjective identification study (paper §5.5): questions built from a run, answer files, scores vs chance.

A question shows one encoded test clip and a gallery of k candidate people (raw frames from the training split);
the participant picks the m people who act in the clip (m = 1 for KTH-like data, 2 for actor pairs such as SBU,
whose identity label names both people joined by "+"). The paper (SBU, k = 7, m = 2, 26 participants) reports
8.65 % "both correct" against a chance of 1/C(7,2) = 4.76 %, and 65.64 % "at least one" against 52.38 %.

Everything here is plain data (no widgets, no torch): `bdqlib.study.widgets` shows it, `07_identification_study`
builds it from a run. Files, in <run>/study/: `study.json` (the questions and their answer key, with the
parameters that made them) and one `answers-<participant>.csv` per participant, rewritten atomically after each
answer so a study interrupted half-way resumes at the first unanswered question.
"""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from ..atomic import atomic_path, write_json_atomic

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ANSWER_COLUMNS = ["participant", "question", "chosen", "n_correct", "all_correct", "at_least_one", "answered_at"]


def people(identity) -> tuple:
    """The people of one identity label: "s01+s02" (an actor pair) -> ("s01", "s02"); "person03" -> ("person03",)."""
    return tuple(str(identity).split("+"))


def chance(k: int, m: int) -> dict:
    """Chance of a participant who picks m of k candidates at random, m of them right: all m right, at least one.

    k = 7, m = 2 gives the paper's 1/21 = 4.76 % and 1 - C(5,2)/C(7,2) = 52.38 %.
    """
    if not 1 <= m <= k:
        raise ValueError(f"need 1 <= m <= k, got m={m}, k={k}")
    total = math.comb(k, m)
    return {"all_correct": 1 / total, "at_least_one": 1 - math.comb(k - m, m) / total}


@dataclass(frozen=True)
class Question:
    number: int             # 1-based, the order shown
    clip: int               # row of the test split's manifest
    candidates: tuple       # people in display order (shown as letters A, B, ...)
    answer: tuple           # the people who act in the clip (a subset of candidates)

    def letters(self) -> str:
        return "".join(LETTERS[i] for i in range(len(self.candidates)))

    def score(self, chosen: str) -> dict:
        """chosen: the letters picked, e.g. "AC" -> n_correct, all_correct, at_least_one."""
        chosen = chosen.replace("+", "").upper()
        if len(chosen) != len(self.answer) or len(set(chosen)) != len(chosen) or set(chosen) - set(self.letters()):
            raise ValueError(f"question {self.number}: pick {len(self.answer)} distinct letter(s) of "
                             f"{self.letters()}, got {chosen!r}")
        n = len({self.candidates[LETTERS.index(c)] for c in chosen} & set(self.answer))
        return {"n_correct": n, "all_correct": n == len(self.answer), "at_least_one": n > 0}


@dataclass(frozen=True)
class Study:
    questions: tuple
    gallery: dict           # person -> row of the training split's manifest whose frame shows them
    params: dict            # what made it: method, alpha, seed, k, n requested, run config's dataset

    @property
    def per_question(self) -> int:
        return len(self.questions[0].answer)

    @property
    def candidates(self) -> int:
        return len(self.questions[0].candidates)

    def chance(self) -> dict:
        return chance(self.candidates, self.per_question)

    def to_json(self) -> dict:
        return {"params": self.params, "gallery": self.gallery, "questions": [asdict(q) for q in self.questions]}

    @classmethod
    def from_json(cls, obj: dict) -> "Study":
        qs = tuple(Question(q["number"], q["clip"], tuple(q["candidates"]), tuple(q["answer"]))
                   for q in obj["questions"])
        return cls(qs, dict(obj["gallery"]), dict(obj["params"]))


def build_study(test: pd.DataFrame, train: pd.DataFrame, *, questions: int = 60, candidates: int = 7,
                seed: int = 0, **params) -> Study:
    """A seeded study from the test and training manifests (columns video, subject).

    One question per test video (a clip of it, at random), as many as `questions` allows, spread over the
    identities in turn so that every person is asked about about equally often; `candidates` people per question
    (the true ones among them, at a random position), capped at the number of people in the training split. The
    gallery holds one training clip per person: the first of a randomly chosen training video they act in.
    """
    rng = np.random.default_rng(seed)
    pool = sorted({p for s in train["subject"] for p in people(s)})
    per_video = test.groupby("video", sort=True).apply(lambda d: int(rng.choice(d.index)), include_groups=False)
    by_identity: dict = {}
    for video, row in per_video.items():
        by_identity.setdefault(test.loc[row, "subject"], []).append(row)
    queues = [list(rng.permutation(rows)) for _, rows in sorted(by_identity.items())]
    order = []
    while any(queues):  # round robin over identities, in a shuffled order each round
        for i in rng.permutation(len(queues)):
            if queues[i]:
                order.append(int(queues[i].pop()))
    order = order[:questions]
    m = max(len(people(s)) for s in test["subject"])
    k = min(candidates, len(pool))
    if k < m + 1:
        raise ValueError(f"a study needs at least {m + 1} people in the training split, found {len(pool)}")
    qs = []
    for number, row in enumerate(order, 1):
        answer = people(test.loc[row, "subject"])
        missing = set(answer) - set(pool)
        if missing:
            raise ValueError(f"test clip {row} shows {sorted(missing)}, who are not in the training split")
        others = rng.choice(sorted(set(pool) - set(answer)), size=k - len(answer), replace=False).tolist()
        shown = list(answer) + others
        shown = tuple(shown[i] for i in rng.permutation(len(shown)))
        qs.append(Question(number, int(row), shown, tuple(sorted(answer))))
    gallery = {}
    for person in pool:
        videos = sorted(train.loc[train["subject"].map(lambda s: person in people(s)), "video"].unique())
        video = videos[int(rng.integers(len(videos)))]
        gallery[person] = int(train.index[train["video"] == video][0])
    return Study(tuple(qs), gallery, {"questions": questions, "candidates": candidates, "seed": seed, **params})


def open_study(folder, build) -> Study:
    """The study in `folder`/study.json, or `build()` saved there; a saved study made with other parameters is
    refused (its answer files refer to its questions)."""
    path = Path(folder) / "study.json"
    made = build()
    if path.is_file():
        saved = Study.from_json(json.loads(path.read_text()))
        if saved.params != made.params or saved.questions != made.questions:
            raise ValueError(f"{path} holds a study made with other parameters or data ({saved.params}); use "
                             f"another study folder or the same parameters")
        return saved
    write_json_atomic(path, made.to_json())
    return made


def participant_file(folder, participant: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", participant.strip())
    if not name:
        raise ValueError("participant name is empty")
    return Path(folder) / f"answers-{name}.csv"


def read_answers(path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=ANSWER_COLUMNS)
    df = pd.read_csv(path, dtype={"chosen": str, "participant": str})
    missing = set(ANSWER_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: not an answer file (lacks columns {sorted(missing)})")
    return df


def record_answer(study: Study, path, participant: str, number: int, chosen: str) -> pd.DataFrame:
    """Score one answer and rewrite the participant's file atomically; a question is answered once."""
    answers = read_answers(path)
    if number in set(answers["question"]):
        raise ValueError(f"{path}: question {number} is already answered")
    question = study.questions[number - 1]
    row = {"participant": participant, "question": number, "chosen": chosen.replace("+", "").upper(),
           **question.score(chosen), "answered_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    answers = pd.concat([answers, pd.DataFrame([row])], ignore_index=True) if len(answers) else pd.DataFrame([row])
    with atomic_path(path, suffix=".csv") as tmp:
        answers[ANSWER_COLUMNS].to_csv(tmp, index=False)
    return answers


def next_question(study: Study, answers: pd.DataFrame) -> int | None:
    """The first question not answered yet (1-based), or None when the study is complete."""
    done = set(answers["question"].astype(int))
    return next((q.number for q in study.questions if q.number not in done), None)


def binomial_summary(successes: int, trials: int, p0: float, *, level: float = 0.95) -> dict:
    """Accuracy with its exact (Clopper-Pearson) interval and the one-sided exact binomial test against p0."""
    if trials == 0:
        return {"n": 0, "correct": 0, "accuracy": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                "chance": p0, "p_value": float("nan"), "verdict": "no answers"}
    ci = binomtest(successes, trials, p0).proportion_ci(confidence_level=level, method="exact")
    p = binomtest(successes, trials, p0, alternative="greater").pvalue
    verdict = ("above chance" if p < 1 - level else "not distinguishable from chance")
    return {"n": trials, "correct": successes, "accuracy": successes / trials, "ci_low": ci.low, "ci_high": ci.high,
            "chance": p0, "p_value": p, "verdict": verdict}


def hits(answers: pd.DataFrame, criterion: str) -> int:
    """How many answers meet `criterion` ("all_correct" or "at_least_one"), read back from CSV as bool or text."""
    return int(answers[criterion].astype(str).str.lower().eq("true").sum())


def score(study: Study, folder) -> pd.DataFrame:
    """One row per participant file in `folder` and one pooled row, per criterion (all correct; with two people
    per question also at least one). Pooling treats every answer as an independent trial, as the paper's
    percentages do, although different participants answer the same questions."""
    files = sorted(Path(folder).glob("answers-*.csv"))
    frames = [read_answers(f).assign(file=f.name) for f in files]
    frames = [f for f in frames if len(f)]
    everyone = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ANSWER_COLUMNS + ["file"])
    criteria = ["all_correct"] + (["at_least_one"] if study.per_question > 1 else [])
    rows = []
    groups = [(f["participant"].iloc[0], f) for f in frames] + [("pooled", everyone)]
    for who, answers in groups:
        for criterion in criteria:
            rows.append({"participant": who, "criterion": criterion,
                         **binomial_summary(hits(answers, criterion), len(answers), study.chance()[criterion])})
    return pd.DataFrame(rows)
