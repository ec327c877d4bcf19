"""People in the loop, with ipywidgets: taking the identification study, and looking at what an encoder does.

Every widget is built and driven through its callbacks without a browser (the tests click through them), and
does nothing harmful under papermill, where there is no front end to show it.
"""
from __future__ import annotations

import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display
from PIL import Image

from ..platform import headless
from ..report import plots
from .design import Study, binomial_summary, hits, next_question, participant_file, read_answers, record_answer
from .views import StudyMedia, question_view


class StudyApp:
    """One participant taking a study: the encoded clip loops at the top, the candidates' raw frames below, each
    with a toggle; Submit is enabled once exactly the right number of candidates is picked. Each answer is
    written to <folder>/answers-<participant>.csv at once (atomically), so closing the tab loses nothing and
    opening the app again with the same name resumes at the first unanswered question."""

    def __init__(self, study: Study, media: StudyMedia, folder, participant: str):
        self.study, self.media, self.participant = study, media, participant.strip()
        self.path = participant_file(folder, participant)
        self.answers = read_answers(self.path)
        k = study.candidates
        self.progress = widgets.IntProgress(min=0, max=len(study.questions))
        self.prompt = widgets.HTML()
        self.clip = widgets.Image(format="gif")
        self.faces = [widgets.Image(format="png") for _ in range(k)]
        self.toggles = [widgets.ToggleButton(description="", layout=widgets.Layout(width="auto")) for _ in range(k)]
        for t in self.toggles:
            t.observe(self._on_toggle, names="value")
        self.submit = widgets.Button(description="Submit", button_style="primary", disabled=True)
        self.submit.on_click(self._on_submit)
        self.message = widgets.HTML()
        self.gallery = widgets.HBox([widgets.VBox([f, t]) for f, t in zip(self.faces, self.toggles)],
                                    layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([self.progress, self.prompt, self.clip, self.gallery, self.submit, self.message])
        self.current = None
        self._show(next_question(study, self.answers))

    def _show(self, number: int | None) -> None:
        self.current = number
        self.progress.value = len(self.answers)
        for t in self.toggles:
            t.value = False
        for part in (self.clip, self.gallery, self.submit):  # after the last answer only the score remains
            part.layout.display = "none" if number is None else None
        if number is None:
            self.submit.disabled = True
            self.prompt.value = "<b>Done -- thank you.</b> " + self.summary()
            return
        view = question_view(self.study, self.study.questions[number - 1], self.media)
        self.prompt.value = view.prompt()
        self.clip.value = view.clip
        # at its own size: a browser stretches an image widget to the page's width, pushing the candidates out of view
        self.clip.width = str(Image.open(io.BytesIO(view.clip)).width)
        for face, toggle, (letter, png) in zip(self.faces, self.toggles, view.gallery):
            face.value, toggle.description = png, letter

    def picked(self) -> str:
        return "".join(t.description for t in self.toggles if t.value)

    def _on_toggle(self, _change) -> None:
        self.submit.disabled = self.current is None or len(self.picked()) != self.study.per_question

    def _on_submit(self, _button) -> None:
        if self.current is None or len(self.picked()) != self.study.per_question:
            return
        self.answers = record_answer(self.study, self.path, self.participant, self.current, self.picked())
        self.message.value = f"saved ({len(self.answers)} answered, in {self.path.name})"
        self._show(next_question(self.study, self.answers))

    def summary(self) -> str:
        """This participant's score so far against chance (both people right, for two-person questions)."""
        s = binomial_summary(hits(self.answers, "all_correct"), len(self.answers), self.study.chance()["all_correct"])
        return (f"{s['correct']} of {s['n']} correct ({s['accuracy']:.0%}, 95% CI {s['ci_low']:.0%}-"
                f"{s['ci_high']:.0%}); chance {s['chance']:.1%}: {s['verdict']}.")


class EncoderExplorer:
    """Pick a clip, an encoder (a method / alpha; with `results`, a point of the trade-off plot) and a frame; see
    the clip after each module the encoder runs, side by side, with its quantization staircase.

    clips: name -> (C, T, H, W) clip as the datasets give it. encoders: label -> encoder (for a trade-off point,
    label it with `plots.row_label` of its row). The first view is also saved to `path` (a static figure for
    headless runs). `self.figure` is the figure last drawn; show `self.widget`.
    """

    def __init__(self, clips: dict, encoders: dict, *, mean, std, results: pd.DataFrame | None = None, path=None,
                 interactive: bool | None = None):
        self.clips, self.encoders, self.mean, self.std, self.results = clips, encoders, mean, std, results
        # Headless runs (run_all.sh sets BDQ_HEADLESS) only save the first view: a widget's Output capture in a
        # papermill kernel, with no front end, has been seen to leave the cell's execution hanging.
        self.interactive = not headless() if interactive is None else interactive
        self.pick_clip = widgets.Dropdown(options=list(clips), description="clip")
        self.pick_encoder = widgets.Dropdown(options=list(encoders), description="encoder")
        frames = next(iter(clips.values())).shape[1]
        self.pick_frame = widgets.IntSlider(min=0, max=frames - 2, value=0, description="frame")
        self.out = widgets.Output()
        for w in (self.pick_clip, self.pick_encoder, self.pick_frame):
            w.observe(self.draw, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.pick_clip, self.pick_encoder, self.pick_frame]), self.out])
        self.figure = None
        self.draw(path=path)

    def draw(self, _change=None, *, path=None) -> None:
        point = self.pick_encoder.value
        self.figure = plots.plot_encoder_stages(self.encoders[point], self.clips[self.pick_clip.value],
                                                self.pick_frame.value, path, mean=self.mean, std=self.std,
                                                results=self.results, point=point if self.results is not None else None)
        if self.interactive:
            with self.out:
                self.out.clear_output(wait=True)
                display(self.figure)
        plt.close(self.figure)

    def show(self) -> None:
        """Display the widget (interactive), or say where the static view went (headless)."""
        if self.interactive:
            display(self.widget)
        else:
            print("headless run: the explorer's first view is saved as a figure; open the notebook in Jupyter to "
                  "explore")
