"""One pagination helper for every list: page from the query string, bounded page size."""
from __future__ import annotations

from flask import request

from app.extensions import db

PER_PAGE = 25
MAX_PAGE = 1_000_000


def paginate(statement, *, per_page: int = PER_PAGE):
    """Paginate a select(); a bad or too-large page number gives the last page, never a 500."""
    # Clamped: a huge number would overflow the database's OFFSET (a 500 instead of the last page).
    page = min(request.args.get("page", 1, type=int) or 1, MAX_PAGE)
    result = db.paginate(statement, page=max(page, 1), per_page=per_page, error_out=False, count=True)
    if not result.items and result.pages and page > result.pages:
        result = db.paginate(statement, page=result.pages, per_page=per_page, error_out=False)
    return result
