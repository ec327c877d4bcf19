"""Where we run: local, Kaggle or Colab -- and where data and outputs go there."""
from __future__ import annotations

import functools
import hashlib
import os
import platform as platform_module
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


def _cpu() -> dict:
    """The CPU's model and the instruction-set flags oneDNN and ATen choose their kernels by (Linux /proc/cpuinfo)."""
    info = {"model": platform_module.processor() or platform_module.machine(), "flags": []}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            info["model"] = value.strip()
        if key.strip() == "flags":
            wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "fma")
            info["flags"] = [f for f in value.split() if f in wanted]
            break
    return info


@functools.lru_cache(maxsize=None)
def cpu_flags() -> tuple:
    """The instruction-set flags of this CPU that oneDNN and ATen choose their kernels by (empty off Linux)."""
    return tuple(_cpu()["flags"])


def native_cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX) with its kernels not capped at AVX2 by the
    deterministic mode (capped, bf16 is emulated and slower than fp32)."""
    return bool({"avx512_bf16", "amx_bf16"} & set(cpu_flags())) and not deterministic_mode()


def _git_commit(repo: Path | None) -> str:
    head = (repo or find_repo_root()) / ".git"
    try:
        if head.is_file():  # a worktree: "gitdir: ..."
            head = Path(head.read_text().split(":", 1)[1].strip())
        ref = (head / "HEAD").read_text().strip()
        if ref.startswith("ref:"):
            path = head / ref.split(" ", 1)[1]
            if not path.is_file():
                common = head / "commondir"
                base = (head / common.read_text().strip()).resolve() if common.is_file() else head
                path = base / ref.split(" ", 1)[1]
            return path.read_text().strip() if path.is_file() else ref
        return ref
    except OSError:
        return "unknown"


def environment(cfg=None) -> dict:
    """What a run's numbers depend on beyond its config: the CPU and its instruction sets, library versions
    (torch, oneDNN, OpenCV, numpy, CUDA, cuDNN), threads, the deterministic mode, the code's commit; with `cfg`,
    digests of its data folder listing and of the pretrained small networks' files. Recorded in run.json."""
    import cv2
    import numpy
    import torch

    env = {"python": sys.version.split()[0], "torch": torch.__version__,
           "onednn": _onednn_version(torch),
           "opencv": cv2.__version__, "numpy": numpy.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
           "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
           "cpu": _cpu(), "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "threads": torch.get_num_threads(), "deterministic": deterministic_mode(),
           "cpu_bf16": native_cpu_bf16(),
           "env": {k: os.environ[k] for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS")
                   if k in os.environ},
           "commit": _git_commit(None)}
    if cfg is not None:
        env["data_listing_sha256"] = _listing_digest(Path(cfg.data_dir)) if cfg.data_dir else None
        env["pretrained_sha256"] = {p.name: _file_digest(p) for p in sorted(Path(cfg.weights_dir).glob("small*.pt"))
                                    } if cfg.weights_dir and Path(cfg.weights_dir).is_dir() else {}
    return env


def _onednn_version(torch) -> str | None:
    for line in torch.__config__.show().splitlines():
        if "oneDNN" in line or "MKL-DNN" in line:
            return line.strip().lstrip("- ")
    return None


def _listing_digest(folder: Path) -> str | None:
    """SHA-256 of a data folder's (relative path, size) listing: cheap, and changes when any file does in size."""
    if not folder.is_dir():
        return None
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(f"{p.relative_to(folder)}:{p.stat().st_size};".encode())
    return h.hexdigest()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the deterministic mode
DETERMINISTIC_ENV = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def deterministic_mode() -> bool:
    """Whether this process runs in the deterministic mode (BDQ_DETERMINISTIC=1, set before torch is imported)."""
    return os.environ.get("BDQ_DETERMINISTIC", "") not in ("", "0")


def apply_deterministic_mode() -> None:
    """Make a CPU run bit-identical across x86 machines of one kind: cap oneDNN's and ATen's kernels to AVX2 (the
    instruction sets every such machine has; they are chosen when torch is first imported, so this must run
    before) and ask torch for deterministic algorithms (cuDNN's and cuBLAS's documented settings on a GPU). Called
    by bdqlib's __init__ when BDQ_DETERMINISTIC is set; run_all.sh sets it with -p DETERMINISTIC True."""
    if not deterministic_mode():
        return
    if "torch" in sys.modules:
        import torch
        if torch.backends.cpu.get_cpu_capability().lower() != "avx2":
            raise RuntimeError("BDQ_DETERMINISTIC is set but torch was imported before bdqlib, with its CPU kernels "
                               "uncapped. Import bdqlib first, or export ONEDNN_MAX_CPU_ISA=AVX2 and "
                               "ATEN_CPU_CAPABILITY=avx2 with it before starting Python (run_all.sh does).")
    for key, value in DETERMINISTIC_ENV.items():
        os.environ[key] = value
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
