"""Where we run: local, Kaggle or Colab -- and where data and outputs go there."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def detect_platform() -> str:
    """"kaggle" (KAGGLE_KERNEL_RUN_TYPE is set), "colab" (google.colab importable/imported) or "local"."""
    if "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
        return "kaggle"
    if "google.colab" in sys.modules or os.environ.get("COLAB_RELEASE_TAG"):
        return "colab"
    return "local"


def default_roots(platform: str | None = None, repo: Path | None = None) -> tuple[Path, Path]:
    """(data root, outputs root): writable places for generated data, caches and run folders.

    Kaggle: /kaggle/working (datasets you attach are read from /kaggle/input/<name>, pass it as DATA_DIR).
    Colab: /content. Local: the repository's data/ and outputs/ (or the current directory's).
    $BDQ_DATA_ROOT and $BDQ_OUTPUTS_ROOT override either.
    """
    data, outputs = _platform_roots(platform or detect_platform(), repo)
    return Path(os.environ.get("BDQ_DATA_ROOT", data)), Path(os.environ.get("BDQ_OUTPUTS_ROOT", outputs))


def _platform_roots(platform: str, repo: Path | None) -> tuple[Path, Path]:
    if platform == "kaggle":
        base = Path("/kaggle/working")
        return base / "data", base / "outputs"
    if platform == "colab":
        base = Path("/content")
        return base / "data", base / "outputs"
    repo = repo or Path.cwd()
    return repo / "data", repo / "outputs"


def find_repo_root(start: Path | None = None) -> Path:
    """The directory holding pyproject.toml above `start` (notebooks run from notebooks/), else `start`."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file() and (d / "bdqlib").is_dir():
            return d
    return here
