"""Documentation travels with the code: no Markdown file, docstring or comment points at a path
outside the repository, and every relative Markdown link resolves."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".git", "node_modules", "test-artifacts", "instance"}
OUTSIDE = re.compile(r"(?<![\w.:/])(/work/|/home/|/tmp/[\w-]+\.md|\.\./shared/|(?<![\w/])shared/[\w-]+\.md)")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _files(suffix):
    for path in ROOT.rglob(f"*{suffix}"):
        if not SKIP.intersection(path.relative_to(ROOT).parts):
            yield path


def test_no_file_points_outside_the_repository():
    bad = []
    for path in [*_files(".md"), *_files(".py")]:
        if path.name == "test_docs.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_relative_markdown_links_resolve():
    bad = []
    for path in _files(".md"):
        for target in MD_LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (path.parent / target.split("#")[0]).exists():
                bad.append(f"{path.relative_to(ROOT)}: {target}")
    assert not bad, "\n".join(bad)
