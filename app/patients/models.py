"""Patients of a network: identity as given by the referral (BSN optional, masked in lists)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import NetworkScopedMixin, TimestampMixin
from app.extensions import db


class Patient(NetworkScopedMixin, TimestampMixin, db.Model):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        Index("ix_patients_network_id_family_name", "network_id", "family_name"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    bsn: Mapped[str | None] = mapped_column(String(9))
    postcode: Mapped[str] = mapped_column(String(7), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def masked_bsn(self) -> str:
        return f"*****{self.bsn[-4:]}" if self.bsn else ""
