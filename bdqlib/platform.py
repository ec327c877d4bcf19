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


def headless() -> bool:
    """Whether no front end shows widgets: run_all.sh (BDQ_HEADLESS) or Kaggle's "Save & Run All", which runs the
    notebook as a batch job (KAGGLE_KERNEL_RUN_TYPE=Batch) where an ipywidgets Output would wait forever."""
    return bool(os.environ.get("BDQ_HEADLESS")) or os.environ.get("KAGGLE_KERNEL_RUN_TYPE") == "Batch"


# What to pick instead when the installed torch has no kernels for the GPU (Kaggle's P100 image ships a torch
# built for sm_70 and newer).
ACCELERATOR_ADVICE = {"kaggle": "in the notebook's settings choose the accelerator 'GPU T4 x2' (compute capability "
                                "7.5) instead",
                      "colab": "choose Runtime > Change runtime type > T4 GPU (or L4 / A100)",
                      "local": "install a torch build for this GPU (https://pytorch.org/get-started/locally/) or "
                               "use a newer GPU"}


def runs_on(capability: tuple, arch_list) -> bool:
    """Whether a torch built for `arch_list` (torch.cuda.get_arch_list(): 'sm_75', 'compute_90', ...) has kernels
    for a GPU of compute `capability` (major, minor): a cubin of the same major and a minor not above the GPU's,
    or PTX of a lower or equal capability, which the driver compiles."""
    major, minor = capability
    for arch in arch_list:
        kind, _, digits = arch.partition("_")
        if not digits.isdigit():
            continue
        a_major, a_minor = int(digits[:-1]), int(digits[-1])
        if kind == "sm" and a_major == major and a_minor <= minor:
            return True
        if kind == "compute" and (a_major, a_minor) <= (major, minor):
            return True
    return False


def check_cuda_arch(device_index: int = 0, platform: str | None = None) -> None:
    """Raise a clear error before the first CUDA operation fails with "no kernel image is available for execution
    on the device": which GPU, which architectures this torch has, and which accelerator to pick instead."""
    import torch
    if not torch.cuda.is_available():
        return
    capability = torch.cuda.get_device_capability(device_index)
    arch_list = torch.cuda.get_arch_list()
    if not arch_list or runs_on(capability, arch_list):  # an empty list: a build that does not say; let it try
        return
    name = torch.cuda.get_device_name(device_index)
    raise RuntimeError(f"this torch {torch.__version__} has no CUDA kernels for the {name} (compute capability "
                       f"{capability[0]}.{capability[1]}; the build has {', '.join(arch_list)}): "
                       f"{ACCELERATOR_ADVICE[platform or detect_platform()]}")

