"""bdqlib.experiments.page: the run's index.html, for finished, failed and empty folders (rendering in a real
browser: tests/test_browser.py)."""
import json

import nbformat
import pytest

from bdqlib.experiments import page


def _notebook(path, title: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"),
                nbformat.v4.new_code_cell("secret_code_line = 1\nprint('an output line')",
                                          outputs=[nbformat.v4.new_output("stream", text="an output line\n")])]
    nbformat.write(nb, path)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"profile": "cpu", "dataset": "synthetic", "seeds": [0, 1],
                                                   "commits": ["abcdef1234567"],
                                                   "environment": {"torch": "2.x", "threads": 2}}))
    for name in ("01_preprocess", "02_adversarial_train"):
        _notebook(tmp_path / f"{name}.ipynb", name)
    return tmp_path


def test_notebook_times_keep_the_last_attempt_of_a_resumed_run(folder):
    (folder / "run.log").write_text("[run_all] 01_preprocess ...\n[run_all] 01_preprocess FAILED after 3s; see x\n"
                                    "[run_all] 01_preprocess ...\n[run_all] 01_preprocess done in 40s\n"
                                    "noise [run_all] 02_adversarial_train done in 9s\n"
                                    "[run_all] 02_adversarial_train ...\n")
    times = page.notebook_times(folder)
    assert times["notebook"].tolist() == ["01_preprocess", "02_adversarial_train"]
    assert times["status"].tolist() == ["done", "running / stopped"]
    assert times["seconds"].iloc[0] == 40 and times["seconds"].isna().iloc[1]


def test_a_failed_run_says_where_it_stopped_and_still_links_what_exists(folder):
    (folder / "run.log").write_text("[run_all] 01_preprocess ...\n[run_all] 01_preprocess done in 5s\n"
                                    "[run_all] 02_adversarial_train ...\n"
                                    "[run_all] 02_adversarial_train FAILED after 7s; see x\n")
    out = page.write_page(folder)
    text = out.read_text()
    assert "Notebook <b>02_adversarial_train</b> FAILED" in text and "All " not in text
    assert 'href="01_preprocess.report.html"' in text and "(done, 5 s)" in text and "(FAILED, 7 s)" in text
    assert "No results yet" in text and 'href="results.csv"' not in text  # no link to a file that is not there
    assert "abcdef1234" in text and "0, 1" in text  # commit and seeds from run.json
    reader = (folder / "01_preprocess.report.html").read_text()
    assert "an output line" in reader and "secret_code_line" not in reader  # outputs, no code
    assert not [p for p in folder.iterdir() if ".part" in p.name]


def test_a_finished_run_gives_its_total_time(folder):
    (folder / "run.log").write_text("[run_all] 01_preprocess done in 61s\n[run_all] 02_adversarial_train done in 60s\n")
    assert "All 2 notebooks finished in 2 min 1 s." in page.page(folder)


def test_a_half_written_notebook_costs_only_its_own_report(folder):
    (folder / "02_adversarial_train.ipynb").write_text('{"cells": [')  # a killed kernel's partial file
    text = page.write_page(folder).read_text()
    assert "Could not convert" in text and "02_adversarial_train.ipynb" in text
    assert (folder / "01_preprocess.report.html").is_file()


def test_a_folder_that_does_not_exist_is_named(tmp_path, capsys):
    assert page.main([str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err and not (tmp_path / "nope").exists()


def test_notebooks_run_side_by_side_count_once_in_the_total(folder):
    """run_all.sh runs 04, 05 and 07 side by side on a CPU: the run's time is their group's, not the sum of theirs."""
    (folder / "run.log").write_text("[run_all] 01_preprocess done in 61s\n"
                                    "[run_all] side by side: 02_adversarial_train 03_x (their output: logs/)\n"
                                    "[run_all] 02_adversarial_train done in 100s\n[run_all] 03_x done in 80s\n"
                                    "[run_all] side by side 02_adversarial_train,03_x ended in 101s\n")
    assert page.wall_seconds(folder) == 61 + 101
    assert "All 3 notebooks finished in 2 min 42 s." in page.page(folder)
