"""The tenant itself (Network), memberships with roles, and the controlled list of disciplines."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import NetworkScopedMixin, TimestampMixin, utcnow
from app.core.types import enum_type
from app.extensions import db


class NetworkStatus(enum.StrEnum):
    SETTING_UP = "setting_up"
    ACTIVE = "active"
    QUALIFIED = "qualified"

    @property
    def label(self) -> str:
        return str({"setting_up": _l("Being set up"), "active": _l("Active"),
                    "qualified": _l("Qualified")}[self.value])


class Role(enum.StrEnum):
    COORDINATOR = "coordinator"
    MEMBER = "member"

    @property
    def label(self) -> str:
        return str({"coordinator": _l("Coordinator"), "member": _l("Member")}[self.value])


class Network(TimestampMixin, db.Model):
    __tablename__ = "networks"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[NetworkStatus] = mapped_column(enum_type(NetworkStatus), default=NetworkStatus.SETTING_UP)
    default_locale: Mapped[str] = mapped_column(String(5), default="nl")


class DisciplineGroup(enum.StrEnum):
    MEDICAL = "medical"
    PHYSICAL = "physical"
    NUTRITION = "nutrition"
    PSYCHOSOCIAL = "psychosocial"
    SPIRITUAL = "spiritual"
    NURSING = "nursing"
    COORDINATION = "coordination"
    OTHER = "other"


class Discipline(db.Model):
    """Global controlled list, seeded by migration (see nvpo-criteria.md)."""

    __tablename__ = "disciplines"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_nl: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    group: Mapped[DisciplineGroup] = mapped_column(enum_type(DisciplineGroup))
    counts_as_psychosocial: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(default=0)

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_nl


class Membership(NetworkScopedMixin, TimestampMixin, db.Model):
    """A user in a network with one role; deactivated, never deleted."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("network_id", "user_id"),
        UniqueConstraint("network_id", "id"),
        Index("ix_memberships_network_id_role", "network_id", "role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role), default=Role.MEMBER)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None]
    practice_name: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    agb_code: Mapped[str | None] = mapped_column(String(8))

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)  # noqa: F821
    network: Mapped[Network] = relationship(lazy="joined", innerjoin=True)
    disciplines: Mapped[list[Discipline]] = relationship(
        secondary="membership_disciplines", order_by="Discipline.sort_order", viewonly=True)

    def deactivate(self) -> None:
        self.is_active = False
        self.deactivated_at = utcnow()


class MembershipDiscipline(NetworkScopedMixin, db.Model):
    __tablename__ = "membership_disciplines"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "membership_id"], ["memberships.network_id", "memberships.id"],
                             name="fk_membership_disciplines_network_membership"),
    )
    membership_id: Mapped[int] = mapped_column(primary_key=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), primary_key=True)
