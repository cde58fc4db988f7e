"""The controlled list of disciplines read once per process (app.networks.services.memberships.discipline_catalogue):
the same rows in the same order as the table, plain values, and no statement after the first read."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select

from app.extensions import db
from app.networks.models import Discipline
from app.networks.services.memberships import discipline_catalogue, discipline_names
from tests.conftest import counted_statements


def test_the_catalogue_is_the_table_in_its_order_and_is_read_once(app):
    with app.app_context():
        rows = db.session.scalars(select(Discipline).order_by(Discipline.sort_order)).all()
        catalogue = discipline_catalogue()
        assert [(e.id, e.code, e.name_nl, e.name_en, e.group, e.sort_order) for e in catalogue] == [
            (d.id, d.code, d.name_nl, d.name_en, d.group, d.sort_order) for d in rows]
        assert len(catalogue) >= 10
        with counted_statements() as statements:
            again = discipline_catalogue()
            names = discipline_names("en")
        assert statements == [] and again is catalogue
        assert names[rows[0].id] == rows[0].name_en and discipline_names("nl")[rows[0].id] == rows[0].name_nl
        assert not any(isinstance(entry, Discipline) for entry in catalogue)
        assert all(dataclasses.is_dataclass(entry) for entry in catalogue)
