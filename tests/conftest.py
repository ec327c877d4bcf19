import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from bdqlib.config import make_config
from bdqlib.data.synthetic import make_kth_like

REPO = Path(__file__).resolve().parents[1]
KTH_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kth-sample"
WEIZMANN = Path(__file__).resolve().parents[2] / "shared" / "data" / "weizmann"
needs_weizmann_video = pytest.mark.skipif(not (WEIZMANN / "eli_jack.avi").is_file(),
                                          reason="Weizmann RGB file (../shared/data/weizmann/eli_jack.avi) not present")
needs_kth_sample = pytest.mark.skipif(not (KTH_SAMPLE / "00sequences.txt").is_file(),
                                      reason="real KTH sample (../shared/data/kth-sample) not present")


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Data and outputs roots in the test's folder, no time budget, not on Kaggle: a run starts as on a fresh machine."""
    monkeypatch.setenv("BDQ_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("BDQ_OUTPUTS_ROOT", str(tmp_path / "outputs"))
    monkeypatch.delenv("BDQ_TIME_BUDGET_H", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def tiny_synthetic(tmp_path_factory):
    """A small synthetic KTH-format dataset: 3 people, 6 actions, 4 scenarios, 2 short clips per video."""
    root = tmp_path_factory.mktemp("synthetic")
    return make_kth_like(root, subjects=3, clips_per_video=2, clip_frames=14, workers=1, log=None)


@pytest.fixture(scope="session")
def tiny_cfg(tiny_synthetic):
    """A config for seconds-long runs on the tiny dataset (random init, small crops)."""
    return make_config("cpu", dataset="kth", data_dir=str(tiny_synthetic), num_frames=4, size=24, cache_short_side=24,
                       weights="none", epochs=2, warmup_epochs=1, val_epochs=1, batch_size=6, action_width=4,
                       privacy_width=4, privacy_frames=2, eval_every=1, val_min_epochs=1)


@pytest.fixture(scope="session")
def tiny_data(tiny_cfg, tmp_path_factory):
    from bdqlib.data import prepare_data
    root = tmp_path_factory.mktemp("data-root")
    return prepare_data(tiny_cfg, root=root, log=None)


@dataclass(frozen=True)
class SmokeRun:
    root: Path        # the session folder holding data/, outputs/ and run/
    run_dir: Path
    env: dict         # the environment the run had (data and outputs roots): serve its notebooks with the same
    returncode: int
    stdout: str
    log: str


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> SmokeRun:
    """The whole chain once per session, as a user runs it: ./run_all.sh -p SMOKE True (plus the comparators the
    cpu profile leaves out), in a fresh data folder. test_notebooks checks what it wrote; the browser tests open the
    finished folder (its report page, the study, the explorer)."""
    root = tmp_path_factory.mktemp("smoke-run")
    run_dir = root / "run"
    env = {**os.environ, "BDQ_DATA_ROOT": str(root / "data"), "BDQ_OUTPUTS_ROOT": str(root / "outputs")}
    extras = ["-p", "ALF_ALPHAS", "1", "-p", "ELR", "elr28", "-p", "SWEEP_ENCODERS", "raw,bdq",  # off on cpu
              "-p", "GAMES", "bdq,bdq_ensemble"]
    done = subprocess.run(["./run_all.sh", "-p", "SMOKE", "True", "-p", "RUN_DIR", str(run_dir), *extras], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=900)
    log = (run_dir / "run.log").read_text() if (run_dir / "run.log").exists() else done.stdout + done.stderr
    return SmokeRun(root, run_dir, env, done.returncode, done.stdout, log)
