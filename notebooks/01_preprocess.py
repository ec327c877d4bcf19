# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # 01 · The data: who does what, and how clips are cut
#
# BDQ (Kumawat & Nagahara, ECCV 2022) is a privacy-preserving video encoder. It is judged on two questions asked of
# the *same* clip: **what action** is performed (the task) and **who** performs it (the privacy attribute). On KTH
# there are six actions (boxing, hand-clapping, hand-waving, jogging, running, walking) and 25 people, each filmed
# in four scenarios (d1 outdoors, d2 outdoors with zoom, d3 outdoors in other clothes, d4 indoors); every video is
# annotated with four clips.
#
# Identity must appear in training *and* test data, so the split cannot be by person. By default it is by
# **video** (`SPLIT = "video"`): for each person and action, one scenario's video tests, another's validates and
# the other two train, rotating so that every scenario is tested. No video is in two splits, so an attacker has to
# recognise the person rather than the background, lighting or camera position of a video it has already seen.
# (`clip`, the student reproduction's split, puts clips of one video in train and test; `scenario`, SPPA's, tests
# on d3 only.) This notebook finds or generates the data, builds the labelled manifest with its splits, decodes
# every video once into a frame cache, and shows what the encoder will see.
#
# **Default: a synthetic dataset in KTH's exact file format** (160x120 MPEG-4 AVIs and a `00sequences.txt`),
# generated here in under a minute, so everything runs without a download. Its people differ as people do --
# clothes (plain or patterned, dark to light, a second outfit in d3), hair, skin, height, build and gait -- and
# actions differ in motion. They are filmed in grey, as KTH is (`COLOUR = True` films them in colour). It shows whether the method and the protocol work; it cannot show how BDQ fares on
# real faces and real scenes. Point `DATASET`/`DATA_DIR` at real KTH or IXMAS to use them instead: the same code
# reads both. The paper's other two datasets read the same way: **SBU** (`DATASET = "sbu"`: two people interact;
# eight interactions; privacy = the actor *pair*, 13 classes; the BDQ authors' split) and **IPN Hand**
# (`DATASET = "ipn"`: 13 hand gestures; privacy = the subject's gender; IPN's own split by subject). With
# `SMOKE = True` and no `DATA_DIR` each gets a tiny folder in its real layout.

# %% tags=["parameters"]
DATASET = "synthetic"  # synthetic | kth | ixmas | sbu | ipn | weizmann
DATA_DIR = ""          # KTH: folder with the .avi files and 00sequences.txt; IXMAS: folder of clip .avi files; SBU: folder of the sXXsYY sets; IPN: folder of frame folders and annotations (README "Real datasets")
PROFILE = "cpu"        # cpu (small models, minutes) | paper (i3d_r50 + resnet50, 224 px, 50 epochs)
ALPHA = None           # float: adversarial weight of the headline encoder (None: the paper's for the dataset: KTH 1, SBU 2, IPN 8)
EPOCHS = None          # int: adversarial epochs (None: the profile's)
VAL_EPOCHS = None      # int: most epochs of a validation network, which stops at its best validation epoch
ATTACKERS = None       # str: the attack suite, comma-separated (None: the profile's; "@scratch": random init)
SPLIT = None           # str: KTH video (None: default, no video in two splits) | clip (student's) | scenario (SPPA's); SBU authors (default) | sppa | video; IPN subject
MISSING = "error"      # KTH videos listed but absent: error | skip (01 reports which were skipped)
SEEDS = None           # str: seeds, e.g. "0,1,2": every training repeated per seed (None: the profile's)
RUN_DIR = ""           # output folder of this run ("" = a new folder under outputs/)
SMOKE = False          # tiny and fast, for tests only
NUM_WORKERS = None     # int: DataLoader worker processes (None: 0 on a CPU-only machine, min(cores, 8) beside a GPU)
NPROC = 1              # processes (GPUs) for training and validation; > 1 launches torchrun with DistributedDataParallel
SEED_WORKERS = None    # int: processes training seeds (and encoders) side by side (None: one per core on a CPU, one on a GPU)
BATCH_SIZE = None      # int: clips per optimizer step, the effective batch (None: the profile's -- the paper's 16)
ACCUM = None           # int: micro-batches per step, gradients summed (None: the profile's; paper: measured per stage)
AMP = None             # str: mixed precision of T, P and the validation networks: auto | off | bf16 | fp16
PRIVACY_FRAMES = None  # str: frames of each clip P sees per game step: all | one | a number (None: the profile's)
VAL_FRAMES = None      # str: frames per clip a frame-level validation network trains on: all | a number
CHECKPOINTING = None   # bool: recompute P's activations in the game's backward (memory for time)
WEIGHTS = None         # str: pretrained | none (random init: e.g. a GPU check offline) | a file (None: pretrained)
CROP = None            # str: square (S x S crops, the paper's) | frame (whole frames, short side S; SPPA, RAPrivacy: square)
COLOUR = None          # bool: coloured synthetic people (None: grey, as KTH's camera; synthetic data only)

# %% [markdown]
# On **Kaggle or Colab** this cell installs `bdqlib` from your clone of the repository (see README), leaving the
# platform's torch alone; elsewhere it does nothing.

# %%
import importlib.util, os, sys, subprocess  # noqa: E401,I001
if importlib.util.find_spec("bdqlib") is None:
    REPO = os.environ.get("BDQ_REPO", "/kaggle/working/bdq-repro" if "KAGGLE_KERNEL_RUN_TYPE" in os.environ else "/content/bdq-repro")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", REPO], check=True)
    sys.path.insert(0, REPO)

# %%
import pandas as pd  # noqa: E402

from bdqlib.experiments import pipeline
from bdqlib.report import plots  # noqa: E402

run = pipeline.start_notebook_run(globals())  # the parameters above: config, run folder
ALPHA = run.cfg.alpha  # None above: the profile's value for the dataset
print("run folder:", run.run_dir)
print("config:", run.cfg)

# %% [markdown]
# ## Manifest and splits
# One row per annotated clip. `split` follows the protocol in the config (`video` by default); the check below
# fails loudly if a video were in two splits or a person missing from one.

# %%
data = pipeline.load_data(run)
m = data.manifest
print(f"{len(m)} clips from {m['video'].nunique()} videos, {data.num_subjects} identities, {data.num_actions} actions")
pd.crosstab(m["action"], m["split"], margins=True)

# %%
from bdqlib.data import check_splits  # noqa: E402
print(check_splits(m, shared_videos=run.cfg.split == "clip"))  # identities = actor pairs (SBU), genders (IPN)
pd.crosstab(m["subject"], m["split"]).T

# %% [markdown]
# Clip lengths: the sampler takes `t` consecutive frames; shorter segments are skipped and counted (config
# `short_clips`).

# %%
lengths = m["end"] - m["start"] + 1
print(f"segment length: min {lengths.min()}, median {int(lengths.median())}, max {lengths.max()} frames; "
      f"t = {run.cfg.num_frames}; shorter than t: {int((lengths < run.cfg.num_frames).sum())}")
print(data.summary())
missing = m.attrs.get("missing_videos", [])
if missing:
    print(f"MISSING='skip': {len(missing)} video(s) listed in 00sequences.txt are not in the data folder and were "
          f"skipped: {', '.join(missing)}")

# %% [markdown]
# ## What the networks see
# Test-time sampling: the `t` centre frames of the clip, resized so the short side is S and centre-cropped to
# S x S. First one clip per action (same person), then the same action for several people.

# %%
test = data.test
mean, std = run.cfg.mean, run.cfg.std
first = test.manifest.drop_duplicates("action").index.tolist()[: data.num_actions]
frames = [plots.to_image(test[i][0][:, 0], mean=mean, std=std) for i in first]
titles = [test.manifest.loc[i, "action"] for i in first]
plots.frame_grid(frames, titles, run.run_dir / "data_actions.png");

# %%
per_subject = test.manifest[test.manifest["action"] == test.manifest["action"].iloc[0]].drop_duplicates("subject")
idx = per_subject.index.tolist()[:12]
frames = [plots.to_image(test[i][0][:, 0], mean=mean, std=std) for i in idx]
plots.frame_grid(frames, [f"subject {test.manifest.loc[i, 'subject']}" for i in idx], run.run_dir / "data_subjects.png");

# %% [markdown]
# A training sample: `t` consecutive frames from a random start and a random multi-scale crop, the clip tensor
# laid out (C, T, H, W) and batched as (B, C, T, H, W) everywhere in `bdqlib`.

# %%
clip, action, subject = data.train[0]
print("clip", tuple(clip.shape), clip.dtype, f"values {clip.min():.2f}..{clip.max():.2f}", "action", action,
      "subject", subject)
plots.frame_grid([plots.to_image(clip[:, t], mean=mean, std=std) for t in range(min(6, clip.shape[1]))],
                 [f"t={t}" for t in range(min(6, clip.shape[1]))]);
