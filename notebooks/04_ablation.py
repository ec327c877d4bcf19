# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # 04 · Ablation, the adversarial weight, and baselines
#
# Everything here goes through the same frozen-encoder validation as 03 -- a fresh T and the whole attack suite,
# each trained to its best validation epoch, privacy = the strongest attacker -- and lands in `results.csv`.
# * **Modules (§5.1, Fig. 4):** the trained encoder's modules alone and in pairs -- B, D, Q, B+D, B+Q, D+Q,
#   B+D+Q -- with their trained parameters frozen, each judged by a fresh T and P.
# * **alpha sweep:** adversarial training at several alpha; alpha = 0 trains E for the action alone (no
#   adversary), so comparing it with alpha > 0 shows what the adversary contributes.
# * **Baselines:** pixelation (4 and 16 px blocks at 224 px), Gaussian blur (kernel 13 and 21, sigma 10 at
#   224 px), and down-sampling to an R x R video (Ryoo et al.), all scaled to the profile's crop size.
# * **A second protocol (SPPA):** T and the attackers trained once on raw video (03's) and applied, frozen, to
#   each encoder's test output -- `protocol = frozen_clean`. It asks what an attacker who never saw encoded data
#   gets: a naive attacker, reported beside the retrained one, never instead of it.
#
# Each row already in `results.csv` is skipped, so an interrupted run resumes. Every encoder costs a full attack
# suite (about 2 minutes on a 2-core CPU) and every alpha an adversarial training, so the defaults are the subset
# that fits the 20-minute default run beside 06's robustness experiments: the alpha sweep 0, 1 (1 is the headline
# encoder, B+D+Q, trained in 02) and no baseline. The parameters' comments list everything there is, e.g.
# `-p MODULES D,B+D+Q -p BASELINES downsample28` (about 2 minutes each).

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
ALPHAS = None             # str: adversarial weights of the sweep (0: no adversary), e.g. "0,0.5,1,2,4"; None: the
                          # profile's (bdqlib.config.RUN_DEFAULTS)
GAMES = None              # str: the games of the sweep: bdq (the paper's) and/or bdq_ensemble (hardened, not in the
                          # paper, ~3x the time); None: the profile's
MODULES = None            # str: module combinations of the headline encoder, e.g. "B,D,Q,B+D,B+Q,D+Q,B+D+Q"; None:
                          # the profile's
BASELINES = None          # str: naive baselines, e.g. "pixelate16,blur_weak,downsample28"; None: the profile's
FROZEN_CLEAN = True       # also evaluate every encoder under SPPA's protocol

# %%
import importlib.util, os, sys, subprocess  # noqa: E401,I001
if importlib.util.find_spec("bdqlib") is None:
    REPO = os.environ.get("BDQ_REPO", "/kaggle/working/bdq-repro" if "KAGGLE_KERNEL_RUN_TYPE" in os.environ else "/content/bdq-repro")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", REPO], check=True)
    sys.path.insert(0, REPO)

# %%
import time  # noqa: E402

from IPython.display import display  # noqa: E402

from bdqlib.config import parse_names, parse_numbers, run_default  # noqa: E402
from bdqlib.experiments import pipeline  # noqa: E402
from bdqlib.report import plots, tables  # noqa: E402

run = pipeline.start_notebook_run(globals(), seeds_default="STUDY_SEEDS")  # config, run folder, seeds
print(f"seeds: {', '.join(map(str, run.seeds))} (SEEDS; left unset, the profile's STUDY_SEEDS: the cpu default "
      "runs this notebook on the first seed only, to fit its time; comparisons with the headline use the "
      "seeds both encoders have)")
ALPHA = run.cfg.alpha  # None above: the profile's value for the dataset
alphas = parse_numbers(run_default(PROFILE, "ALPHAS", ALPHAS), "ALPHAS")
games = pipeline.parse_methods(run_default(PROFILE, "GAMES", GAMES), "GAMES", games=True, required=("bdq",))
modules = pipeline.parse_methods(run_default(PROFILE, "MODULES", MODULES), "MODULES", family="module")
baselines = pipeline.parse_methods(run_default(PROFILE, "BASELINES", BASELINES), "BASELINES",
                                   family=("pixelate", "blur", "downsample"))
seeds = list(pipeline.each_seed(run))  # (run of a seed, its data), each seed's small networks pretrained
t0 = time.time()

# %% [markdown]
# ## alpha sweep: train and validate one encoder per game and alpha
# The headline encoder (the paper's game, alpha = ALPHA) was trained in 02 and is reused. With `GAMES`
# bdq_ensemble, the same sweep is also played in the hardened game (not in the paper; Wu et al.'s ensemble of
# budget models): E maximises the entropy of the most confident of P and the rest of the attack suite -- on the cpu
# profile the temporal small3d and res2d@scratch -- all trained beside P on E's output. It was chosen over the mean
# of the ensemble and a learnable dead zone on the validation split (`docs/studies/tune_cpu_profile.py --study
# hardening`).

# %%
# (seed, method, alpha) -> encoder: each game (resumed if trained), then validated; seeds side by side on a CPU
encoders = pipeline.evaluate_each(run, [(game, alpha) for game in games for alpha in alphas])
print(f"alpha sweep done ({time.time() - t0:.0f}s)")

# %% [markdown]
# ## The paper's game vs the hardened game
# Each game's encoders under the same protocol: action and strongest-attacker privacy, the share of raw's
# above-chance privacy removed, and the action kept relative to raw (the hardening issue's goal: >= 90 % removed
# at >= 0.95 x raw's action). Shown when `GAMES` names both games.

# %%
if len(games) > 1:
    comparison = tables.Evaluation(run.results(attacker=None), run.predictions(),
                                   only=[(m, a) for _, m, a in encoders]).table()
    display(tables.with_intervals(plots.family_rows(comparison, *games)))
    shown = ALPHA if ALPHA in alphas else alphas[-1]  # each other game's dynamics, as 02 shows the paper's
    for game in games[1:]:
        plots.plot_training_curves(pipeline.adversarial_history(run, shown, game),
                                   run.run_dir / f"training_curves_{game}.png", warmup_epochs=run.cfg.warmup_epochs);

# %% [markdown]
# ## Module combinations of the headline encoder

# %%
# B+D+Q is the headline encoder itself: its rows are BDQ's (bdqlib.methods.bdq, same_as)
encoders.update(pipeline.evaluate_each(run, [(name, ALPHA) for name in modules]))
print(f"modules done ({time.time() - t0:.0f}s)")

# %% [markdown]
# ## Baselines
# Sizes are given at 224 px (as in SPPA) and scaled to the crop size S, so each baseline removes the same share of
# the image as it would at 224 px. At the cpu profile's S = 48, pixelate4 becomes 1-px blocks: it changes nothing,
# and its row is the raw row (recorded as such, not trained again). Identity and action are judged by fresh
# networks retrained on each baseline's output, exactly like BDQ.

# %%
# one that changes nothing at this size records the raw rows (its method's same_as)
encoders.update(pipeline.evaluate_each(run, [(name, None) for name in baselines]))
for name in baselines:
    print(f"{name}: {encoders[(run.cfg.seed, name, None)].extra_repr()} at S={run.cfg.size}")
print(f"baselines done ({time.time() - t0:.0f}s)")

# %% [markdown]
# ## SPPA's protocol: attackers trained on clean video, frozen

# %%
if FROZEN_CLEAN:
    for r, data in seeds:
        clean = pipeline.clean_models(r, data)  # 03's networks trained on raw video (this seed), best-validation
        for name, alpha, enc in [("raw", None, pipeline.encoder_of(r, "raw"))] + \
                [(m, a, e) for (seed, m, a), e in encoders.items() if seed == r.cfg.seed]:
            pipeline.frozen_clean(r, data, enc, method=name, alpha=alpha, models=clean)
    print(f"frozen_clean done ({time.time() - t0:.0f}s)")

# %% [markdown]
# ## Every encoder of this notebook, with seeds and intervals
# Means over seeds; 95 % intervals over seeds and test videos (`bdqlib.report.tables`).

# %%
evaluation = tables.Evaluation(run.results(attacker=None), run.predictions(),  # not another notebook's encoders
                               only=[("bdq", ALPHA)] + [(m, a) for _, m, a in encoders])
tables.with_intervals(evaluation.table())
