"""The role guides (docs/guides): both languages with the same sections, every image they show exists and is newer
than the templates it shows (docs/guides/img/manifest.json, written by `make docs`), every page's help section
exists."""
from __future__ import annotations

import re

import pytest

from app.help.guides import LOCALES, PAGE_SECTIONS, ROLES, guide_path, sections
from tests.guide_images import GUIDES, IMAGES, read_manifest, templates_hash

IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
GUIDE_FILES = [(role, locale) for role in ROLES for locale in LOCALES]


def _text(role: str, locale: str) -> str:
    return guide_path(role, locale).read_text(encoding="utf-8")


def _anchors(role: str, locale: str) -> list[str]:
    return [part.anchor for part in sections(role, locale) if part.anchor]


@pytest.mark.parametrize("role, locale", GUIDE_FILES)
def test_every_guide_exists_with_a_title_and_anchored_sections(role, locale):
    assert guide_path(role, locale).is_file(), f"docs/guides/{locale}/{role}.md is missing"
    parts = sections(role, locale)
    assert parts[0].title, "a guide starts with a level-1 title"
    assert len(parts) >= 4 and all(part.anchor for part in parts[1:]), \
        "every level-2 section has an anchor line <a id=...></a> right above it"
    anchors = _anchors(role, locale)
    assert len(anchors) == len(set(anchors)), "an anchor is used twice"


@pytest.mark.parametrize("role", ROLES)
def test_both_languages_have_the_same_sections_and_images(role):
    assert _anchors(role, "nl") == _anchors(role, "en")
    assert IMAGE_LINK.findall(_text(role, "nl")) == IMAGE_LINK.findall(_text(role, "en"))


@pytest.mark.parametrize("role, locale", GUIDE_FILES)
def test_every_image_a_guide_shows_exists_and_is_in_the_manifest(role, locale):
    manifest = read_manifest()
    links = IMAGE_LINK.findall(_text(role, locale))
    assert links, "a guide shows the pages it explains"
    for link in links:
        assert link.startswith("../img/"), f"{link}: images live in docs/guides/img"
        path = (guide_path(role, locale).parent / link).resolve()
        assert path.is_relative_to(IMAGES.resolve()) and path.is_file(), f"{link} does not exist"
        assert path.name in manifest, f"{path.name} was not made by `make docs`"


@pytest.mark.parametrize("role, locale", GUIDE_FILES)
def test_links_inside_a_guide_lead_to_its_sections(role, locale):
    anchors = set(_anchors(role, locale))
    for target in re.findall(r"\]\(#([^)]+)\)", _text(role, locale)):
        assert target in anchors, f"#{target} is no section of the guide"


def test_every_screenshot_is_newer_than_the_templates_it_shows():
    manifest = read_manifest()
    assert manifest, "docs/guides/img/manifest.json is missing: run make docs"
    stale = [name for name, entry in manifest.items()
             if not (IMAGES / name).is_file() or templates_hash(entry["templates"]) != entry["templates_sha256"]]
    assert not stale, f"templates changed since these screenshots; run `make docs`: {stale}"
    shown = {link.rsplit("/", 1)[-1] for role, locale in GUIDE_FILES for link in IMAGE_LINK.findall(_text(role, locale))}
    assert set(manifest) == shown, "a screenshot no guide shows, or a shown one that make docs does not make"
    assert {path.name for path in IMAGES.glob("*.png")} == set(manifest)


def test_the_manifest_check_notices_a_changed_template(tmp_path, monkeypatch):
    """The freshness check can fail: the same templates with one byte more give another hash."""
    from tests import guide_images

    entry = next(iter(read_manifest().values()))
    copy = tmp_path / "templates"
    for name in entry["templates"]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((guide_images.TEMPLATES / name).read_bytes())
    monkeypatch.setattr(guide_images, "TEMPLATES", copy)
    assert guide_images.templates_hash(entry["templates"]) == entry["templates_sha256"]
    (copy / entry["templates"][0]).write_bytes((copy / entry["templates"][0]).read_bytes() + b" ")
    assert guide_images.templates_hash(entry["templates"]) != entry["templates_sha256"]


def test_every_page_section_exists_and_names_a_real_page(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    blueprints = set(app.blueprints)
    for role, pages in PAGE_SECTIONS.items():
        assert role in ROLES
        for locale in LOCALES:
            missing = set(pages.values()) - set(_anchors(role, locale))
            assert not missing, f"{role} ({locale}) has no section {sorted(missing)}"
        for page in pages:
            if page.endswith(".*"):
                assert page[:-2] in blueprints, page
            else:
                assert page in endpoints, page


def test_guides_stay_inside_docs_guides():
    assert {path.parent.name for path in GUIDES.glob("*/*.md")} == set(LOCALES)
    assert {path.stem for path in GUIDES.glob("*/*.md")} == set(ROLES)
