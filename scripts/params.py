"""The notebooks' parameters, read from their `parameters` cells: usage text, validation, per-notebook arguments.

    python scripts/params.py usage                      # what ./run_all.sh --help prints
    python scripts/params.py check -- ARGS...           # exit 2 with a message naming a bad parameter or value
    python scripts/params.py args NOTEBOOK -- ARGS...   # the papermill arguments for one notebook, one per line

ARGS are run_all.sh's arguments: `-p NAME VALUE` / `-r NAME VALUE` pairs and other papermill options. A notebook
receives only the parameters its parameters cell declares. A parameter's type is its default's; a parameter whose
default is None states its type at the start of its comment in 01 (`# int: ...`).
"""
from __future__ import annotations

import ast
import difflib
import re
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
_LINE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)\s*=\s*(?P<value>.+?)\s*(?:#\s*(?P<comment>.*))?$")
_TYPED = re.compile(r"^(?P<type>int|float|str|bool):\s*(?P<rest>.*)$")
CHOICES = {"DATASET": ("synthetic", "kth", "ixmas", "sbu", "ipn", "weizmann"), "PROFILE": ("cpu", "paper"),
           "SPLIT": ("video", "clip", "scenario", "authors", "sppa", "subject", "kfold",
                     *(f"kfold{k}" for k in range(2, 11))),
           "MISSING": ("error", "skip"), "CROP": ("square", "frame"), "AMP": ("auto", "off", "bf16", "fp16")}
ENVIRONMENT = {
    "BDQ_DATA_ROOT": "where datasets, the frame cache and pretrained small models live (default: data/)",
    "BDQ_OUTPUTS_ROOT": "where run folders are made (default: outputs/)",
    "BDQ_WEIGHTS_DIR": "where pretrained weight files are looked for (I3D_8x8_R50.pyth, resnet50-*.pth, ...)",
    "BDQ_SPLITS_DIR": "where SBU's split files and IPN's annotation files are looked for (default: <DATA_DIR>/splits)",
    "BDQ_TIME_BUDGET_H": "stop training cleanly after this many hours, resumable (Kaggle default: 11)",
    "BDQ_DETERMINISTIC": "1: bit-identical CPU results across x86 machines of a kind (kernels capped to AVX2; slower)",
}


class ParameterError(ValueError):
    pass


def parameters(source: Path) -> dict:
    """NAME -> (default, type name, comment) of one notebook's parameters cell (jupytext py:percent source)."""
    lines = source.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# %%") and "parameters" in line)
    out = {}
    for line in lines[start + 1:]:
        if line.startswith("# %%"):
            break
        m = _LINE.match(line)
        if not m:
            continue
        default = ast.literal_eval(m["value"])
        comment = (m["comment"] or "").strip()
        typed = _TYPED.match(comment)
        kind = typed["type"] if typed else type(default).__name__ if default is not None else None
        out[m["name"]] = (default, kind, typed["rest"] if typed else comment)
    return out


def notebooks() -> dict:
    return {p.stem: parameters(p) for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))}


def declared() -> dict:
    """NAME -> (default, type, comment, [notebooks]) over all notebooks; the first comment and type found win."""
    out = {}
    for nb, params in notebooks().items():
        for name, (default, kind, comment) in params.items():
            d, k, c, where = out.get(name, (default, kind, comment, []))
            out[name] = (d, k or kind, c or comment, where + [nb])
    return out


def papermill_value(value: str):
    """What papermill makes of `-p NAME value`: an int, a float, True/False/None, or the string."""
    for caster in (int, float):
        try:
            return caster(value)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(value, value)


def convert(name: str, value: str, kind: str | None, raw: bool):
    """The value papermill will pass, checked against the parameter's type and choices."""
    parsed = value if raw else papermill_value(value)
    number = isinstance(parsed, (int, float)) and not isinstance(parsed, bool)
    ok = {"bool": isinstance(parsed, bool), "int": number and isinstance(parsed, int), "float": number}.get(kind, True)
    if not (ok or parsed is None):  # None: "the profile's value" wherever the default is None
        example = {"bool": "True", "int": "8", "float": "1.5"}[kind]
        raise ParameterError(f"parameter {name} must be {kind} (e.g. -p {name} {example}), got {value!r}")
    if name in CHOICES and parsed is not None and str(parsed) not in CHOICES[name]:
        raise ParameterError(f"parameter {name} must be one of {', '.join(CHOICES[name])}, got {value!r}")
    return parsed


def parse_args(args: list) -> tuple:
    """([(flag, NAME, VALUE)], other papermill arguments), every NAME and VALUE checked."""
    table, pairs, rest, i = declared(), [], [], 0
    while i < len(args):
        flag = args[i]
        if flag in ("-p", "--parameters", "-r", "--parameters_raw"):
            flags = ("-p", "--parameters", "-r", "--parameters_raw")
            if i + 2 >= len(args) or args[i + 1] in flags or args[i + 2] in flags:
                raise ParameterError(f"{flag} needs a NAME and a VALUE: {' '.join(args[i:i + 3])}")
            name, value = args[i + 1], args[i + 2]
            if name not in table:
                close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.5)
                raise ParameterError(f"unknown parameter {name!r}"
                                     + (f"; did you mean {' or '.join(close)}?" if close else "")
                                     + f" Valid: {', '.join(sorted(table))} (./run_all.sh --help)")
            convert(name, value, table[name][1], raw=flag in ("-r", "--parameters_raw"))
            pairs.append((flag, name, value))
            i += 3
        else:
            rest.append(flag)
            i += 1
    return pairs, rest


def usage() -> str:
    table = declared()
    lines = ["usage: ./run_all.sh [-p NAME VALUE]... [--only 01,02,...] [--sequential] [papermill options]",
             "", "Runs the notebooks " + ", ".join(n[:2] for n in notebooks()) + " headless into outputs/<run_id>/ (the last",
             "line printed is that folder; outputs/latest points at it once a run completes).", "", "Parameters:"]
    for name, (default, kind, comment, where) in table.items():
        scope = "" if len(where) == len(notebooks()) else f"  [{', '.join(w[:2] for w in where)}]"
        lines.append(f"  {name:<12} {kind or 'any':<6} default {default!r:<18} {comment}{scope}")
    lines += ["", "Profiles (PROFILE): cpu -- small models, 48 px, minutes on a laptop (default);",
              "                    paper -- i3d_r50 + resnet50 at 224 px, the paper's epochs (a GPU).",
              "", "Environment:"] + [f"  {k:<18} {v}" for k, v in ENVIRONMENT.items()]
    lines += ["", "Examples:", "  ./run_all.sh -p ALPHA 2 -p SEEDS 1",
              "  ./run_all.sh -p DATASET kth -p DATA_DIR /data/kth -p PROFILE paper",
              "  ./run_all.sh -p RUN_DIR outputs/20261122-101500     # resume an interrupted run",
              "  ./run_all.sh --only 01,02,03 -p RUN_DIR <folder>     # some notebooks only, in order",
              "  ./run_all.sh --sequential   # one notebook at a time (on a CPU 04, 05 and 07 otherwise run side by side)"]
    return "\n".join(lines)


def main(argv: list) -> int:
    if not argv or argv[0] not in ("usage", "check", "args"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "usage":
        print(usage())
        return 0
    notebook = rest.pop(0) if command == "args" else None
    if rest and rest[0] == "--":
        rest = rest[1:]
    try:
        pairs, other = parse_args(rest)
    except ParameterError as err:
        print(f"run_all.sh: {err}", file=sys.stderr)
        return 2
    if command == "args":
        mine = notebooks()[notebook]
        for flag, name, value in pairs:
            if name in mine:
                print(flag, name, value, sep="\n")
        print(*other, sep="\n") if other else None
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
