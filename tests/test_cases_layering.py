"""The modules of app/cases import each other without a loop (read from the source with ast, no import run).

Every import counts, also one inside a function: a loop hidden in a function is still a loop. `from X import
name` depends on the module X.name when that is a module of app/cases, otherwise on X itself. The one
allowed back edge is the blueprint's: app/cases/__init__.py makes `bp`, then imports the views that use it.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "app.cases"
ALLOWED = {("app.cases", "app.cases.views")}  # Flask's blueprint pattern: bp first, then the routes


def _modules() -> dict[str, Path]:
    base = ROOT / "app" / "cases"
    found = {}
    for path in base.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: set[str]) -> set[str]:
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                source = ".".join([*anchor, source] if source else anchor)
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                targets.add(sub if sub in modules else source)
    return {t for t in targets if t in modules and t != name and (name, t) not in ALLOWED}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_is_read():
    graph = import_graph()
    assert "app.cases.services.letters" in graph["app.cases.services.intake"]
    assert "app.cases.services.letters" in graph["app.cases.services.closing"]
    assert "app.cases.access" in graph["app.cases.views._common"]


def test_no_import_loop_among_the_case_modules():
    assert find_cycle(import_graph()) is None


def test_the_services_submodules_never_import_their_package():
    """The package __init__ gathers the submodules; a submodule that imported it back would close a loop."""
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith("app.cases.services."):
            assert "app.cases.services" not in targets, name


def test_the_finder_finds_a_loop():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
