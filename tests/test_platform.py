"""Where we run: roots per platform, headless detection, and a GPU that the installed torch cannot drive."""
import pytest
import torch

from bdqlib import platform


@pytest.mark.parametrize("capability, archs, ok", [
    ((6, 0), ["sm_70", "sm_75", "sm_80", "sm_86", "sm_90"], False),  # Kaggle's P100 with a torch for sm_70+
    ((7, 5), ["sm_70", "sm_75", "sm_80"], True),                     # T4
    ((8, 9), ["sm_80", "sm_86"], True),                              # L4 runs sm_86's cubin (same major, lower minor)
    ((9, 0), ["sm_80", "compute_80"], True),                         # H100 through PTX
    ((9, 0), ["sm_80", "sm_86"], False),
])
def test_runs_on_reads_the_arch_list_as_cuda_does(capability, archs, ok):
    assert platform.runs_on(capability, archs) is ok


def test_a_gpu_without_kernels_is_named_with_the_accelerator_to_pick(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (6, 0))
    monkeypatch.setattr(torch.cuda, "get_arch_list", lambda: ["sm_70", "sm_75", "sm_80"])
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Tesla P100-PCIE-16GB")
    with pytest.raises(RuntimeError, match=r"Tesla P100.*6\.0.*sm_70.*'GPU T4 x2'"):
        platform.check_cuda_arch(platform="kaggle")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (7, 5))
    platform.check_cuda_arch(platform="kaggle")  # a T4: fine


def test_headless_under_run_all_and_kaggles_save_and_run_all(monkeypatch):
    monkeypatch.delenv("BDQ_HEADLESS", raising=False)
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    assert not platform.headless()
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Batch")
    assert platform.headless()
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE")
    monkeypatch.setenv("BDQ_HEADLESS", "1")
    assert platform.headless()


def test_roots_per_platform(monkeypatch, tmp_path):
    monkeypatch.delenv("BDQ_DATA_ROOT", raising=False)
    monkeypatch.delenv("BDQ_OUTPUTS_ROOT", raising=False)
    assert platform.default_roots("kaggle") == (platform.Path("/kaggle/working/data"),
                                                platform.Path("/kaggle/working/outputs"))
    assert platform.default_roots("local", tmp_path) == (tmp_path / "data", tmp_path / "outputs")

