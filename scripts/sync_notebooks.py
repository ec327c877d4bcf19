"""Write notebooks/*.ipynb from their jupytext sources notebooks/*.py (the sources are the truth).

    python scripts/sync_notebooks.py            # regenerate every .ipynb (output-free, kernel python3)
    python scripts/sync_notebooks.py --check    # exit 1 and name the notebooks whose .ipynb is stale

Deliberately one-way: `jupytext --sync` picks whichever file is newer and can silently revert an edit.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jupytext

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def render(source: Path) -> str:
    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: random ones would make every render differ
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    text = jupytext.writes(nb, fmt="ipynb")
    return json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale notebooks instead of writing them")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        target = source.with_suffix(".ipynb")
        text = render(source)
        if target.is_file() and target.read_text() == text:
            continue
        stale.append(target.name)
        if not args.check:
            tmp = target.with_suffix(".ipynb.part")
            tmp.write_text(text)
            tmp.replace(target)
    if args.check and stale:
        print("stale notebooks (run scripts/sync_notebooks.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    if not args.check and stale:
        print("wrote " + ", ".join(stale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
