"""HTML to PDF with WeasyPrint, with every outside resource refused (no network, no local files).

Shared infrastructure: the self-check report, letters to the GP and the patient export render here.
"""
from __future__ import annotations

from weasyprint import HTML
from weasyprint.urls import URLFetcher


class NoFetching(URLFetcher):
    """A document is self-contained: a URL in user text must never make the renderer fetch anything."""

    def fetch(self, url, headers=None):
        raise ValueError(f"fetching is disabled in reports: {url[:80]}")


def html_to_pdf(html: str) -> bytes:
    """Render a complete HTML document (inline CSS, system fonts) to PDF bytes."""
    return HTML(string=html, url_fetcher=NoFetching()).write_pdf()
