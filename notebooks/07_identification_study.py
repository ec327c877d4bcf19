# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # 07 · Can people tell who it is? The subjective identification study (paper §5.5)
#
# Attackers are networks; the paper also asks people. Each question shows one **encoded test clip** (looping) and
# a gallery of candidate people as **raw** frames from the training split, one of them (two, for actor pairs
# such as SBU) the person acting in the clip; the participant picks them. The paper (SBU, 60 questions, 7
# candidate faces, pick both actors, 26 participants) reports 8.65 % "both correct" against a chance of
# 1/C(7,2) = 4.76 %, and 65.64 % "at least one correct" against 1 - C(5,2)/C(7,2) = 52.38 %.
#
# * The study is built from this run, seeded: the same run and parameters give the same questions. One question
#   per test video, spread over the identities; the true people sit at random positions among the candidates,
#   and what is shown names nobody (candidates are letters).
# * **Take it**: open this notebook in Jupyter, Colab or Kaggle with `PARTICIPANT = "your name"` and run it. Each
#   answer is saved at once to `study/answers-<participant>.csv` in the run folder; running it again with the
#   same name resumes, and another name starts another file.
# * **Headless** (papermill, `./run_all.sh`): builds the study, shows a preview of its first questions, and scores
#   whatever answer files exist -- it never invents a participant.
# * `ENCODER = "raw"` builds the same study on the raw clips: a control that shows whether people can do the task
#   at all at this resolution (put it in another `STUDY_DIR`).

# %% tags=["parameters"]
DATASET = "synthetic"
DATA_DIR = ""
PROFILE = "cpu"
ALPHA = None
EPOCHS = None
VAL_EPOCHS = None
ATTACKERS = None
SPLIT = None
MISSING = "error"
SEEDS = None
RUN_DIR = ""
SMOKE = False
NUM_WORKERS = None
NPROC = 1
SEED_WORKERS = None
BATCH_SIZE = None
ACCUM = None
AMP = None
PRIVACY_FRAMES = None
VAL_FRAMES = None
CHECKPOINTING = None
WEIGHTS = None
CROP = None
COLOUR = None
QUESTIONS = 60            # questions in the study (fewer if the test split has fewer videos); paper: 60
CANDIDATES = 7            # candidate people per question (capped at the number of people); paper: 7
PARTICIPANT = ""          # your name to take the study interactively; empty: build, preview and score only
ENCODER = "bdq"           # what the questions show: a method of the run, e.g. "bdq" (at ALPHA) or "raw" (control)
STUDY_DIR = "study"       # sub-folder of the run folder that holds the study and its answer files
PREVIEW = 2               # questions shown in the headless preview

# %%
import importlib.util, os, sys, subprocess  # noqa: E401,I001
if importlib.util.find_spec("bdqlib") is None:
    REPO = os.environ.get("BDQ_REPO", "/kaggle/working/bdq-repro" if "KAGGLE_KERNEL_RUN_TYPE" in os.environ else "/content/bdq-repro")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", REPO], check=True)
    sys.path.insert(0, REPO)

# %%
from IPython.display import HTML, display  # noqa: E402

from bdqlib.experiments import pipeline  # noqa: E402
from bdqlib.report import summary  # noqa: E402
from bdqlib.study import design as studies  # noqa: E402
from bdqlib.study import views, widgets  # noqa: E402

run = pipeline.start_notebook_run(globals())  # the parameters above: config, run folder
ALPHA = run.cfg.alpha  # None above: the profile's value for the dataset
data = pipeline.load_data(run)
encoder = pipeline.encoder_of(run, ENCODER, ALPHA)  # any method of the run; at ALPHA if it takes an alpha
folder = run.run_dir / STUDY_DIR

# %% [markdown]
# ## The study

# %%
study = studies.open_study(folder, lambda: studies.build_study(
    data.test.manifest, data.train.manifest, questions=QUESTIONS, candidates=CANDIDATES, seed=run.cfg.seed,
    dataset=run.cfg.dataset, encoder=ENCODER, alpha=pipeline.encoder_alpha(run, ENCODER, ALPHA)))
media = views.study_media(study, encoder, data.test, data.train.frames, data.train.manifest, mean=run.cfg.mean,
                          std=run.cfg.std)
odds = study.chance()
print(f"{len(study.questions)} questions (asked for {QUESTIONS}; the test split has "
      f"{data.test.manifest['video'].nunique()} videos), {study.candidates} candidates each, pick "
      f"{study.per_question}; chance: all correct {odds['all_correct']:.2%}"
      + (f", at least one {odds['at_least_one']:.2%}" if study.per_question > 1 else "")
      + f"; saved in {folder / 'study.json'}")

# %% [markdown]
# ## Take the study
# Pick the candidate(s), then Submit. Your answers are saved as you go.

# %%
if PARTICIPANT.strip():
    app = widgets.StudyApp(study, media, folder, PARTICIPANT)
    display(app.widget)
else:
    print('No participant: set PARTICIPANT = "your name" in the parameters cell and run the notebook in Jupyter '
          'to take the study.')

# %% [markdown]
# ## Preview
# What a participant sees (without the buttons).

# %%
for question in study.questions[:PREVIEW]:
    display(HTML(views.question_view(study, question, media).html()))

# %% [markdown]
# ## Scores
# Per participant and pooled: accuracy with its exact 95 % interval (Clopper-Pearson), the chance of the question
# format, and a one-sided exact binomial test against it. Pooling counts every answer as an independent trial, as
# the paper's percentages do, although participants answer the same questions.

# %%
scores = studies.score(study, folder)
if scores["n"].sum() == 0:
    print(f"no answers yet in {folder}: nothing to score (no participant is ever simulated).")
scores

# %%
for _, s in scores[scores["participant"] == "pooled"].iterrows():
    if s["n"]:
        print(f"{s['criterion']}: {s['accuracy']:.1%} of {s['n']} answers (95% CI {s['ci_low']:.1%}-"
              f"{s['ci_high']:.1%}) vs chance {s['chance']:.2%} (p = {s['p_value']:.3g}): {s['verdict']}; "
              + summary.study_against_paper(s["criterion"], study.per_question))
