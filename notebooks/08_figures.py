# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # 08 · Figures and tables
#
# Everything below is drawn from this run's `results.csv`, the adversarial logs and the saved encoders -- no
# number is typed in. Privacy is always the attacker's of the suite with the best validation accuracy (each attacker
# trained to its best validation epoch; the test maximum only as the labelled oracle column); per-attacker numbers
# are shown separately. The comments compare with the paper (Kumawat & Nagahara, ECCV 2022) and with SPPA's
# re-evaluation (Ilic et al.); the verdict lines are computed from the results.

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
import torch  # noqa: E402

from bdqlib.experiments import pipeline  # noqa: E402
from bdqlib.report import plots, summary, tables  # noqa: E402
from bdqlib.report.complexity import complexity_table, paper_table_encoders  # noqa: E402

run = pipeline.start_notebook_run(globals())  # the parameters above: config, run folder, seeds
ALPHA = run.cfg.alpha  # None above: the profile's value for the dataset
results = run.results()  # the "strongest" rows: one per encoder and seed
evaluation = tables.Evaluation(run.results(attacker=None), run.predictions())  # means over seeds, 95 % intervals
table = evaluation.table()
table.to_csv(run.run_dir / "results_table.csv", index=False)
headline_row = run.result("bdq", ALPHA)

# %% [markdown]
# ## Results table (sorted by f_0.5 = (a + 1 - p) / 2, SPPA's score)
# Means over seeds ± the half-width of their 95 % intervals (two-stage bootstrap over seeds and test videos,
# `bdqlib.report.stats`); two rows whose intervals overlap are not ranked by this order. Privacy is, per seed, the
# attacker chosen on validation; action, the action network chosen on validation. `results_table.csv` has the
# interval bounds; `results.csv` every row of every network and seed; `predictions.csv` every test clip's
# prediction, from which all of it is recomputed.

# %%
tables.with_intervals(table)

# %% [markdown]
# ## Privacy per attacker
# Each column is one attacker of the suite (test top-1 of its best-validation weights); the headline is the row
# maximum. Which attacker is strongest differs between encoders: that is why the suite has several.

# %%
every = run.results(attacker=None)
per_attacker = every[(every["protocol"] == "retrain") & (every["attacker"] != "strongest")].assign(
    encoder=lambda d: d.apply(plots.row_label, axis=1)).pivot_table(index="encoder", columns="attacker",
                                                                   values="privacy_top1")
per_attacker

# %%
if len(per_attacker):
    print(summary.attacker_wins(results, per_attacker, run.cfg.privacy_model, ALPHA))

# %% [markdown]
# ## Trade-off (paper Fig. 3, row 1)
# The ideal encoder sits top-left: action as on raw video, privacy at chance. In the paper, down-sampling
# (Ryoo et al.) buys privacy only by losing action accuracy faster, while BDQ lands closest to the ideal corner.

# %%
plots.plot_tradeoff(results, run.run_dir / "fig3_tradeoff.png", evaluation=evaluation);

# %%
print(summary.against_baselines(run, ALPHA, evaluation))

# %% [markdown]
# ## Learned quantization steps (paper Fig. 3, row 2)
# The paper shows the steps moving away from the uniform initialisation. Flat stretches merge neighbouring
# difference values (less detail reaches P); steep ones keep them apart.

# %%
headline = pipeline.trained_encoder(run, ALPHA)
plots.plot_quant_steps({"initial": torch.arange(15) + 0.5, f"learned, alpha={ALPHA:g}": headline.bins},
                       run.run_dir / "fig3_quant_steps.png");
print(f"learned sigma {float(headline.sigma.detach()):.3f}; bins moved by up to "
      f"{float((headline.bins - (torch.arange(15) + 0.5)).abs().max()):.2f} from their initial positions")

# %% [markdown]
# ## Ablation and alpha (paper Fig. 4)
# The paper (on SBU) finds B, D, Q, B+D and B+Q close to raw for privacy, D best for action, a drop for D+Q, and
# the largest drop for B+D+Q; and that privacy and action both fall as alpha grows, with more quantization.

# %%
bins_by_alpha = {alpha: pipeline.trained_encoder(run, alpha).bins for alpha in pipeline.trained_alphas(run, "bdq")}
plots.plot_ablation(plots.evaluation_points(table) if len(table) else results, bins_by_alpha,
                    run.run_dir / "fig4_ablation.png");

# %%
print(summary.ablation(run, ALPHA, evaluation))

# %% [markdown]
# ## Training curves of the headline run

# %%
plots.plot_training_curves(pipeline.adversarial_history(run, ALPHA), run.run_dir / "training_curves.png",
                           warmup_epochs=run.cfg.warmup_epochs);

# %% [markdown]
# ## f_lambda over lambda (SPPA Fig. 7)
# lambda weighs privacy against action; a method whose line stays on top is better for every weighting.

# %%
plots.plot_flambda(plots.evaluation_points(table) if len(table) else results, run.run_dir / "flambda_sweep.png");

# %% [markdown]
# ## SPPA's protocol: attackers trained on clean video
# Without retraining on encoded data, every encoder looks far more private: this protocol measures a naive
# attacker, the `retrain` one (the paper's) a determined one.

# %%
clean_table = tables.Evaluation(run.results(attacker=None), run.predictions(), protocol="frozen_clean").table()
if len(clean_table) == 0:
    print("No encoder was evaluated under frozen_clean in this run (05's FROZEN_CLEAN was False).")
tables.with_intervals(clean_table, metrics=("action", "privacy", "f_0.5"))

# %% [markdown]
# ## Space-time complexity (paper Table 1)
# On one 16 x 224 x 224 x 3 clip. `flops_conv` is what `torch.utils.flop_counter` counts (convolutions, 2 FLOPs
# per multiply-add); `flops_paper_count` counts BDQ's blur as one full 5x5 convolution, which reproduces the
# paper's 120.4 M exactly -- the paper counts the blur only. `flops_total` adds the difference and the 15-step
# quantizer (counted analytically). The paper's "3.4 Kb" for BDQ compares with `bytes_on_disk` of the saved
# state dict (its 16 parameters are 64 bytes; the rest is the file format). ALF's row is the paper's size (width
# 32, 4 residual blocks) whatever profile ran: its `flops_conv` counts every convolution, transposed ones included,
# the same way (instance normalisation and ReLU not counted), so BDQ's and ALF's `flops_conv` compare directly
# (paper: ALF 1.3 M parameters, 166.4 GFLOPs).

# %%
encoders = paper_table_encoders(headline)  # BDQ as trained here, raw, ALF at the paper's size, the naive baselines
complexity = complexity_table(encoders)
complexity.to_csv(run.run_dir / "complexity.csv", index=False)
complexity

# %% [markdown]
# ## Explore the trade-off (interactive)
# In Jupyter, Colab or Kaggle: pick a point of the trade-off plot (an encoder of this run) and a test clip; its
# frames after each module appear beside the plot, the point marked. Headless runs save the headline encoder's
# view as `tradeoff_explorer.png`.

# %%
from bdqlib.study import widgets  # noqa: E402

data = pipeline.load_data(run, log=None)
points = {}
for _, r in results[(results["protocol"] == "retrain") & (results["seed"] == run.cfg.seed)].iterrows():
    try:
        points[plots.row_label(r)] = pipeline.encoder_of(run, r["method"], r["alpha"])
    except (FileNotFoundError, ValueError) as err:  # an encoder whose weights this run folder lacks
        print(f"not explorable: {plots.row_label(r)} ({err})")
first = plots.row_label(headline_row) if headline_row is not None else None
points = dict(sorted(points.items(), key=lambda kv: kv[0] != first))  # the headline encoder first
test_clips = data.test.manifest.drop_duplicates("action").index.tolist()[:6]
if points:
    explorer = widgets.EncoderExplorer({f"{data.test.manifest.loc[i, 'action']} (test clip {i})": data.test[i][0]
                                        for i in test_clips}, points, mean=run.cfg.mean, std=run.cfg.std,
                                       results=plots.evaluation_points(table) if len(table) else results,
                                       path=run.run_dir / "tradeoff_explorer.png")
    explorer.show()

# %% [markdown]
# ## The run folder on disk
# Checkpoints are most of it. Finished validation networks keep their weights only for the raw video (which
# `frozen_clean` applies; config `probe_weights`), the others their result and history.

# %%
usage = pipeline.disk_usage(run)
print(f"{run.run_dir}: {usage['MB'].iloc[-1]:.0f} MB")
usage.head(8)
