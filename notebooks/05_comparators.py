# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # 05 · Comparators: ALF (Wu et al.), extreme low resolution (Ryoo et al.), SPPA, masking and RAPrivacy
#
# The paper's Fig. 3 puts BDQ beside two methods (§4.3), and both go through the same harness here as BDQ: the
# frozen encoder's output judged by a fresh T and the whole attack suite, each trained to its best validation
# epoch (privacy = the strongest attacker), and SPPA's `frozen_clean` protocol beside it.
# * **ALF** (Wu et al., ECCV 2018): Johnson et al.'s image-transformation network on every frame, trained in the
#   *same* adversarial game as BDQ (same T, P, alpha, epochs), with Wu et al.'s restarting of the budget model P
#   every `alf_restart_every` steps (P back to its initial weights, its optimizer state cleared). The paper
#   profile uses the paper's size (width 32, 4 residual blocks: 1.38 M parameters); the cpu profile a small one
#   (width 8, 2 blocks: 53 k), labelled so.
# * **ELR** (Ryoo et al., AAAI 2017/2018): the camera delivers R x R video; training clips are first moved by one
#   of a bank of sub-pixel transforms (half-pixel translations, 0.9/1.1 scalings, +-5 degree rotations), the
#   "inverse super-resolution" views; T and P are trained on the low-resolution input. Resolutions are stated at
#   224 px (the paper: 112, 56, 28, 14, 7, 4) and scaled to the crop size.
#
# SPPA's Table 2 reports both on KTH with retrained I3D / ResNet-50: ALF 85.89 action / 19.27 privacy; ELR at
# s = 16 / 32 / 64: 91.22 / 88.86, 85.57 / 82.56, 56.21 / 58.35 (BDQ 91.11 / 7.15).
#
# Then the seed documents' other systems, through the same harness:
# * **SPPA** (seed 003, CVPR 2024; no learning): body-part templates matched to every frame give a saliency map
#   (Eq. 1-2), noise carried along the video's optical flow (Eq. 3-4) replaces the salient pixels (Eq. 5).
#   Paper profile: DINO ViT-S/8 keys (timm) and RAFT flow (torchvision); cpu profile: the pretrained small 2-D
#   network's features and OpenCV's DIS flow, templates clicked on people of the pretraining population -- sized
#   down, and labelled so. `sppa_iid` is its i.i.d.-noise ablation (paper profile by default).
# * **Masking** (SPPA's Table 2 baseline): the person filled with its mean colour; the mask from torchvision's
#   DeepLabV3 (paper profile) or background subtraction (cpu profile).
# * **RAPrivacy** (seed 004): an AdaAttN style-transfer anonymiser restyling every frame as a depth image, trained
#   in two phases against a contrastive privacy branch. Paper profile: VGG-19 features; cpu profile: the small
#   2-D network's and a few epochs (`rap_epochs`) -- sized down, and labelled so.
# Published numbers: SPPA's Table 2 on KTH (averaged over its recognition networks): SPPA 88.67 action / 5.46
# privacy, masking 37.54 / 35.22; RAPrivacy reports VP-UCF101/VP-HMDB51 attributes only (no KTH/SBU/IPN number).
# Rows already in results.csv are skipped; the ALF game and RAPrivacy's training resume from their checkpoints.

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
ALF_ALPHAS = None         # str: adversarial weights of ALF's game, e.g. "1,2"; None: the profile's
                          # (bdqlib.config.RUN_DEFAULTS); "": no ALF
ELR = None                # str: ELR resolutions at 224 px, e.g. "elr28,elr14"; None: the profile's; "": none
SYSTEMS = None            # str: the seeds' other systems ("sppa,sppa_iid,masking,raprivacy"), or any method of
                          # bdqlib.methods; None: the profile's; "": none
FROZEN_CLEAN = True       # also evaluate every comparator under SPPA's protocol

# %%
import importlib.util, os, sys, subprocess  # noqa: E401,I001
if importlib.util.find_spec("bdqlib") is None:
    REPO = os.environ.get("BDQ_REPO", "/kaggle/working/bdq-repro" if "KAGGLE_KERNEL_RUN_TYPE" in os.environ else "/content/bdq-repro")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", REPO], check=True)
    sys.path.insert(0, REPO)

# %%
import time  # noqa: E402

import torch  # noqa: E402

from bdqlib.config import parse_numbers, run_default  # noqa: E402
from bdqlib.experiments import pipeline  # noqa: E402
from bdqlib.report import plots, summary, tables  # noqa: E402

run = pipeline.start_notebook_run(globals(), seeds_default="STUDY_SEEDS")  # config, run folder, seeds
print(f"seeds: {', '.join(map(str, run.seeds))} (SEEDS; left unset, the profile's STUDY_SEEDS: the cpu default "
      "runs this notebook on the first seed only, to fit its time; comparisons with the headline use the "
      "seeds both encoders have)")
ALPHA = run.cfg.alpha  # None above: the profile's value for the dataset
alf_alphas = parse_numbers(run_default(PROFILE, "ALF_ALPHAS", ALF_ALPHAS, alpha=ALPHA), "ALF_ALPHAS")
elr = pipeline.parse_methods(run_default(PROFILE, "ELR", ELR), "ELR", family="elr")
# any method of bdqlib.methods; a list you name must be defined on the run's CROP, the profile's is trimmed to it
systems = pipeline.parse_methods(run_default(PROFILE, "SYSTEMS", SYSTEMS), "SYSTEMS",
                                 cfg=run.cfg if SYSTEMS is not None else None)
if SYSTEMS is None:
    systems = pipeline.on_crop(systems, run.cfg, "SYSTEMS")
seeds = list(pipeline.each_seed(run))  # (run of a seed, its data), each seed's small networks pretrained
encoders, t0 = {}, time.time()  # (seed, method, alpha) -> encoder

# %% [markdown]
# ## ALF: the adversarial game with Wu et al.'s encoder and restarts of P

# %%
encoders.update(pipeline.evaluate_each(run, [("alf", alpha) for alpha in alf_alphas]))  # the game, then validation
if alf_alphas:
    plots.plot_training_curves(pipeline.adversarial_history(run, alf_alphas[0], "alf"),
                               run.run_dir / "alf_training_curves.png");
print(f"ALF done ({time.time() - t0:.0f}s)")

# %% [markdown]
# ## ELR: extreme low resolution with the inverse super-resolution views

# %%
encoders.update(pipeline.evaluate_each(run, [(name, None) for name in elr]))
for name in elr:
    print(f"{name}: {encoders[(run.cfg.seed, name, None)].extra_repr()} at S={run.cfg.size}")
print(f"ELR done ({time.time() - t0:.0f}s)")

# %% [markdown]
# ## SPPA, masking and RAPrivacy
# RAPrivacy is trained first (its own two-phase game, resumable); SPPA and masking need no training. Each is then
# a frozen encoder like any other.

# %%
encoders.update(pipeline.evaluate_each(run, [(name, None) for name in systems]))  # RAPrivacy's two phases first
print(f"SPPA / masking / RAPrivacy done ({time.time() - t0:.0f}s)")

# %% [markdown]
# What each does to a test clip (frame 4, first seed): SPPA's saliency S and output, the person mask and the masked
# frame, RAPrivacy's restyled frame.

# %%
if systems:
    data = seeds[0][1]
    clips = torch.stack([data.test[i][0] for i in (0, len(data.test) // 2)])
    plots.method_frames({name: encoders[(run.cfg.seed, name, None)] for name in systems}, clips, 3,
                        run.run_dir / "seed_systems_frames.png", mean=run.cfg.mean, std=run.cfg.std);

# %% [markdown]
# ## SPPA's protocol: 03's networks trained on clean video, applied frozen

# %%
if FROZEN_CLEAN and encoders:
    for r, data in seeds:
        clean = pipeline.clean_models(r, data)
        for (seed, name, alpha), enc in encoders.items():
            if seed == r.cfg.seed:
                pipeline.frozen_clean(r, data, enc, method=name, alpha=alpha, models=clean)
    print(f"frozen_clean done ({time.time() - t0:.0f}s)")

# %% [markdown]
# ## This notebook's methods beside raw video and BDQ, with seeds and intervals
# Means over seeds; 95 % intervals over seeds and test videos. The comparisons with BDQ are verdicts on the same
# resamples: "X > Y", "X < Y", or not distinguishable at this size. (08 shows every encoder of the run.)

# %%
shown = [("bdq", ALPHA)] + [(m, a) for _, m, a in encoders]  # not another notebook's, run beside this one
evaluation = tables.Evaluation(run.results(attacker=None), run.predictions(), only=shown)
plots.plot_tradeoff(run.results(only=shown), run.run_dir / "comparators_tradeoff.png", evaluation=evaluation);
tables.with_intervals(evaluation.table())

# %%
print(summary.compare_with_headline(run, ALPHA, list(dict.fromkeys(m for _, m, _ in encoders)), ev=evaluation))
