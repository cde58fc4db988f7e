"""paginate_rows (app.core.pagination): a page of column rows with an exact count, the same page-number rules as
paginate() (a bad or too-large number gives the first or the last page, never a 500)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.core.pagination import paginate_keys, paginate_rows
from tests.conftest import make_user


@pytest.fixture
def thirty_users():
    for n in range(30):
        make_user(f"user{n:02d}@example.org", name=f"User {n:02d}", password=None, mfa=False)


@pytest.mark.parametrize("page_arg, page, first", [("1", 1, "User 00"), ("2", 2, "User 25"), ("999", 2, "User 25"),
                                                   ("abc", 1, "User 00"), ("-3", 1, "User 00")])
def test_a_page_of_rows_with_its_count(app, thirty_users, page_arg, page, first):
    with app.test_request_context(f"/?page={page_arg}"):
        result = paginate_rows(select(User.id, User.full_name).order_by(User.full_name))
    assert (result.page, result.total, result.pages) == (page, 30, 2)
    assert result.items[0].full_name == first  # rows, read by column name
    assert len(result.items) == (25 if page == 1 else 5)
    assert result.has_next is (page == 1) and result.has_prev is (page == 2)


def test_an_empty_list_is_one_empty_page(app):
    with app.test_request_context("/?page=4"):
        result = paginate_rows(select(User.id).where(User.email == "nobody@example.org"))
    assert (result.items, result.page, result.total, result.pages) == ([], 1, 0, 1)


@pytest.mark.parametrize("page_arg, page", [("1", 1), ("2", 2), ("999", 2), ("abc", 1)])
def test_paginate_keys_cuts_the_keys_first_and_joins_the_page_only(app, thirty_users, page_arg, page):
    """paginate_keys: the same page as paginating the joined rows, in the same order; rows_of sees the page's
    keys only (a subquery of at most one page)."""
    keys = select(User.id).where(User.email.like("user%")).order_by(User.full_name.desc(), User.id)
    seen_keys = []

    def rows_of(page_keys):
        seen_keys.append(page_keys)
        return (select(User.id, User.full_name).join(page_keys, page_keys.c.id == User.id)
                .order_by(User.full_name.desc(), User.id))

    with app.test_request_context(f"/?page={page_arg}"):
        result = paginate_keys(keys, rows_of)
        expected = paginate_rows(select(User.id, User.full_name).where(User.email.like("user%"))
                                 .order_by(User.full_name.desc(), User.id))
    assert (result.page, result.total, result.pages) == (expected.page, 30, 2) and result.page == page
    assert [row.full_name for row in result.items] == [row.full_name for row in expected.items]
    assert result.items[0].full_name == ("User 29" if page == 1 else "User 04")
    assert len(seen_keys) == 1
