"""Whole numbers from URLs and query strings, bounded to what a database id can hold.

An id or number outside the database's integer range (PostgreSQL `integer`: 32 bits) would overflow in
the query and end as a 500; bounded here, it is simply "not found" (a URL) or "not given" (a filter).
"""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route: 0 .. DB_INT_MAX, anything larger does not match (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def db_int(value: str) -> int:
    """For request.args.get(..., type=db_int): a whole number within the database's range, else ValueError
    (which werkzeug turns into the default)."""
    number = int(value)
    if not -DB_INT_MAX <= number <= DB_INT_MAX:
        raise ValueError("out of range")
    return number
