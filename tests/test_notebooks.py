"""The whole chain, as a user runs it: ./run_all.sh (papermill, every notebook) in SMOKE mode."""
import json
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bdqlib.core.encoder import MODULE_NAMES
from bdqlib.experiments import robustness
from bdqlib.config import RUN_DEFAULTS, parse_names
from bdqlib.methods.dvs import event_method
from bdqlib.methods.naive import BASELINES

from .test_params import params

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("fig3_tradeoff.png", "fig3_quant_steps.png", "fig4_ablation.png", "training_curves.png",
           "flambda_sweep.png", "attacker_convergence.png", "pretraining_convergence.png", "encoder_stages.png",
           "tradeoff_explorer.png", "fig5_attacker_sweep.png", "fig6_action_sweep.png", "fig7_reconstruction.png",
           "fig8_event_frames.png", "fig8_tradeoff_dvs.png", "alf_training_curves.png",
           "training_curves_bdq_ensemble.png")
NOTEBOOKS = ("01_preprocess", "02_adversarial_train", "03_validate_frozen_encoder", "04_ablation", "05_comparators",
             "06_robustness", "07_identification_study", "08_figures")


def test_sources_and_notebooks_are_in_sync():
    result = subprocess.run([str(REPO / ".venv/bin/python"), "scripts/sync_notebooks.py", "--check"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_run_all_smoke(smoke_run):
    run_dir, done = smoke_run.run_dir, smoke_run
    assert done.returncode == 0, smoke_run.log[-3000:]
    assert done.stdout.strip().splitlines()[-1] == str(run_dir)  # the run folder is the last line
    for name in NOTEBOOKS:
        nb = json.loads((run_dir / f"{name}.ipynb").read_text())
        errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, (name, errors)
        assert (run_dir / f"{name}.html").is_file()
    every = pd.read_csv(run_dir / "results.csv")
    results = every[every["attacker"] == "strongest"]  # the headline rows; the others are per attacker
    retrain = results[results["protocol"] == "retrain"]
    defaults = RUN_DEFAULTS["cpu"]  # the notebooks' parameters are None: the profile's
    modules, baselines = (parse_names(defaults[name]) for name in ("MODULES", "BASELINES"))
    sweeps = robustness.sweep_settings("cpu", alpha=1.0, smoke=True)
    events = {event_method(t) for t in sweeps["dvs"]}
    comparators = {"alf", "elr28", *parse_names(RUN_DEFAULTS["cpu"]["SYSTEMS"])}  # 05's, with the extras
    expected = {"raw", "bdq", "bdq_ensemble", *modules, *baselines, *events, *comparators}
    assert set(retrain["method"]) == expected and set(modules) <= set(MODULE_NAMES) and set(baselines) <= set(BASELINES)
    for (game, seed) in [(g, s) for g in ("bdq", "bdq_ensemble") for s in (0, 1)]:  # 04's sweep, both games, per seed
        assert sorted(retrain.loc[(retrain["method"] == game) & (retrain["seed"] == seed), "alpha"]) == \
            [float(a) for a in defaults["ALPHAS"].split(",")]
    assert set(results[results["protocol"] == "frozen_clean"]["method"]) == expected
    attackers = json.loads((run_dir / "run.json").read_text())["attackers"].split(",")
    swept = sorted(set(attackers + sweeps["attackers"].split(",") + ["strongest"]))
    assert set(every["seed"]) == {0, 1}  # SMOKE's two seeds, everywhere
    per_encoder = every.groupby(["method", "alpha", "protocol", "seed"], dropna=False)["attacker"].apply(sorted)
    for (method, alpha, protocol, seed), names in per_encoder.items():  # 06 sweeps raw and BDQ at alpha=1 (retrain)
        in_sweep = protocol == "retrain" and (method == "raw" or (method == "bdq" and alpha == 1.0))
        assert names == (swept if in_sweep else sorted(attackers + ["strongest"])), (method, alpha, protocol)
    actions = pd.read_csv(run_dir / "action_sweep.csv")
    assert len(actions) == 2 * 2 * len(sweeps["actions"].split(",")) and actions["action_top1"].between(0, 1).all()
    recon = pd.read_csv(run_dir / "reconstruction.csv")
    assert sorted(recon["alpha"]) == sorted(sweeps["recon_alphas"]) and (recon["psnr"] > 0).all()
    assert (every["split"] == "video").all() and (every.loc[every["protocol"] == "retrain", "epochs_trained"] >= 1).all()
    assert results[["action_top1", "privacy_top1"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (results["privacy_chance"] == 1 / 3).all()
    predictions = pd.read_csv(run_dir / "predictions.csv")  # every accuracy recomputes from the predictions
    for _, r in results[results["protocol"] == "retrain"].iterrows():
        mine = predictions[(predictions["method"] == r["method"]) & (predictions["network"] == r["strongest_attacker"])
                           & (predictions["seed"] == r["seed"]) & (predictions["protocol"] == "retrain")
                           & (predictions["target"] == "identity")
                           & (predictions["alpha"].isna() if r["alpha"] != r["alpha"]
                              else predictions["alpha"] == r["alpha"])]
        assert len(mine) == r["n_test"] and (mine["label"] == mine["pred"]).mean() == r["privacy_top1"]
    table = pd.read_csv(run_dir / "results_table.csv")
    assert {"removed_low", "removed_high", "seeds"} <= set(table.columns) and (table["seeds"] == 2).all()
    for figure in FIGURES:
        assert (run_dir / figure).stat().st_size > 1000
    for table in ("results_table.csv", "complexity.csv"):
        assert len(pd.read_csv(run_dir / table)) > 0
    assert json.loads((run_dir / "run.json").read_text())["smoke"] is True
    study = json.loads((run_dir / "study" / "study.json").read_text())  # 07: built, nobody answered
    assert len(study["questions"]) >= 3 and not list((run_dir / "study").glob("answers-*.csv"))
    assert not (REPO / "outputs" / "latest").resolve().is_relative_to(smoke_run.root)  # elsewhere: not "latest"
    page = (run_dir / "index.html").read_text()  # the report page (its content: tests/test_browser.py)
    assert f"All {len(NOTEBOOKS)} notebooks finished" in page
    # on a CPU 04, 05 and 07 ran side by side; run.log keeps one whole section per notebook, in order
    assert "[run_all] side by side: 04_ablation 05_comparators 07_identification_study" in smoke_run.log
    starts = [line.split()[1] for line in smoke_run.log.splitlines() if re.match(r"^\[run_all\] \d\d_\w+ \.\.\.$", line)]
    assert starts == ["01_preprocess", "02_adversarial_train", "03_validate_frozen_encoder", "04_ablation",
                      "05_comparators", "07_identification_study", "06_robustness", "08_figures"], starts
    for a, b in zip(starts, starts[1:]):  # a section ends (done) before the next one starts
        assert smoke_run.log.index(f"[run_all] {a} done in") < smoke_run.log.index(f"[run_all] {b} ...")
    assert not (run_dir / "logs").exists()
    for name in NOTEBOOKS:
        assert (run_dir / f"{name}.report.html").is_file() and f'href="{name}.report.html"' in page


def test_missing_skip_runs_01_on_a_partial_kth_folder_and_names_what_it_skipped(tmp_path, tiny_synthetic):
    partial = tmp_path / "kth"
    partial.mkdir()
    for f in tiny_synthetic.iterdir():
        if f.name not in ("person02_boxing_d3_uncomp.avi", "person03_walking_d1_uncomp.avi"):
            (partial / f.name).symlink_to(f)
    env = {**os.environ, "BDQ_DATA_ROOT": str(tmp_path / "data"), "BDQ_OUTPUTS_ROOT": str(tmp_path / "outputs")}
    out = tmp_path / "01.ipynb"
    common = [str(REPO / ".venv/bin/python"), "-m", "papermill", "notebooks/01_preprocess.ipynb", str(out), "-k",
              "python3", "-p", "DATASET", "kth", "-p", "DATA_DIR", str(partial), "-p", "SMOKE", "True",
              "-p", "RUN_DIR", str(tmp_path / "run")]
    refused = subprocess.run(common, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "person02_boxing_d3_uncomp.avi" in refused.stderr + refused.stdout
    done = subprocess.run(common + ["-p", "MISSING", "skip"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = "".join("".join(o.get("text", "")) for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", []))
    assert "2 video(s) listed in 00sequences.txt are not in the data folder and were skipped" in text
    assert "person02_boxing_d3, person03_walking_d1" in text


@pytest.mark.parametrize("dataset, pairs, alpha", [("sbu", 4, 2.0), ("ipn", 2, 8.0), ("weizmann", 3, 1.0)])
def test_run_all_smoke_on_a_tiny_folder_in_the_datasets_layout(tmp_path, dataset, pairs, alpha):
    """-p DATASET sbu|ipn|weizmann -p SMOKE True without DATA_DIR writes a tiny folder in that layout and runs the
    notebooks whose code depends on the dataset -- 01 (reader, splits), 02 (game), 03 (suites), 07 (the study's
    gallery and answers), 08 (the report of whatever rows there are) -- with --only; 04-06 train more encoders the
    same way on any dataset, and the synthetic chain above runs them."""
    run_dir = tmp_path / "run"
    env = {**os.environ, "BDQ_DATA_ROOT": str(tmp_path / "data"), "BDQ_OUTPUTS_ROOT": str(tmp_path / "outputs")}
    # Weizmann's chain runs on whole frames (CROP frame: 05 leaves out SPPA and RAPrivacy, defined on S x S crops,
    # and runs masking) and also runs 06 as the cpu default does, without a reconstruction attack (RECON_ALPHAS
    # empty; the synthetic chain runs it with one), its sweeps kept to the suite and no event camera
    only, extra = ("01,02,03,07,08", [])
    if dataset == "weizmann":
        only, extra = "01,02,03,05,06,07,08", ["-p", "CROP", "frame", "-p", "RECON_ALPHAS", "", "-p",
                                               "DVS_THRESHOLDS", "", "-p", "ATTACKER_SWEEP", "suite", "-p",
                                               "ACTION_SWEEP", "small3d"]
    done = subprocess.run(["./run_all.sh", "--only", only, "-p", "DATASET", dataset, "-p", "SMOKE",
                           "True", "-p", "RUN_DIR", str(run_dir), *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    log = (run_dir / "run.log").read_text() if (run_dir / "run.log").exists() else done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert (tmp_path / "data" / f"{dataset}-smoke" / "layout.json").is_file()
    assert sorted(p.name[:2] for p in run_dir.glob("0*.ipynb")) == only.split(",")  # --only
    if dataset == "weizmann":
        assert not (run_dir / "fig7_reconstruction.png").exists()
        assert "No reconstruction attack in this run" in (run_dir / "06_robustness.ipynb").read_text()
    config = json.loads((run_dir / "run.json").read_text())
    assert config["dataset"] == dataset and config["alpha"] == alpha  # the paper's alpha for the dataset
    results = pd.read_csv(run_dir / "results.csv")
    assert set(results["method"]) == ({"raw", "bdq", "masking"} if dataset == "weizmann" else {"raw", "bdq"})
    assert (results["dataset"] == dataset).all()
    if dataset == "weizmann":
        assert config["crop"] == "frame"
        assert "SYSTEMS: raprivacy, sppa left out" in (run_dir / "05_comparators.ipynb").read_text()
    assert results["privacy_top1"].between(0, 1).all()
    study = json.loads((run_dir / "study" / "study.json").read_text())
    assert len(study["gallery"]) == pairs  # SBU: 4 actors; IPN: 2 genders; Weizmann's tiny layout: 3 people
    assert {len(q["answer"]) for q in study["questions"]} == {2 if dataset == "sbu" else 1}  # SBU: both actors
