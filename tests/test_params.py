"""run_all.sh's front door: --help, parameter validation before anything runs (scripts/params.py)."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import params  # noqa: E402


def run_all(*args, tmp_path):
    env = {**os.environ, "BDQ_DATA_ROOT": str(tmp_path / "data"), "BDQ_OUTPUTS_ROOT": str(tmp_path / "outputs")}
    return subprocess.run(["./run_all.sh", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_every_notebook_parameter_is_read_with_its_type():
    table = params.declared()
    for name in ("DATASET", "PROFILE", "ALPHA", "EPOCHS", "VAL_EPOCHS", "ATTACKERS", "SPLIT", "MISSING", "SEEDS",
                 "RUN_DIR", "SMOKE", "ALPHAS", "MODULES", "BASELINES", "FROZEN_CLEAN"):
        assert name in table, name
    assert table["ALPHA"][1] == "float" and table["SMOKE"][1] == "bool" and table["EPOCHS"][1] == "int"
    assert table["ALPHAS"][3] == ["04_ablation"] and len(table["SEEDS"][3]) == len(params.notebooks())


def test_help_lists_every_parameter_and_creates_nothing(tmp_path):
    before = sorted(p.name for p in (REPO / "outputs").iterdir())
    for flag in ("--help", "-h"):
        done = run_all(flag, tmp_path=tmp_path)
        assert done.returncode == 0, done.stderr
        for name in params.declared():
            assert name in done.stdout
        assert "BDQ_WEIGHTS_DIR" in done.stdout and "paper" in done.stdout
    assert not (tmp_path / "outputs").exists() and sorted(p.name for p in (REPO / "outputs").iterdir()) == before


def test_the_examples_of_the_help_and_the_readme_are_accepted():
    """A parameter renamed (SEED -> SEEDS) must not leave an example that the front door refuses."""
    examples = [line.split("./run_all.sh", 1)[1].split("#")[0] for line in params.usage().splitlines()
                if "./run_all.sh -p" in line]
    examples += re.findall(r"`\./run_all\.sh (-p [^`]*)`", (REPO / "README.md").read_text())
    assert len(examples) >= 4, examples
    for example in examples:
        pairs, rest = params.parse_args(shlex.split(example))
        assert pairs and not rest, example


@pytest.mark.parametrize("args, message", [
    (["-p", "ALPAH", "2"], "unknown parameter 'ALPAH'; did you mean ALPHA"),
    (["-p", "ALPHA", "abc"], "parameter ALPHA must be float"),
    (["-p", "EPOCHS", "2.5"], "parameter EPOCHS must be int"),
    (["-p", "SMOKE", "yes"], "parameter SMOKE must be bool"),
    (["-p", "SPLIT", "person"], "SPLIT must be one of video, clip, scenario"),
    (["-p", "ALPHA"], "needs a NAME and a VALUE"),
    (["--only", "01,09"], "--only: no notebook numbered '09'"),
    (["-p", "SMOKE", "True", "--only"], "--only needs a list of notebook numbers"),
])
def test_a_bad_parameter_is_refused_before_anything_runs(tmp_path, args, message):
    latest = os.readlink(REPO / "outputs" / "latest") if (REPO / "outputs" / "latest").is_symlink() else None
    done = run_all(*args, "-p", "RUN_DIR", str(tmp_path / "run"), tmp_path=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "run").exists()
    now = os.readlink(REPO / "outputs" / "latest") if (REPO / "outputs" / "latest").is_symlink() else None
    assert now == latest


def test_each_notebook_receives_only_its_parameters(capsys):
    assert params.main(["args", "04_ablation", "--", "-p", "ALPHAS", "0,1", "-p", "SEEDS", "3", "--log-level",
                        "INFO"]) == 0
    assert capsys.readouterr().out.split() == ["-p", "ALPHAS", "0,1", "-p", "SEEDS", "3", "--log-level", "INFO"]
    assert params.main(["args", "01_preprocess", "--", "-p", "ALPHAS", "0,1", "-p", "SEEDS", "3"]) == 0
    assert capsys.readouterr().out.split() == ["-p", "SEEDS", "3"]
    assert params.convert("ALPHAS", "2", "str", raw=False) == 2 and params.convert("EPOCHS", "None", "int", False) is None


def test_the_gpu_fitting_parameters_are_declared_everywhere_and_typed():
    """BATCH_SIZE, ACCUM, AMP, PRIVACY_FRAMES, VAL_FRAMES, CHECKPOINTING and WEIGHTS reach start_run from every
    notebook (run_all.sh refuses an undeclared name), with 01's typed comments."""
    from bdqlib.experiments.pipeline import NOTEBOOK_PARAMETERS
    table = params.declared()
    for name in ("BATCH_SIZE", "ACCUM", "AMP", "PRIVACY_FRAMES", "VAL_FRAMES", "CHECKPOINTING", "WEIGHTS"):
        assert name in NOTEBOOK_PARAMETERS and len(table[name][3]) == len(params.notebooks()), name
    assert table["BATCH_SIZE"][1] == "int" and table["CHECKPOINTING"][1] == "bool"
    assert params.convert("PRIVACY_FRAMES", "one", table["PRIVACY_FRAMES"][1], raw=False) == "one"
    assert params.convert("PRIVACY_FRAMES", "4", table["PRIVACY_FRAMES"][1], raw=False) == 4
    with pytest.raises(params.ParameterError, match="BATCH_SIZE must be int"):
        params.convert("BATCH_SIZE", "8.5", table["BATCH_SIZE"][1], raw=False)
    with pytest.raises(params.ParameterError, match="AMP must be one of"):
        params.convert("AMP", "half", table["AMP"][1], raw=False)


def test_smoke_shrinks_sizes_and_keeps_the_paper_profiles_paths():
    """SMOKE never switches paths: the paper profile's uncached views stay uncached, and its automatic accumulation
    becomes 2 micro-batches on a CPU (measured on a GPU); the cpu profile keeps its cached views and no
    accumulation."""
    import torch

    from bdqlib.experiments.run import smoke_overrides
    paper = smoke_overrides("paper", "synthetic", torch.device("cpu"))
    assert paper["val_views"] == 0 and paper["accum_steps"] == 2 and paper["size"] == 48 and paper["num_frames"] == 8
    assert "accum_steps" not in smoke_overrides("paper", "synthetic", torch.device("cuda"))  # measured there
    cpu = smoke_overrides("cpu", "synthetic", torch.device("cpu"))
    assert cpu["val_views"] == 1 and "accum_steps" not in cpu
