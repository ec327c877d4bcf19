# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # 02 · Training the encoder against an adversary
#
# **The encoder E (BDQ, §3.1)** has 16 numbers to learn:
# * **Blur** -- every frame is convolved with a 5x5 Gaussian G_sigma; sigma is learned.
# * **Difference** -- frame t minus frame t-1: static appearance vanishes, motion stays.
# * **Quantization** -- each difference is mapped to [0, 15] by the clip's min and max and passed through a soft
#   staircase  y = sum_i sigmoid(H (x - b_i))  with hardness H = 5 and 15 learned steps b_i (initially 0.5 ... 14.5),
#   then mapped back to the input's units.
#
# **The game (§3.2)**, per batch V: an action network T (3-D CNN) must recognise the action from E(V), a privacy
# network P (2-D CNN, on every frame) must recognise the person.
# 1. P fixed: E and T minimise  CE(T(E(V)), action) - alpha * H(P(E(V)))  (Eq. 1) -- recognise the action while
#    making P maximally uncertain (H is the entropy of P's softmax, averaged over frames). "Fixed" includes P's
#    BatchNorm: P runs in evaluation mode here, so E is pushed against the P that would be evaluated.
# 2. E and T fixed: P minimises  CE(P(E(V)), identity)  (Eq. 2) -- the adversary keeps learning.
#
# Options beyond the paper, off unless set in the config (`bdqlib/adversarial.py`): the entropy of the clip's
# averaged softmax instead of the per-frame mean, several P updates per step, and restarting P every N steps
# (Wu et al., ECCV 2018); restarts are marked in the training curves below.
#
# All three networks are trained; nothing is frozen. The accuracies shown here are *not* the result: a fresh T
# and P are trained on the frozen encoder in 03 (the paper's protocol).
#
# The `cpu` profile differs from the paper's setup in ways stated in `bdqlib/config.py`: small T and P
# pretrained on a separate synthetic population (standing in for Kinetics-400 and ImageNet), 48 px crops of
# 8 frames, Adam for T and P, SGD with its own learning rates for E's 16 numbers, and a few warm-up epochs in
# which E is frozen so that T and P are competent opponents before E starts to move.

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

# %%
import importlib.util, os, sys, subprocess  # noqa: E401,I001
if importlib.util.find_spec("bdqlib") is None:
    REPO = os.environ.get("BDQ_REPO", "/kaggle/working/bdq-repro" if "KAGGLE_KERNEL_RUN_TYPE" in os.environ else "/content/bdq-repro")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", REPO], check=True)
    sys.path.insert(0, REPO)

# %%
import math  # noqa: E402

import torch  # noqa: E402

from bdqlib.experiments import pipeline  # noqa: E402
from bdqlib.report import plots  # noqa: E402

run = pipeline.start_notebook_run(globals())  # the parameters above: config, run folder, seeds
ALPHA = run.cfg.alpha  # None above: the profile's value for the dataset
data = pipeline.load_data(run)

# %% [markdown]
# ## Will it fit? A measured plan
# **Time and disk**: one real game step of this profile's E, T and P (random init) on this device at two small
# batches, extrapolated to the profile's batch (assumptions in `bdqlib/plan.py`).
#
# **Memory, every stage**: each training stage of the run -- the games, every validation network, RAPrivacy, the
# U-Net, the inference networks -- accounted at this config's shapes (on PyTorch's `meta` device: shapes, no values,
# so the paper's shapes take seconds on any CPU), and the settings that fit the effective batch (`BATCH_SIZE`) on
# common GPUs under mixed precision: `16` (no accumulation), `4 x 4` (four micro-batches of four, gradients summed),
# or what else it needs (`PRIVACY_FRAMES`, `VAL_FRAMES`, `CHECKPOINTING`). On a GPU with `ACCUM` left to the profile
# (the paper's), every stage measures itself when it starts and takes the fewest micro-batches that fit, or refuses
# to start, naming what to change. What accumulation does not reproduce of a real batch of 16: BatchNorm's batch
# statistics, and RAPrivacy's contrastive pairs across clips (see `docs/platforms.md`).

# %%
from IPython.display import display  # noqa: E402

from bdqlib.data.cache import cache_size_bytes  # noqa: E402
from bdqlib.engine.steps import resolve_device  # noqa: E402
from bdqlib.experiments import plan as planning  # noqa: E402
from bdqlib.experiments.robustness import sweep_settings  # noqa: E402

device_plan = planning.make_plan(run.cfg, num_actions=data.num_actions, num_subjects=data.num_subjects,
                                 train_clips=len(data.train), device=resolve_device(run.cfg.device),
                                 cache_bytes=cache_size_bytes(data.cache.directory))
print(planning.describe(device_plan))
unet = {k: v for k, v in sweep_settings(PROFILE, alpha=ALPHA, smoke=SMOKE)["unet"].items() if k in ("width", "depth")}
stage_table = planning.stage_plan(run.cfg, num_actions=data.num_actions, num_subjects=data.num_subjects, unet=unet)
stage_table.to_csv(run.run_dir / "stage_plan.csv", index=False)
display(stage_table.round(3))

# %% [markdown]
# ## Adversarial training, once per seed
# Each seed is an independent training of everything: the small networks' pretraining, then the game. On a CPU the
# seeds train side by side, one process per core (`SEED_WORKERS`); each line is prefixed by its seed, one per epoch.
# Re-running this cell with the same `RUN_DIR` resumes from the last completed epoch (the checkpoint holds
# models, optimizers, schedulers and random states), so a resumed run ends exactly where an uninterrupted one would.
# The figures below show the first seed; the table after them, what every seed's E learned.

# %%
results, = pipeline.over_seeds(run, (pipeline.fit, "bdq", ALPHA))  # BDQ's game (bdqlib.methods.bdq), resumable
result = results[run.cfg.seed]
history = result.history
print("status:", {seed: res.status for seed, res in results.items()})
history.tail(3)

# %% [markdown]
# ## Did the pretrained networks converge?
# T and P start from networks pretrained on another population (first seed shown). Each pretraining stops at its
# best validation epoch (the marker); its epoch cap must never be what stopped it.

# %%
from bdqlib.train.pretrain import pretraining_curves  # noqa: E402

pretrained = pretraining_curves(run.cfg)
plots.plot_probe_curves({"pretraining population": pretrained}, run.run_dir / "pretraining_convergence.png");
for (network, target), g in pretrained.groupby(["network", "target"], sort=False):
    print(f"{network} ({target}): best validation {g['val_top1'].max():.3f} at epoch {int(g['best_epoch'].iloc[0])} "
          f"of {len(g)} trained; cap {int(g['cap'].iloc[0])}: "
          f"{'the cap stopped it (raise pretrain_epochs)' if len(g) >= g['cap'].iloc[0] else 'stopped by validation'}")

# %% [markdown]
# ## The game's dynamics
# Left: the clip-level accuracies of the game's own networks -- T (blue) and P (red), dashed on the training
# batches, dots on the validation split every few epochs (and each ensemble attacker's, when the hardened game of
# 04 is played) -- with the end of the warm-up (dashed black line) and P's restarts (dotted, when enabled).
# Middle: T's cross-entropy, P's, and the entropy H of P's prediction that E maximises. Right: the blur sigma.
# If the game works, P's accuracy is held down after the warm-up while T's rises, and H stays near its maximum,
# log(number of identities). These are the game's networks, not the result: 03 trains fresh ones.

# %%
plots.plot_training_curves(history, run.run_dir / "training_curves.png", warmup_epochs=run.cfg.warmup_epochs);
warm = history[history["epoch"] <= run.cfg.warmup_epochs]
played = history[history["epoch"] > run.cfg.warmup_epochs]
last = history.iloc[-1]
print(f"last epoch: entropy {last['entropy']:.2f} of at most {math.log(data.num_subjects):.2f} nats; game accuracy "
      f"action {last['train_action_top1']:.2f}, identity {last['train_privacy_top1']:.2f} (chance "
      f"{1 / data.num_subjects:.2f}); sigma {history['sigma'].iloc[0]:.2f} -> {last['sigma']:.2f}")
if len(warm) and len(played):
    print(f"P on E's output, training batches: {warm['train_privacy_top1'].iloc[-1]:.2f} at the end of the warm-up, "
          f"{played['train_privacy_top1'].min():.2f} to {played['train_privacy_top1'].max():.2f} during play; on the "
          f"validation split: " + ", ".join(f"epoch {int(r.epoch)} {r.val_privacy_top1:.2f}"
                                            for r in history.dropna(subset=["val_privacy_top1"]).itertuples()))

# %% [markdown]
# ## What E learned

# %%
encoder = result.encoder
for seed, res in results.items():
    print(f"seed {seed}: sigma {float(res.encoder.sigma.detach()):.3f} (initial {run.cfg.sigma}); bins "
          + " ".join(f"{b:.2f}" for b in res.encoder.bins.tolist()))
plots.plot_quant_steps({"initial": torch.arange(15) + 0.5,
                        **{f"learned (alpha={ALPHA:g}, seed {seed})": res.encoder.bins for seed, res in results.items()}},
                       run.run_dir / "quant_steps_headline.png");

# %% [markdown]
# ## Input vs encoded frames
# Top: a test frame of several clips; bottom: the encoder's output for the same moment (mid-grey = no change).

# %%
idx = data.test.manifest.drop_duplicates("action").index.tolist()[:6]
clips = torch.stack([data.test[i][0] for i in idx])
with torch.no_grad():  # on the encoder's device (a GPU after training there), back to the CPU for plotting
    encoded = encoder.eval()(clips.to(encoder.bins.device)).cpu()
images = [plots.to_image(c[:, 1], mean=run.cfg.mean, std=run.cfg.std) for c in clips]
images += [plots.to_image(e[:, 0], symmetric=True) for e in encoded]
titles = [data.test.manifest.loc[i, "action"] for i in idx] + ["BDQ"] * len(idx)
plots.frame_grid(images, titles, run.run_dir / "encoded_frames.png", ncols=len(idx));

# %% [markdown]
# ## Explore (interactive)
# In Jupyter, Colab or Kaggle: pick a test clip, the trained or the untrained encoder and a frame, and see the clip
# after each module -- blurred, differenced, quantized -- with the learned staircase. Headless runs save the first
# view as `encoder_stages.png`.

# %%
from bdqlib.core.encoder import bdq_encoder  # noqa: E402
from bdqlib.study import widgets  # noqa: E402

widgets.EncoderExplorer({f"{data.test.manifest.loc[i, 'action']} (test clip {i})": data.test[i][0] for i in idx},
                        {f"learned, alpha={ALPHA:g}": encoder, "initial (untrained)": bdq_encoder(run.cfg)},
                        mean=run.cfg.mean, std=run.cfg.std, path=run.run_dir / "encoder_stages.png").show()
