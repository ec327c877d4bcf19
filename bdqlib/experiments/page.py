"""One page per run: `<run folder>/index.html`, what a reader opens first.

It shows the run at a glance -- whether every notebook finished (and which one failed), the headline sentence and
the table of every encoder with intervals (computed by bdqlib.report from results.csv and predictions.csv), the
figures, the environment the run was made in (run.json), the time each notebook took (run.log) -- and links to
every executed notebook twice: the reader's version without code cells (`<name>.report.html`, written here) and
the full executed notebook (`<name>.html`, written by run_all.sh).

    python -m bdqlib.experiments.page outputs/<run_id>     # run_all.sh calls this after the last notebook

Nothing here needs the run to be complete: a run that stopped early gets a page that says where it stopped and
shows what exists. The page is self-contained apart from the images and notebooks it links (relative paths, so
the folder can be moved or zipped).
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path

import pandas as pd

from ..atomic import write_text_atomic
from ..report import summary, tables
from .run import open_run

# Figures shown first, in the paper's order; any other PNG of the run folder follows, by name.
MAIN_FIGURES = ("fig3_tradeoff.png", "fig4_ablation.png", "comparators_tradeoff.png", "fig5_attacker_sweep.png",
                "fig6_action_sweep.png", "fig7_reconstruction.png", "fig8_tradeoff_dvs.png", "encoder_stages.png")
_LOG_LINE = re.compile(r"^\[run_all\] (\d\d_\w+) (?:(done) in (\d+)s|(FAILED) after (\d+)s|\.\.\.)")


def notebook_times(run_dir: Path) -> pd.DataFrame:
    """One row per notebook run_all.sh started in this folder (the last attempt, for a resumed run): notebook,
    status ("done", "FAILED" or "running / stopped"), seconds (None until it ended)."""
    rows: dict = {}
    log = run_dir / "run.log"
    for line in (log.read_text(errors="replace").splitlines() if log.is_file() else []):
        m = _LOG_LINE.match(line)
        if not m:
            continue
        name = m.group(1)
        if m.group(2):
            rows[name] = ("done", int(m.group(3)))
        elif m.group(4):
            rows[name] = ("FAILED", int(m.group(5)))
        else:
            rows[name] = ("running / stopped", None)
    return pd.DataFrame([(n, s, t) for n, (s, t) in sorted(rows.items())], columns=["notebook", "status", "seconds"])


_SIDE_BY_SIDE = re.compile(r"^\[run_all\] side by side ([\w,]+) ended in (\d+)s")


def wall_seconds(run_dir: Path, times: pd.DataFrame | None = None) -> float:
    """The run's wall time from run.log: each notebook's seconds (its last attempt), except that notebooks run_all.sh
    ran side by side count once, as the time their group took (their own times overlap)."""
    times = notebook_times(Path(run_dir)) if times is None else times
    seconds = dict(zip(times["notebook"], times["seconds"]))
    groups = {}
    log = Path(run_dir) / "run.log"
    for line in (log.read_text(errors="replace").splitlines() if log.is_file() else []):
        m = _SIDE_BY_SIDE.match(line)
        if m:
            groups[tuple(m.group(1).split(","))] = int(m.group(2))  # the last attempt of each group
    total = sum(float(v) for v in seconds.values() if v == v and v is not None)
    for members, together in groups.items():
        if all(seconds.get(n) == seconds.get(n) and seconds.get(n) is not None for n in members):
            total += together - sum(float(seconds[n]) for n in members)
    return total


def write_reader_versions(run_dir: Path) -> list:
    """`<name>.report.html` beside each executed `<name>.ipynb`: outputs and narrative only (no code cells, no
    prompts). Returns the notebooks that could not be converted (a partial notebook still converts)."""
    from nbconvert import HTMLExporter  # nbconvert is slow to import; only this function needs it
    import nbformat

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    failed = []
    for nb in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
        try:
            body, _ = exporter.from_notebook_node(nbformat.read(nb, as_version=4))
            write_text_atomic(nb.with_suffix(".report.html"), body)
        except Exception as e:  # a notebook half-written by a killed kernel must not cost the page
            failed.append(f"{nb.name}: {type(e).__name__}: {e}")
    return failed


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, na_rep="", border=0, classes="results")


def _results_section(run_dir: Path) -> str:
    """The headline and the retrain table with intervals, or a sentence saying why there are none yet."""
    if not (run_dir / "results.csv").is_file():
        return "<p>No results yet (results.csv is written by 03 and later notebooks).</p>"
    try:
        run = open_run(run_dir)
        retrain = summary.evaluation(run, "retrain")
        text = summary.headline(run, run.cfg.alpha, retrain)
        table = tables.with_intervals(retrain.table())
    except Exception as e:  # an old or partial folder: say so, show the rest
        return f"<p>The results could not be summarised: {html.escape(type(e).__name__)}: {html.escape(str(e))}</p>"
    return (f'<p class="headline">{html.escape(text)}</p>'
            "<h3>Every encoder, retrain protocol (mean over seeds ± half the 95 % interval), sorted by f_0.5</h3>"
            + _table_html(table))


def _environment(saved: dict) -> pd.DataFrame:
    env = saved.get("environment", {})
    cpu = env.get("cpu", {})
    gpus = env.get("gpus") or []
    commits = saved.get("commits") or [env.get("commit") or "?"]
    items = [("profile", saved.get("profile")), ("dataset", saved.get("dataset")),
             ("seeds", ", ".join(map(str, saved.get("seeds", [saved.get("seed")])))),
             ("smoke", saved.get("smoke")), ("commit(s)", ", ".join(str(c)[:10] for c in commits)),
             ("device", saved.get("device")), ("CPU", f"{cpu.get('model', '?')} ({', '.join(cpu.get('flags', []))})"),
             ("GPUs", ", ".join(map(str, gpus)) or "none"), ("threads", env.get("threads")),
             ("deterministic mode", env.get("deterministic")), ("python", env.get("python")),
             ("torch", env.get("torch")), ("oneDNN", env.get("onednn")), ("CUDA / cuDNN",
             f"{env.get('cuda')} / {env.get('cudnn')}"), ("OpenCV", env.get("opencv")), ("numpy", env.get("numpy"))]
    return pd.DataFrame([(k, "" if v is None else str(v)) for k, v in items], columns=["", "value"])


def page(run_dir: Path, conversion_errors=()) -> str:
    """The HTML of the run's page (see the module docstring)."""
    run_dir = Path(run_dir)
    saved = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
    times = notebook_times(run_dir)
    failed = times[times["status"] == "FAILED"]["notebook"].tolist()
    expected = sorted(p.stem for p in run_dir.glob("[0-9][0-9]_*.ipynb"))
    if failed:
        status = f'<p class="status failed">Notebook <b>{html.escape(failed[0])}</b> FAILED: the run stopped there ' \
                 f'(see its report below and run.log).</p>'
    elif len(times) and (times["status"] == "done").all():
        wall = int(wall_seconds(run_dir, times))
        status = f'<p class="status ok">All {len(times)} notebooks finished in {wall // 60} min {wall % 60} s.</p>'
    else:
        status = '<p class="status running">The run has not finished (or was stopped): the notebooks below without ' \
                 'a time did not end.</p>'
    links = []
    for name in expected:
        row = times[times["notebook"] == name]
        state = f"{row['status'].iloc[0]}" + (f", {int(row['seconds'].iloc[0])} s" if len(row) and
                                              row["seconds"].iloc[0] == row["seconds"].iloc[0] else "") \
            if len(row) else "not run by run_all.sh"
        parts = [f'<a href="{html.escape(name)}.report.html">{html.escape(name)}</a>'
                 if (run_dir / f"{name}.report.html").is_file() else html.escape(name)]
        if (run_dir / f"{name}.html").is_file():
            parts.append(f'<a class="code" href="{html.escape(name)}.html">with code</a>')
        parts.append(f'<a class="code" href="{html.escape(name)}.ipynb">.ipynb</a>')
        links.append(f"<li>{' · '.join(parts)} <span class=\"state\">({html.escape(state)})</span></li>")
    pngs = {p.name for p in run_dir.glob("*.png")}
    figures = [f for f in MAIN_FIGURES if f in pngs] + sorted(pngs - set(MAIN_FIGURES))
    figure_html = "".join(f'<figure><a href="{html.escape(f)}"><img src="{html.escape(f)}" alt="{html.escape(f)}"/>'
                          f'</a><figcaption>{html.escape(f)}</figcaption></figure>' for f in figures)
    errors = "".join(f"<li>{html.escape(e)}</li>" for e in conversion_errors)
    files = " · ".join(f'<a href="{f}">{f}</a>' for f in ("run.json", "run.log", "results.csv", "predictions.csv")
                       if (run_dir / f).is_file()) or "none yet"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>bdq-repro run {html.escape(run_dir.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
.status.ok {{ color: #1a7f37; }} .status.failed {{ color: #b42318; }} .status.running {{ color: #9a6700; }}
table.results, table.env {{ border-collapse: collapse; font-size: 0.9em; }}
table.results td, table.results th, table.env td, table.env th {{ padding: 2px 8px; border-bottom: 1px solid #ddd; }}
figure {{ display: inline-block; width: 48%; margin: 0.5%; vertical-align: top; }}
figure img {{ width: 100%; }} figcaption {{ font-size: 0.8em; color: #555; }}
a.code {{ font-size: 0.85em; color: #555; }} .state {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>Run <code>{html.escape(run_dir.name)}</code></h1>
{status}
<h2>Notebooks</h2><p>Each links to its report (outputs and text, no code); "with code" is the full executed notebook.</p>
<ul class="notebooks">{''.join(links)}</ul>
{f'<p>Could not convert:</p><ul>{errors}</ul>' if errors else ''}
<h2>Results</h2>
{_results_section(run_dir)}
<h2>Figures</h2>
<div class="figures">{figure_html or '<p>No figures yet.</p>'}</div>
<h2>Environment</h2>
{_environment(saved).to_html(index=False, escape=True, border=0, classes="env")}
<h2>Time per notebook</h2>
{_table_html(times) if len(times) else '<p>run.log names no notebook.</p>'}
<p>Files: {files}</p>
</body></html>
"""


def write_page(run_dir) -> Path:
    """Write `<run_dir>/index.html` (and each notebook's reader version) atomically; returns the page's path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    errors = write_reader_versions(run_dir)
    out = run_dir / "index.html"
    write_text_atomic(out, page(run_dir, errors))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", help="a run folder (outputs/<run_id>), finished or not")
    args = ap.parse_args(argv)
    try:
        print(f"[page] written {write_page(args.run_dir)}")
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
