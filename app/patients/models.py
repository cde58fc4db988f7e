"""Patients of a network: identity as given by the referral (BSN optional, masked in lists).

A patient known twice is found by BSN or by `match_key` (name, date of birth and postcode, without case
and spaces); both are indexed behind network_id. A merged-away duplicate keeps its row (the audit log
names it) with `merged_into_id` set, and holds nothing any more.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import NetworkScopedMixin, TimestampMixin
from app.extensions import db

_SPACES = re.compile(r"\s+")


def _squeeze(value: str | None) -> str:
    return _SPACES.sub("", value or "").casefold()


def match_key(given_name: str | None, family_name: str | None, date_of_birth: date | None,
              postcode: str | None) -> str:
    """The key two records of one person share: name, date of birth and postcode, ignoring case and
    spaces ("" when a part is missing, so incomplete identities never match each other)."""
    parts = (_squeeze(given_name), _squeeze(family_name), date_of_birth.isoformat() if date_of_birth else "",
             _squeeze(postcode))
    return "|".join(parts)[:240] if all(parts) else ""


class Patient(NetworkScopedMixin, TimestampMixin, db.Model):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        Index("ix_patients_network_id_family_name", "network_id", "family_name"),
        Index("ix_patients_network_id_bsn", "network_id", "bsn"),
        Index("ix_patients_network_id_match_key", "network_id", "match_key"),
        ForeignKeyConstraint(["network_id", "merged_into_id"], ["patients.network_id", "patients.id"],
                             name="fk_patients_network_merged_into"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    bsn: Mapped[str | None] = mapped_column(String(9))
    postcode: Mapped[str] = mapped_column(String(7), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    match_key: Mapped[str] = mapped_column(String(240), default="")  # kept by the mapper events below
    merged_into_id: Mapped[int | None]
    merged_at: Mapped[datetime | None]

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def masked_bsn(self) -> str:
        return f"*****{self.bsn[-4:]}" if self.bsn else ""


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _keep_match_key(mapper, connection, patient: Patient) -> None:
    patient.match_key = match_key(patient.given_name, patient.family_name, patient.date_of_birth, patient.postcode)
