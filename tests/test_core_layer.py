"""app/core is the bottom layer: it imports no feature package, and its modules import each other without a cycle.

Both walks read the source with ast (nothing is imported), so an import inside a function counts as much
as one at the top of the file.
"""
from __future__ import annotations

import ast
from itertools import pairwise
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "app" / "core"
ALLOWED = ("app.core", "app.extensions")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in *path*; `from app import x` is module "app.x"."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "app":  # `from app import create_app` / `from app import models`
                found.extend((node.lineno, f"app.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            # Relative imports inside app/core stay inside it only with one dot.
            target = "app.core" if node.level == 1 else "app"
            found.append((node.lineno, f"{target}.{node.module}" if node.module else target))
    return found


def _is_allowed(module: str) -> bool:
    return not (module == "app" or module.startswith("app.")) or any(
        module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED)


def _core_files() -> list[Path]:
    files = sorted(CORE.glob("*.py"))
    assert files, f"no modules found in {CORE}"
    return files


def test_core_imports_no_feature_package():
    offences = [f"app/core/{path.name}:{line} imports {module}"
                for path in _core_files() for line, module in _imports(path) if not _is_allowed(module)]
    assert not offences, "app/core must import only app.core.* and app.extensions:\n" + "\n".join(offences)


def _core_module(module: str, names: set[str]) -> str | None:
    """The app/core module (file stem) an imported name refers to, if any."""
    parts = module.split(".")
    if parts[:2] == ["app", "core"] and len(parts) > 2 and parts[2] in names:
        return parts[2]
    return None


def _core_graph() -> dict[str, dict[str, int]]:
    """module stem -> {imported core module stem: line}, for imports anywhere in the file."""
    stems = {path.stem for path in _core_files()}
    graph: dict[str, dict[str, int]] = {}
    for path in _core_files():
        edges: dict[str, int] = {}
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "app.core":
                targets = [f"app.core.{alias.name}" for alias in node.names]  # `from app.core import audit`
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            for target in targets:
                stem = _core_module(target, stems)
                if stem is not None and stem != path.stem:
                    edges.setdefault(stem, node.lineno)
        graph[path.stem] = edges
    return graph


def _find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """A cycle as [a, b, ..., a], found by depth-first search, or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if colour.get(nxt, black) == grey:
                return [*stack[stack.index(nxt):], nxt]
            if colour.get(nxt) == white and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = black
        return None

    for start in sorted(graph):
        if colour[start] == white and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_and_accepts_a_tree():
    assert _find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b": 1, "c": 1}, "b": {"c": 1}, "c": {}}) is None


def test_no_import_cycle_among_core_modules():
    graph = _core_graph()
    cycle = _find_cycle(graph)
    if cycle:
        steps = [f"app/core/{a}.py:{graph[a][b]} imports app.core.{b}" for a, b in pairwise(cycle)]
        raise AssertionError("import cycle among app/core modules:\n" + "\n".join(steps))


def test_every_stored_file_model_names_one_of_its_columns(app):
    """StoredFileMixin declares no column: each model's stored_file_column must be a real string column."""
    from app.core.storage import StoredFileMixin
    from app.extensions import db

    models = {mapper.class_ for mapper in db.Model.registry.mappers if issubclass(mapper.class_, StoredFileMixin)}
    assert {model.__name__ for model in models} >= {"Evidence", "SelfCheckSnapshot", "ReferralAttachment", "Letter",
                                                    "Consent"}
    for model in models:
        column = model.__table__.c.get(model.stored_file_column)
        assert column is not None, f"{model.__name__}.stored_file_column names no column"
        assert "network_id" in model.__table__.c, f"{model.__name__} keeps files per network"


@pytest.mark.parametrize("bad", ["", "../x", "AB12", "ab12/..", "ab 12"])
def test_stored_path_refuses_a_name_the_server_did_not_make(app, bad):
    from app.core.storage import StorageError, stored_path

    with app.app_context():
        assert stored_path(1, "ab12").name == "ab12"
        with pytest.raises(StorageError):
            stored_path(1, bad)
