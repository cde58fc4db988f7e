"""Documentation travels with the code.

No Markdown file, docstring or comment points at a path outside the repository; every relative Markdown link
resolves to a file of the repository (and its #anchor to a heading there); every test, source file and
`module:function` the docs name exists; and the operator's handbook lists every setting config.py defines and
every environment variable the app reads.
"""
from __future__ import annotations

import ast
import functools
import importlib
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".git", "node_modules", "test-artifacts", "instance", "translations", "__pycache__"}
CODE_DIRS = ("app", "tests", "scripts")
# A path that can only mean another machine's folder: an absolute home or work dir, a file:// link, the
# sibling `shared` folder the project's notes live in, or a Markdown file under /tmp.
OUTSIDE = re.compile(r"(?<![\w.:/])(/work/|/home/|/root/|/tmp/[\w-]+\.md|\.\./shared/|(?<![\w/])shared/[\w-]+\.md)")
# A file:// link in prose (Markdown, a docstring, a comment); tests hand file:// URLs to the code as hostile input.
FILE_URL = re.compile(r"file://")
MD_LINK = re.compile(r"!?\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")
TEST_REF = re.compile(r"(tests/[\w/]+\.py)?::(\w+)|(tests/[\w/]+\.py)")
SOURCE_REF = re.compile(r"`((?:app|tests|scripts|docs|migrations)/[\w./-]+?)(?:::\w+)?`")
CALLABLE_REF = re.compile(r"`(app(?:\.\w+)+):(\w+)`")


def _files(suffix: str, *, under: tuple[str, ...] = ()) -> list[Path]:
    roots = [ROOT / d for d in under] if under else [ROOT]
    found = []
    for root in roots:
        for path in root.rglob(f"*{suffix}"):
            if not SKIP.intersection(path.relative_to(ROOT).parts):
                found.append(path)
    return sorted(found)


def _markdown() -> list[Path]:
    return _files(".md")


def _python() -> list[Path]:
    return [*_files(".py", under=CODE_DIRS), *(ROOT / name for name in ("config.py", "wsgi.py"))]


def _prose_lines(path: Path):
    """(line number, line) of a Markdown file outside its fenced code blocks."""
    fenced = False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            yield n, line


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"[`*]", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in _prose_lines(path):
        found.update(re.findall(r'<a id="([\w-]+)"></a>', line))  # an explicit anchor (the role guides' sections)
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        found.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return frozenset(found)


def test_the_checks_see_what_they_look_for():
    """The patterns and the slugger, on known good and bad lines, so a broken regex cannot pass everything."""
    for bad in ("see /work/shared/DESIGN.md", "[x](../shared/security.md)", "(`shared/security.md`)",
                "/home/someone/notes.md", "/tmp/notes.md"):
        assert OUTSIDE.search(bad), bad
    assert FILE_URL.search("[x](file:///etc/passwd)")
    assert _prose_line_numbers('"""doc\nmore"""\nx = "file://"  # a comment\n') == {1, 2, 3}
    assert _prose_line_numbers('x = "file://"\n') == set()
    for good in ("docs/security.md", "a shared case", "`/healthz`", "https://example.nl/work/", "/tmp/mypg"):
        assert not OUTSIDE.search(good), good
    assert _slug("Rotating `SECRET_KEY`") == "rotating-secret_key"
    assert _slug("Tenancy (T1)") == "tenancy-t1"
    assert _slug("The open directory feed (HSDS 3.0)") == "the-open-directory-feed-hsds-30"
    assert "backup-and-restore" in anchors(ROOT / "docs" / "operations.md")
    assert "consent" in anchors(ROOT / "docs" / "guides" / "en" / "patient.md")  # <a id="consent"></a>
    assert [m.group(1) for m in MD_LINK.finditer("[a](b.md#c) and ![i](img.png)")] == ["b.md#c", "img.png"]


def _prose_line_numbers(source: str) -> set[int]:
    """The lines of a Python file that are comments or docstrings."""
    lines = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
             if tok.type == tokenize.COMMENT}
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def test_no_file_points_outside_the_repository():
    bad = []
    others = [ROOT / name for name in ("Procfile", "Makefile", "pyproject.toml", "babel.cfg")]
    for path in [*_markdown(), *_python(), *_files(".sh", under=("scripts",)), *others]:
        if path == Path(__file__).resolve():
            continue
        source = path.read_text(encoding="utf-8")
        prose = _prose_line_numbers(source) if path.suffix == ".py" else None
        for n, line in enumerate(source.splitlines(), 1):
            if OUTSIDE.search(line) or (FILE_URL.search(line) and (prose is None or n in prose)):
                bad.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_relative_markdown_links_resolve_inside_the_repository():
    bad = []
    for path in _markdown():
        for n, line in _prose_lines(path):
            for target in MD_LINK.findall(line):
                if re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("file:"):
                    continue  # https:, mailto:
                where = f"{path.relative_to(ROOT)}:{n}: {target}"
                file_part, _, anchor = target.partition("#")
                if target.startswith(("/", "file:")):
                    bad.append(f"{where} (absolute)")
                    continue
                resolved = (path.parent / file_part).resolve() if file_part else path
                if not resolved.is_relative_to(ROOT):
                    bad.append(f"{where} (outside the repository)")
                elif not resolved.exists():
                    bad.append(f"{where} (no such file)")
                elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                    bad.append(f"{where} (no such heading)")
    assert not bad, "\n".join(bad)


@functools.cache
def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_the_docs_name_exists():
    """security.md names the test that proves each control: `tests/x.py::test_y` and, in the same line, `::test_z`
    of the file named last. A renamed or deleted test fails here instead of leaving a proof that proves nothing."""
    bad, named = [], 0
    for path in _markdown():
        for n, line in _prose_lines(path):
            current = None
            for match in TEST_REF.finditer(line):
                file_name = match.group(1) or match.group(3)
                if file_name:
                    current = file_name
                    named += 1
                    if not (ROOT / file_name).is_file():
                        bad.append(f"{path.relative_to(ROOT)}:{n}: {file_name} does not exist")
                        continue
                if match.group(2) and current and (ROOT / current).is_file():
                    if match.group(2) not in _test_functions(ROOT / current):
                        bad.append(f"{path.relative_to(ROOT)}:{n}: {current}::{match.group(2)} does not exist")
    assert not bad, "\n".join(bad)
    assert named > 40  # security.md alone names more: the pattern still finds them


def test_every_source_path_and_function_the_docs_name_exists():
    bad = []
    for path in _markdown():
        for n, line in _prose_lines(path):
            for ref in SOURCE_REF.findall(line):
                if not (ROOT / ref.rstrip("/")).exists():
                    bad.append(f"{path.relative_to(ROOT)}:{n}: {ref}")
            for module, name in CALLABLE_REF.findall(line):
                try:
                    getattr(importlib.import_module(module), name)
                except (ImportError, AttributeError):
                    bad.append(f"{path.relative_to(ROOT)}:{n}: {module}:{name}")
    assert not bad, "\n".join(bad)


def _config_keys() -> set[str]:
    """Every setting the configuration classes of config.py define."""
    tree = ast.parse((ROOT / "config.py").read_text(encoding="utf-8"))
    keys = set()
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        for stmt in cls.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
                stmt, ast.AnnAssign) else []
            keys.update(t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper())
    return keys


def _environment_variables() -> set[str]:
    """Every environment variable config.py, wsgi.py and app/ read."""
    pattern = re.compile(r"""(?:environ\.get|environ\[|getenv|_flag)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
    names = set()
    for path in [*_files(".py", under=("app",)), ROOT / "config.py", ROOT / "wsgi.py"]:
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return names


def _app_config_reads() -> set[str]:
    pattern = re.compile(r"""config(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")
    return {key for path in _files(".py", under=("app",)) for key in pattern.findall(path.read_text(encoding="utf-8"))}


def test_the_handbook_lists_every_setting_and_environment_variable():
    handbook = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    keys, variables, reads = _config_keys(), _environment_variables(), _app_config_reads()
    assert {"SECRET_KEY", "UPLOAD_DIR", "JOB_RETRY_INTERVALS"} <= keys and "DATABASE_URL" in variables
    assert reads <= keys | {"TESTING"}, f"read but not defined in config.py: {sorted(reads - keys)}"
    missing = sorted(name for name in keys | variables | reads if f"`{name}`" not in handbook)
    assert not missing, f"docs/operations.md does not list: {', '.join(missing)}"


def test_the_handbook_lists_every_command():
    handbook = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    pattern = re.compile(r"""(\w+)\.(?:cli\.)?command\(\s*["']([\w-]+)["']""")
    commands = set()
    for path in _files(".py", under=("app",)):
        for owner, name in pattern.findall(path.read_text(encoding="utf-8")):
            commands.add(f"flask {name}" if owner == "app" else f"flask {owner} {name}")
    assert {"flask audit-verify", "flask translate compile", "flask remind-proms"} <= commands
    missing = sorted(command for command in commands if command not in handbook)
    assert not missing, f"docs/operations.md does not list: {', '.join(missing)}"


SECTION_REF = re.compile(r"((?:[\w.-]+/)*[\w.-]+\.md)(?:\)?, |\)? \(| |: )\"([A-Z][^\"]*)\"")


@functools.cache
def sections(path: Path) -> tuple[str, ...]:
    """The headings of a Markdown file and its bold paragraph leads (`**Sessions.** ...`), in lower case."""
    found = []
    for _, line in _prose_lines(path):
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        lead = re.match(r"\*\*([^*]+?)\.?\*\*", line)
        if heading or lead:
            found.append(re.sub(r"[`*]", "", (heading or lead).group(1)).strip().lower())
    return tuple(found)


def test_every_quoted_section_exists():
    """`docs/operations.md, "Two database roles"` in a docstring or a page names a section: a heading (or a bold
    paragraph lead) of that file must start with the quoted words."""
    bad, named = [], 0
    others = [ROOT / "Procfile", ROOT / "Makefile", *_files(".sh", under=("scripts",))]
    for path in [*_markdown(), *_python(), *others]:
        if path == Path(__file__).resolve():
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for file_name, quoted in SECTION_REF.findall(line):
                candidates = [base / file_name for base in (path.parent, ROOT, ROOT / "docs")]
                target = next((c for c in candidates if c.is_file()), None)
                where = f"{path.relative_to(ROOT)}:{n}: {file_name}, \"{quoted}\""
                if target is None:
                    bad.append(f"{where} (no such file)")
                    continue
                named += 1
                if not any(title.startswith(quoted.lower()) for title in sections(target)):
                    bad.append(f"{where} (no such section)")
    assert not bad, "\n".join(bad)
    assert named >= 3
