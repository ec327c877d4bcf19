"""The method registry: every method of a default run is registered, names resolve, notebooks never dispatch on one."""
import ast
import re
from pathlib import Path

import pytest

from bdqlib import methods
from bdqlib.config import RUN_DEFAULTS, parse_names
from bdqlib.experiments import pipeline

REPO = Path(__file__).resolve().parents[1]


def test_names_and_families_resolve_to_their_method_and_parameter():
    assert methods.resolve("elr28") == (methods.REGISTRY["elr"], 28)
    assert methods.resolve("dvs_0.4") == (methods.REGISTRY["dvs"], 0.4)
    assert methods.resolve("B+D")[1] == "B+D" and methods.resolve("bdq")[1] is None
    assert methods.resolve("blur_strong") == (methods.REGISTRY["blur"], "strong")
    with pytest.raises(ValueError, match="unknown method 'elrx'; known: .*dvs_<float>, elr<int>"):
        methods.resolve("elrx")
    assert set(methods.games()) == {"bdq", "bdq_ensemble", "alf"}
    with pytest.raises(ValueError, match="registered twice"):
        methods.register(methods.REGISTRY["raw"])


def test_every_method_a_profile_runs_by_default_is_registered():
    for profile, defaults in RUN_DEFAULTS.items():
        names = ["raw", "bdq"] + [n for key in ("GAMES", "MODULES", "BASELINES", "ELR", "SYSTEMS")
                                  for n in parse_names(defaults[key])]
        names += [f"dvs_{float(t):g}" for t in parse_names(defaults["DVS_THRESHOLDS"])]
        names += ["alf"] if defaults["ALF_ALPHAS"] else []
        for name in names:
            assert methods.is_method(name), (profile, name)


def test_notebook_parameters_of_methods_are_checked_against_the_registry():
    assert pipeline.parse_methods(" bdq, bdq_ensemble", "GAMES", games=True, required=("bdq",)) == ["bdq",
                                                                                                    "bdq_ensemble"]
    with pytest.raises(ValueError, match="GAMES='bdq_ensemble'.*must include bdq"):
        pipeline.parse_methods("bdq_ensemble", "GAMES", games=True, required=("bdq",))
    with pytest.raises(ValueError, match="GAMES='bdq,elr28'.*not elr28"):
        pipeline.parse_methods("bdq,elr28", "GAMES", games=True)
    with pytest.raises(ValueError, match="SYSTEMS='sppa,yolo'.*yolo \\(unknown\\)"):
        pipeline.parse_methods("sppa,yolo", "SYSTEMS", family=("sppa", "masking", "raprivacy"))
    with pytest.raises(ValueError, match="ELR='elr28,downsample28'.*not downsample28"):
        pipeline.parse_methods("elr28,downsample28", "ELR", family="elr")
    assert pipeline.parse_methods("", "ELR", family="elr") == []


def test_methods_defined_on_square_crops_are_refused_on_whole_frames():
    """CROP frame: SPPA's templates and RAPrivacy's style pictures are S x S, so a list that names them is refused
    before anything trains, the profile's default list is trimmed with a line saying so, and a direct build refuses
    too; masking and the fixed encoders run on any frame."""
    from bdqlib.config import make_config
    frame, square = make_config("cpu", crop="frame"), make_config("cpu")
    with pytest.raises(ValueError, match=r"SYSTEMS='sppa,masking'.*sppa \(needs crop square; CROP is frame\)"):
        pipeline.parse_methods("sppa,masking", "SYSTEMS", cfg=frame)
    assert pipeline.parse_methods("sppa,raprivacy,masking", "SYSTEMS", cfg=square) == ["sppa", "raprivacy", "masking"]
    lines = []
    assert pipeline.on_crop(["raprivacy", "sppa", "masking"], frame, "SYSTEMS", log=lines.append) == ["masking"]
    assert lines == ["SYSTEMS: raprivacy, sppa left out -- defined on S x S crops only, and this run's CROP is frame"]
    assert pipeline.on_crop(["raprivacy", "masking"], square, "SYSTEMS", log=lines.append) == ["raprivacy", "masking"]
    assert len(lines) == 1
    with pytest.raises(ValueError, match="method 'sppa' needs crop square.*crop='frame'"):
        methods.build_fixed("sppa", frame)
    assert methods.build_fixed("pixelate16", frame) is not None


def _compared_strings(tree) -> set:
    """String constants a notebook compares with (==, !=, in, not in) or hands to str.startswith."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                for sub in ast.walk(side):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        found.add(sub.value)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("startswith", "endswith", "isin"):
            for arg in node.args:
                for sub in ast.walk(arg):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        found.add(sub.value)
    return found


@pytest.mark.parametrize("source", sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py")), ids=lambda p: p.stem)
def test_no_notebook_compares_a_method_name(source):
    code = "\n".join(line for line in source.read_text().splitlines() if not line.startswith("# "))
    names = {n for n in _compared_strings(ast.parse(code)) if methods.is_method(n)}
    prefixes = {re.match(r"[a-z_]*", m.pattern).group(0) for m in methods.REGISTRY.values() if m.pattern} - {""}
    assert not names, f"{source.name} compares method names {sorted(names)}: dispatch through bdqlib.methods"
    assert not (_compared_strings(ast.parse(code)) & prefixes), f"{source.name} dispatches on a method family prefix"
