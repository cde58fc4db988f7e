"""Network meetings (network meeting, MDO, training) and attendance per member."""
from __future__ import annotations

import enum
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import NetworkScopedMixin, TimestampMixin
from app.core.types import enum_type
from app.extensions import db


class MeetingKind(enum.StrEnum):
    NETWORK = "network"
    MDO = "mdo"
    TRAINING = "training"
    PATZ = "patz"  # palliatieve thuiszorg: GPs and home-care nurses discuss palliative patients at home

    @property
    def label(self) -> str:
        return str({"network": _l("Network meeting"), "mdo": _l("Multidisciplinary meeting (MDO)"),
                    "training": _l("Training"),
                    "patz": _l("PaTz meeting (palliative care at home)")}[self.value])


class Meeting(NetworkScopedMixin, TimestampMixin, db.Model):
    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("network_id", "id"),
                      Index("ix_meetings_network_id_held_on", "network_id", "held_on"))
    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[MeetingKind] = mapped_column(enum_type(MeetingKind))
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")

    attendances: Mapped[list[Attendance]] = relationship(back_populates="meeting", lazy="selectin",
                                                         cascade="all, delete-orphan")


class Attendance(NetworkScopedMixin, db.Model):
    __tablename__ = "attendances"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "meeting_id"], ["meetings.network_id", "meetings.id"],
                             name="fk_attendances_network_meeting"),
        ForeignKeyConstraint(["network_id", "membership_id"], ["memberships.network_id", "memberships.id"],
                             name="fk_attendances_network_membership"),
        Index("ix_attendances_network_id_membership_id", "network_id", "membership_id"),
    )
    meeting_id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(primary_key=True)

    meeting: Mapped[Meeting] = relationship(back_populates="attendances")
