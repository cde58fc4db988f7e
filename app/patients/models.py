"""Patients of a network: identity as given by the referral (BSN optional, masked in lists).

A patient known twice is found by BSN or by `match_key` (name, date of birth and postcode, without case
and spaces); both are indexed behind network_id. A merged-away duplicate keeps its row (the audit log
names it) with `merged_into_id` set, and holds nothing any more.
"""
from __future__ import annotations

import enum
import re
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import NetworkScopedMixin, TimestampMixin
from app.core.types import enum_type
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


# --- the patient taking part: portal accounts, their own questionnaires and messages ------------------------

class PortalRole(enum.StrEnum):
    PATIENT = "patient"
    RELATIVE = "relative"  # a relative or representative: sees what the patient granted


class PortalAccount(NetworkScopedMixin, TimestampMixin, db.Model):
    """A user's access to one patient's record in one network, through the patient portal (/mijn).

    The patient's own account sees every section of their record; a relative's the sections the patient
    granted (`sections`). Revoked, never deleted: the audit log names it. Who may see what is decided in
    app/cases/access.py (portal_access), like every other viewer."""

    __tablename__ = "portal_accounts"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        ForeignKeyConstraint(["network_id", "patient_id"], ["patients.network_id", "patients.id"],
                             name="fk_portal_accounts_network_patient"),
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_portal_accounts_network_referral"),
        ForeignKeyConstraint(["network_id", "granted_by_account_id"], ["portal_accounts.network_id",
                                                                       "portal_accounts.id"],
                             name="fk_portal_accounts_network_granted_by"),
        Index("ix_portal_accounts_network_id_referral_id", "network_id", "referral_id"),
        # The portal lists a user's accounts across networks (the named bypass): by user first.
        Index("ix_portal_accounts_user_id_network_id", "user_id", "network_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    patient_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[PortalRole] = mapped_column(enum_type(PortalRole))
    relation: Mapped[str] = mapped_column(String(100), default="")  # a relative's relation to the patient
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)  # a relative's granted section keys
    granted_by_account_id: Mapped[int | None]
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)  # noqa: F821

    @property
    def is_patient(self) -> bool:
        return self.role is PortalRole.PATIENT

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.user.active


class PatientQuestionnaire(NetworkScopedMixin, TimestampMixin, db.Model):
    """The distress thermometer and problem list as the patient filled them in: before the intake (the intake
    starts with it) or later (then also a patient-reported measurement of the case)."""

    __tablename__ = "patient_questionnaires"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_patient_questionnaires_network_referral"),
        ForeignKeyConstraint(["network_id", "account_id"], ["portal_accounts.network_id", "portal_accounts.id"],
                             name="fk_patient_questionnaires_network_account"),
        Index("ix_patient_questionnaires_network_id_referral_id_submitted_at", "network_id", "referral_id",
              "submitted_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    patient_id: Mapped[int]
    account_id: Mapped[int]
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the patient's user
    submitted_at: Mapped[datetime]
    score: Mapped[int]
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    remark: Mapped[str] = mapped_column(Text, default="")


class PortalMessageKind(enum.StrEnum):
    MESSAGE = "message"
    CORRECTION = "correction"  # a request to correct the record (AVG art. 16)


class PortalMessage(NetworkScopedMixin, db.Model):
    """The patient's thread with the central care provider (and the coordinator), and correction requests."""

    __tablename__ = "portal_messages"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_portal_messages_network_referral"),
        Index("ix_portal_messages_network_id_referral_id_occurred_at", "network_id", "referral_id", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    patient_id: Mapped[int]
    occurred_at: Mapped[datetime]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_patient: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[PortalMessageKind] = mapped_column(enum_type(PortalMessageKind), default=PortalMessageKind.MESSAGE)
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)  # noqa: F821
