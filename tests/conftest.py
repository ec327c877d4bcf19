from pathlib import Path

import pytest

from bdqlib.config import make_config
from bdqlib.data.synthetic import make_kth_like

KTH_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kth-sample"
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
