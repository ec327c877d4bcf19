"""The package's floor plan: no import cycle, imports pointing one way between packages, no function-level import
of bdqlib dodging a cycle."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "bdqlib"
# Lower packages first: a module may import from its own package or from packages listed before it.
ORDER = ["atomic", "config", "platform", "metrics", "core", "data", "nets", "engine", "train", "methods", "report",
         "experiments", "study"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, top_level: bool):
    """(imported bdqlib module, line) of every import in the file, at module level or inside functions."""
    tree = ast.parse(path.read_text())
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    nodes = tree.body if top_level else [n for f in ast.walk(tree)
                                         if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                                         for n in ast.walk(f)]
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("bdqlib"):
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    is_module = (ROOT.parent / full.replace(".", "/")).with_suffix(".py").exists() or \
                        (ROOT.parent / full.replace(".", "/")).is_dir()
                    found.append((full if is_module else target, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("bdqlib")]
    return found


FILES = sorted(ROOT.rglob("*.py"))


def test_there_is_no_import_cycle():
    graph = {module_name(p): {t for t, _ in imports(p, top_level=True) if t != module_name(p)} for p in FILES}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])


def layer(module: str) -> int:
    parts = module.split(".")
    return ORDER.index(parts[1]) if len(parts) > 1 else -1


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path):
    me = module_name(path)
    if me == "bdqlib" or me.split(".")[1] not in ORDER:
        return
    for target, line in imports(path, top_level=True):
        if target == "bdqlib" or layer(target) < 0:
            continue
        assert layer(target) <= layer(me), f"{me} (line {line}) imports {target}, a package above it ({ORDER})"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_level_import_of_bdqlib(path):
    inner = imports(path, top_level=False)
    assert not inner, f"{module_name(path)} imports {inner} inside a function: import it at the top"
