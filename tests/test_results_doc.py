"""scripts/results_doc.py: a finished run folder as a Markdown page, every number computed from its files."""
import json
import sys
from pathlib import Path

import pandas as pd

from bdqlib import BDQEncoder
from bdqlib.experiments import pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import results_doc  # noqa: E402


def test_the_page_names_its_run_and_commit_and_carries_the_runs_numbers(tiny_cfg, tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("BDQ_DATA_ROOT", str(tmp_path / "data"))
    tiny = {k: getattr(tiny_cfg, k) for k in ("num_frames", "size", "cache_short_side", "weights", "warmup_epochs",
                                              "val_epochs", "batch_size", "action_width", "privacy_width",
                                              "privacy_frames", "eval_every", "val_min_epochs")}
    run = pipeline.start_run(dataset="kth", data_dir=tiny_cfg.data_dir, run_dir=str(tmp_path / "run"), seeds="0",
                             epochs=tiny_cfg.epochs, val_views=1, **tiny)
    pipeline.validate(run, tiny_data, BDQEncoder(False, False, False), method="raw", log=None)
    pipeline.validate(run, tiny_data, BDQEncoder(), method="bdq", alpha=run.cfg.alpha, log=None)
    out = tmp_path / "results.md"
    assert results_doc.main(["--run", str(run.run_dir), "--out", str(out)]) == 0
    text = out.read_text()
    assert f"# Results of run `{run.run_dir.name}`" in text and "commit `" in text
    strongest = pd.read_csv(run.run_dir / "results.csv").query("attacker == 'strongest' and method == 'raw'")
    assert f"{strongest['privacy_top1'].iloc[0]:.3f}" in text  # raw's privacy, as results.csv has it
    assert "| raw |" in text and "| bdq |" in text
    saved = json.loads((run.run_dir / "run.json").read_text())
    (run.run_dir / "run.json").write_text(json.dumps({**saved, "commits": ["a" * 40, "b" * 40]}))
    assert results_doc.main(["--run", str(run.run_dir), "--out", str(out)]) == 0
    assert "**rows from 2 commits** (`aaaaaaaaaa`, `bbbbbbbbbb`" in out.read_text()  # never silently mixed


def test_a_folder_without_results_is_refused_by_name(tmp_path, capsys):
    (tmp_path / "run.json").write_text("{}")
    assert results_doc.main(["--run", str(tmp_path)]) == 2
    assert f"--run {tmp_path}: no results.csv there" in capsys.readouterr().err
