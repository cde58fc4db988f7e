"""The package layering: the GP portal owns every /verwijzer page, the patient portal every /mijn page; both sit
above the referral and case domains, which never import them (they may name their endpoints as strings, in
url_for / absolute_url)."""
from __future__ import annotations

import ast
from pathlib import Path

import app as app_package

APP_DIR = Path(app_package.__file__).parent
PORTAL = "app.gp_portal"
PORTALS = (PORTAL, "app.patient_portal")


def test_only_the_gp_portal_has_rules_under_verwijzer(app):
    under = [rule for rule in app.url_map.iter_rules()
             if rule.rule == "/verwijzer" or rule.rule.startswith("/verwijzer/")]
    assert under
    assert {rule.endpoint.rpartition(".")[0] for rule in under} == {"gp_portal"}
    assert app.blueprints["gp_portal"].import_name == PORTAL
    # ... and it has nothing elsewhere.
    assert all(rule.rule.startswith("/verwijzer/") for rule in app.url_map.iter_rules()
               if rule.endpoint.startswith("gp_portal."))


def imported_modules(source: str, module: str) -> set[str]:
    """Every module the source of *module* (dotted name) imports, at any depth (also inside functions)."""
    package = module.split(".")
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: against the module's package
                base = package[:-node.level]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _is_portal(name: str) -> bool:
    return any(name == portal or name.startswith(portal + ".") for portal in PORTALS)


def _module_name(path: Path) -> str:
    # A package's __init__ keeps its "__init__" part: its relative imports resolve against the package.
    return ".".join(path.relative_to(APP_DIR.parent).with_suffix("").parts)


def test_only_the_patient_portal_has_rules_under_mijn(app):
    under = [rule for rule in app.url_map.iter_rules() if rule.rule == "/mijn" or rule.rule.startswith("/mijn/")]
    assert under
    assert {rule.endpoint.rpartition(".")[0] for rule in under} == {"patient_portal"}
    assert app.blueprints["patient_portal"].import_name == "app.patient_portal"


def test_referrals_and_cases_do_not_import_either_portal():
    offenders = []
    for domain in ("referrals", "cases"):
        files = sorted((APP_DIR / domain).rglob("*.py"))
        assert files, domain
        for path in files:
            found = imported_modules(path.read_text(encoding="utf-8"), _module_name(path))
            if bad := sorted(filter(_is_portal, found)):
                offenders.append((str(path.relative_to(APP_DIR.parent)), bad))
    assert offenders == []


def test_the_import_walk_finds_the_portal_in_every_form_of_import():
    module = "app.referrals.services"
    for source in ("import app.gp_portal.views", "from app.gp_portal import bp", "from app import gp_portal",
                   "def f():\n    from app.gp_portal.services import case\n", "from ..gp_portal import bp",
                   "from .. import gp_portal"):
        assert any(map(_is_portal, imported_modules(source, module))), source
    assert any(map(_is_portal, imported_modules("from app.patient_portal.services import revoke", module)))
    assert not any(map(_is_portal, imported_modules("from app.referrals import services", module)))
