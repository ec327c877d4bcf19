"""The whole chain, as a user runs it: ./run_all.sh (papermill, notebooks 01-05) in SMOKE mode."""
import json
import os
import subprocess
from pathlib import Path

import pandas as pd

from bdqlib.baselines import BASELINES
from bdqlib.encoder import MODULE_NAMES

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("fig3_tradeoff.png", "fig3_quant_steps.png", "fig4_ablation.png", "training_curves.png",
           "flambda_sweep.png")


def test_sources_and_notebooks_are_in_sync():
    result = subprocess.run([str(REPO / ".venv/bin/python"), "scripts/sync_notebooks.py", "--check"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_run_all_smoke(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "BDQ_DATA_ROOT": str(tmp_path / "data"), "BDQ_OUTPUTS_ROOT": str(tmp_path / "outputs")}
    done = subprocess.run(["./run_all.sh", "-p", "SMOKE", "True", "-p", "RUN_DIR", str(run_dir)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    log = (run_dir / "run.log").read_text() if (run_dir / "run.log").exists() else done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert done.stdout.strip().splitlines()[-1] == str(run_dir)  # the run folder is the last line
    for name in ("01_preprocess", "02_adversarial_train", "03_validate_frozen_encoder", "04_ablation", "05_figures"):
        nb = json.loads((run_dir / f"{name}.ipynb").read_text())
        errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, (name, errors)
        assert (run_dir / f"{name}.html").is_file()
    results = pd.read_csv(run_dir / "results.csv")
    retrain = results[results["protocol"] == "retrain"]
    expected = {"raw", "bdq", *MODULE_NAMES, *BASELINES}
    assert set(retrain["method"]) == expected
    assert sorted(retrain.loc[retrain["method"] == "bdq", "alpha"]) == [0.0, 1.0, 2.0, 4.0]
    assert set(results[results["protocol"] == "frozen_clean"]["method"]) == expected
    assert results[["action_top1", "privacy_top1"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (results["privacy_chance"] == 1 / 3).all() and (results["seed"] == 0).all()
    for figure in FIGURES:
        assert (run_dir / figure).stat().st_size > 1000
    for table in ("results_table.csv", "complexity.csv"):
        assert len(pd.read_csv(run_dir / table)) > 0
    assert json.loads((run_dir / "run.json").read_text())["smoke"] is True
    assert not (REPO / "outputs" / "latest").resolve().is_relative_to(tmp_path)  # a run elsewhere is not "latest"
