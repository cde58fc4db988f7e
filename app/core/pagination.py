"""One pagination helper for every list: page from the query string, bounded page size."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from app.core.bounded import db_int
from app.extensions import db

PER_PAGE = 25


def paginate(statement, *, per_page: int = PER_PAGE):
    """Paginate a select() of entities; a bad or too-large page number gives the last page, never a 500."""
    # Counted without the eager loads (Flask-SQLAlchemy does the same): they add joins, never rows.
    return _page_of(statement, per_page, _count(statement.options(lazyload("*"))), capped=False, rows=False)


def _count(statement, *, limit: int | None = None) -> int:
    """The rows of *statement* counted in SQL. The count is a new statement: it carries the named cross-network
    bypass of the statement it counts (tenancy.all_networks), or PostgreSQL's row-level security would count the
    rows of no network (Flask-SQLAlchemy's own paginate drops it: a GP's list said 0 referrals under the policies)."""
    counted = statement.order_by(None)
    if limit is not None:
        counted = counted.limit(limit)
    count = select(func.count()).select_from(counted.subquery())
    if statement.get_execution_options().get("all_networks"):
        count = count.execution_options(all_networks=True)
    return db.session.scalar(count) or 0


def paginate_rows(statement, *, per_page: int = PER_PAGE, count_of=None):
    """Paginate a select() of columns (not of entities): the page's rows as named tuples and an exact count.
    A list page that shows a few columns of 25 rows builds no ORM objects for them (half its time at
    national scale, README "Benchmark"). A bad or too-large page number gives the last page, as paginate().
    *count_of*: the same rows without the joins that only add shown columns, counted instead (cheaper)."""
    total = _count(statement if count_of is None else count_of)
    return _page_of(statement, per_page, total, capped=False, rows=True)


def paginate_keys(keys, rows_of, *, per_page: int = PER_PAGE):
    """Paginate in two steps: *keys* (a select of one key column, filtered and in the list's order) is counted
    and cut to the page, and *rows_of(page_keys)* joins what the page shows to that subquery's rows. The joins
    then run for the page's rows only, not for every row before the sort and the LIMIT. *rows_of* orders its
    result itself (the subquery's order is not kept by a join)."""
    total = _count(keys)
    pages = max(1, -(-total // per_page))
    page = min(max(request.args.get("page", 1, type=db_int) or 1, 1), pages)
    page_keys = keys.limit(per_page).offset((page - 1) * per_page).subquery("page_keys")
    return CappedPage(list(db.session.execute(rows_of(page_keys))), page, per_page, total, False)


@dataclass(frozen=True)
class CappedPage:
    """A page of a list whose full count would cost a scan (the audit log): the count stops at *cap*.
    The same attributes as Flask-SQLAlchemy's Pagination, plus `capped` (the list has more than `total`)."""

    items: list[Any]
    page: int
    per_page: int
    total: int
    capped: bool

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate_capped(statement, *, per_page: int = PER_PAGE, cap: int = 10_000, rows: bool = False,
                    count_of=None) -> CappedPage:
    """Paginate a select() counting at most *cap* rows (one bounded count, one page): the cost of a view
    does not grow with a log of millions of rows. Pages beyond the cap give the last counted page. With *rows*
    the items are the statement's rows (a select of columns), otherwise its first entity. *count_of*: the same
    rows without the joins that only add shown columns, counted instead (as paginate_rows)."""
    counted = _count(statement if count_of is None else count_of, limit=cap + 1)
    return _page_of(statement, per_page, min(counted, cap), capped=counted > cap, rows=rows)


def _page_of(statement, per_page: int, total: int, *, capped: bool, rows: bool) -> CappedPage:
    """The requested page of *statement* (clamped to 1..the last page) as rows or as its first entity."""
    pages = max(1, -(-total // per_page))
    # Clamped: a huge number would overflow the database's OFFSET (a 500 instead of the last page).
    page = min(max(request.args.get("page", 1, type=db_int) or 1, 1), pages)
    window = statement.limit(per_page).offset((page - 1) * per_page)
    items = list(db.session.execute(window) if rows else db.session.scalars(window))
    return CappedPage(items, page, per_page, total, capped)
