"""The tenant itself (Network), memberships with roles, and the controlled list of disciplines."""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import NetworkScopedMixin, TimestampMixin, utcnow
from app.core.i18n import kept_text
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
        return kept_text(("role", self.value), _ROLE_LABELS[self.value])


_ROLE_LABELS = {"coordinator": _l("Coordinator"), "member": _l("Member")}


class Network(TimestampMixin, db.Model):
    __tablename__ = "networks"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[NetworkStatus] = mapped_column(enum_type(NetworkStatus), default=NetworkStatus.SETTING_UP)
    default_locale: Mapped[str] = mapped_column(String(5), default="nl")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_at: Mapped[datetime | None]
    qualified_on: Mapped[date | None] = mapped_column(Date)
    qualified_criteria_version: Mapped[str | None] = mapped_column(String(20))
    service_area: Mapped[str] = mapped_column(Text, default="")  # "2011-2036, 2100"; ranges in service_area_ranges
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    website_url: Mapped[str] = mapped_column(String(300), default="")
    website_updated_on: Mapped[date | None] = mapped_column(Date)
    legal_form: Mapped[str] = mapped_column(String(100), default="")
    kvk_number: Mapped[str] = mapped_column(String(8), default="")
    is_not_for_profit: Mapped[bool] = mapped_column(Boolean, default=False)
    vision_text: Mapped[str] = mapped_column(Text, default="")
    participation_text: Mapped[str] = mapped_column(Text, default="")
    participation_min_meetings: Mapped[int | None]
    local_attested: Mapped[bool] = mapped_column(Boolean, default=False)
    self_check_reminded_at: Mapped[datetime | None]
    # Response norm for referrals: acknowledged within this many working days.
    referral_ack_norm_days: Mapped[int] = mapped_column(default=2, server_default="2")
    # The norms between the care lines (app.norms), in working days: the intake after acceptance, a letter to the
    # GP after the intake or a significant change, and the report of a multidisciplinary meeting.
    intake_norm_days: Mapped[int] = mapped_column(default=10, server_default="10")
    gp_letter_norm_days: Mapped[int] = mapped_column(default=2, server_default="2")
    mdo_report_norm_days: Mapped[int] = mapped_column(default=2, server_default="2")
    # Reference numbers R-<year>-<seq>: the last one given out, claimed with one atomic UPDATE.
    referral_seq_year: Mapped[int] = mapped_column(default=0, server_default="0")
    referral_seq: Mapped[int] = mapped_column(default=0, server_default="0")


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
    in_verwijsgids_scope: Mapped[bool] = mapped_column(Boolean, default=False)  # counted for criterion 2a

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

    big_number: Mapped[str | None] = mapped_column(String(11))
    address: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(7), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    phone_is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    is_listed_in_verwijsgids: Mapped[bool] = mapped_column(Boolean, default=False)
    verwijsgids_url: Mapped[str] = mapped_column(String(300), default="")
    is_accepting_patients: Mapped[bool] = mapped_column(Boolean, default=True)
    is_oncology_specialised: Mapped[bool] = mapped_column(Boolean, default=False)  # e.g. oncologiefysiotherapeut

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)  # noqa: F821
    network: Mapped[Network] = relationship()  # from the identity map (g.network): see Referral.network
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

class ContactKind(enum.StrEnum):
    HOSPITAL = "hospital"
    GP_PRACTICE = "gp_practice"

    @property
    def label(self) -> str:
        return str({"hospital": _l("Hospital"), "gp_practice": _l("GP practice or cooperative")}[self.value])


class NetworkContact(NetworkScopedMixin, TimestampMixin, db.Model):
    """A structural contact with a hospital or GP practice (criteria 8 and 9)."""

    __tablename__ = "network_contacts"
    __table_args__ = (UniqueConstraint("network_id", "id"),
                      Index("ix_network_contacts_network_id_kind", "network_id", "kind"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ContactKind] = mapped_column(enum_type(ContactKind))
    organisation: Mapped[str] = mapped_column(String(200))
    contact_person: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    agreement: Mapped[str] = mapped_column(Text, default="")  # what was agreed, last meeting


class ServiceAreaRange(NetworkScopedMixin, db.Model):
    """The service area as 4-digit postcode ranges, derived from Network.service_area, for search."""

    __tablename__ = "service_area_ranges"
    __table_args__ = (Index("ix_service_area_ranges_network_id_first", "network_id", "first"),
                      Index("ix_service_area_ranges_first_last", "first", "last"))
    id: Mapped[int] = mapped_column(primary_key=True)
    first: Mapped[int]
    last: Mapped[int]


class TrainingRecord(NetworkScopedMixin, TimestampMixin, db.Model):
    __tablename__ = "training_records"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "membership_id"], ["memberships.network_id", "memberships.id"],
                             name="fk_training_records_network_membership"),
        Index("ix_training_records_network_id_membership_id", "network_id", "membership_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int]
    course: Mapped[str] = mapped_column(String(200))
    hours: Mapped[int]
    completed_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
