"""The pages the benchmark measures: (name, who signs in, URL) for a seeded database."""
from __future__ import annotations


def pages(result) -> list[tuple[str, str, str]]:
    """*result* is a seed.SeedResult (or anything with its slug, case ids and search postcode)."""
    n = f"/n/{result.slug}"
    return [
        ("notes (case with most notes)", "coordinator", f"{n}/cases/{result.notes_case_id}/notities"),
        ("NVPO self-check", "coordinator", f"{n}/quality/"),
        ("audit log", "coordinator", f"{n}/audit"),
        ("case page", "coordinator", f"{n}/cases/{result.case_id}"),
        ("case list", "coordinator", f"{n}/cases/"),
        ("referral inbox", "coordinator", f"{n}/referrals/"),
        ("member directory", "coordinator", f"{n}/members"),
        ("GP's own referrals", "gp", "/verwijzer/verwijzingen/"),
        ("network home", "coordinator", f"{n}/"),
        ("public postcode search", "anonymous", "/netwerken?postcode=" + result.search_postcode.replace(" ", "+")),
    ]
