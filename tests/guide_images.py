"""The guides' screenshots and their manifest (docs/guides/img/manifest.json): per image, the templates the page
rendered when it was captured and a hash of those templates' contents then. tests/test_docs_guides.py recomputes
the hash: a template changed since its screenshot fails the suite until `make docs` captures it again."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ROOT / "docs" / "guides"
IMAGES = GUIDES / "img"
MANIFEST = IMAGES / "manifest.json"
TEMPLATES = ROOT / "app" / "templates"


def templates_hash(names: list[str]) -> str:
    """sha256 over the names and contents of *names* (paths under app/templates), in sorted order."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0" + (TEMPLATES / name).read_bytes() + b"\0")
    return digest.hexdigest()


def read_manifest() -> dict[str, dict]:
    return json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}


def write_manifest(manifest: dict[str, dict]) -> None:
    MANIFEST.write_text(json.dumps(dict(sorted(manifest.items())), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")


# Templates a page shows through a Python helper, not an include: base.html's nav_items() (app.core.templating)
# renders the menu and its badge, and keeps the menu, so neither is seen by the parse below or always rendered.
SHOWN_THROUGH_HELPERS = {"base.html": ("_nav_items.html", "referrals/_badge.html")}


def with_referenced(env, names: set[str]) -> list[str]:
    """*names* and every template they extend, include or import, at any depth (the page as it is shown)."""
    from jinja2 import meta

    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or not (TEMPLATES / name).is_file():
            continue
        seen.add(name)
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        todo.extend(found for found in meta.find_referenced_templates(env.parse(source)) if found)
        todo.extend(SHOWN_THROUGH_HELPERS.get(name, ()))
    return sorted(seen)
