import io

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bdqlib import BDQEncoder
from bdqlib.config import make_config  # noqa: E402
from bdqlib.methods import build_fixed  # noqa: E402
from bdqlib.study import widgets  # noqa: E402
from bdqlib.study.design import build_study, read_answers  # noqa: E402

from .test_study import manifests  # noqa: E402
from .test_views import media_for  # noqa: E402


def answer(app, right: bool):
    """Click the right candidate (or a wrong one), then Submit -- through the widgets' own callbacks."""
    q = app.study.questions[app.current - 1]
    truth = q.candidates.index(q.answer[0])
    pick = truth if right else (truth + 1) % len(q.candidates)
    app.toggles[pick].value = True
    assert not app.submit.disabled
    app.submit.click()


def test_study_app_saves_each_answer_resumes_and_scores(tmp_path):
    test, train = manifests()
    study = build_study(test, train, questions=4, candidates=3, seed=0)
    media = media_for(study)
    app = widgets.StudyApp(study, media, tmp_path, "ann")
    assert app.current == 1 and app.submit.disabled and app.clip.value == media.clips[1]
    assert app.clip.width == str(Image.open(io.BytesIO(media.clips[1])).width)  # shown at its own size
    assert [t.description for t in app.toggles] == ["A", "B", "C"]
    assert [f.value for f in app.faces] == [media.people[p] for p in study.questions[0].candidates]
    app.toggles[0].value = app.toggles[1].value = True  # two picked, one asked for: Submit stays off
    assert app.submit.disabled
    app.submit.click()
    assert not (tmp_path / "answers-ann.csv").exists()
    app.toggles[1].value = False
    app.toggles[0].value = False
    answer(app, right=True)
    answer(app, right=False)
    saved = read_answers(tmp_path / "answers-ann.csv")
    assert list(saved["question"]) == [1, 2] and list(saved["all_correct"]) == [True, False]
    assert app.current == 3 and not any(t.value for t in app.toggles) and app.progress.value == 2

    again = widgets.StudyApp(study, media, tmp_path, "ann")  # the tab was closed: resume
    assert again.current == 3
    answer(again, right=True)
    answer(again, right=True)
    assert again.current is None and again.submit.disabled and "3 of 4 correct" in again.prompt.value
    assert "chance 33.3%" in again.prompt.value
    assert [p.layout.display for p in (again.clip, again.gallery, again.submit)] == ["none"] * 3  # only the score

    other = widgets.StudyApp(study, media, tmp_path, "bob")  # a second participant: a second file
    assert other.current == 1 and sorted(p.name for p in tmp_path.glob("answers-*.csv")) == ["answers-ann.csv"]
    answer(other, right=True)
    assert sorted(p.name for p in tmp_path.glob("answers-*.csv")) == ["answers-ann.csv", "answers-bob.csv"]


def test_pairs_need_two_picks(tmp_path):
    test, train = manifests(pairs=True)
    study = build_study(test, train, questions=2, candidates=5, seed=0)
    app = widgets.StudyApp(study, media_for(study), tmp_path, "p")
    q = study.questions[0]
    first, second = (q.candidates.index(p) for p in q.answer)
    app.toggles[first].value = True
    assert app.submit.disabled
    app.toggles[second].value = True
    app.submit.click()
    assert bool(read_answers(app.path)["all_correct"].iloc[0]) and app.current == 2


def test_explorer_draws_every_stage_and_redraws_on_each_pick(tmp_path):
    torch.manual_seed(0)
    clips = {"one": torch.randn(3, 5, 12, 12), "two": torch.randn(3, 5, 12, 12)}
    encoders = {"bdq a=1": BDQEncoder().double(), "downsample28": build_fixed("downsample28", make_config("cpu", size=12)),
                "raw": BDQEncoder(False, False, False)}
    results = pd.DataFrame({"method": ["bdq", "downsample28", "raw"], "alpha": [1.0, float("nan"), float("nan")],
                            "protocol": "retrain", "action_top1": [0.8, 0.5, 0.9], "privacy_top1": [0.3, 0.6, 1.0]})
    ex = widgets.EncoderExplorer(clips, encoders, mean=(0.5,) * 3, std=(0.25,) * 3, results=results,
                                 path=tmp_path / "view.png")

    def titles():
        return [ax.get_title() for ax in ex.figure.axes]

    assert (tmp_path / "view.png").stat().st_size > 1000 and ex.pick_frame.max == 3  # 5 frames: 4 differences
    assert titles()[:4] == ["input (frame 0)", "B (frame 0)", "B+D (frame 0)", "B+D+Q (frame 0)"]
    assert titles()[4].startswith("staircase") and titles()[5] == "bdq a=1"
    marked = ex.figure.axes[5].collections[1].get_offsets()
    assert marked.tolist() == [[0.3, 0.8]]  # the picked point, on the trade-off
    ex.pick_frame.value = 3
    assert titles()[3] == "B+D+Q (frame 3)" and titles()[0] == "input (frame 3)"
    ex.pick_encoder.value = "downsample28"  # not a BDQ encoder: its input and output, no staircase
    assert titles() == ["input (frame 3)", "output (frame 3)", "downsample28"]
    ex.pick_encoder.value = "raw"
    assert titles() == ["input (frame 3)", "raw"]
    before = ex.figure
    ex.pick_clip.value = "two"
    assert ex.figure is not before


def test_headless_explorer_saves_its_view_and_shows_no_widget(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BDQ_HEADLESS", "1")  # what run_all.sh sets for papermill
    ex = widgets.EncoderExplorer({"one": torch.randn(3, 5, 12, 12)}, {"raw": BDQEncoder(False, False, False)},
                                 mean=(0.5,) * 3, std=(0.25,) * 3, path=tmp_path / "view.png")
    assert not ex.interactive and (tmp_path / "view.png").stat().st_size > 1000 and ex.out.outputs == ()
    ex.show()
    assert "headless run" in capsys.readouterr().out
