"""Care between the lines (issue 13): the hospital's roles on a case, a central care provider outside the
network (the GP or an outside professional), and the network's "who for what" contacts directory.

Every row is owned by a network; a change is a new row (history is never overwritten).
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import NetworkScopedMixin, TimestampMixin
from app.core.types import enum_type
from app.extensions import db


def _fk(column: str, table: str, name: str) -> ForeignKeyConstraint:
    """A composite foreign key (network_id, column) -> table(network_id, id): rows never cross networks."""
    return ForeignKeyConstraint(["network_id", column], [f"{table}.network_id", f"{table}.id"], name=name)


class HospitalRoleKind(enum.StrEnum):
    SPECIALIST = "specialist"        # oncologisch hoofdbehandelaar
    CASE_MANAGER = "case_manager"    # casemanager in the hospital

    @property
    def label(self) -> str:
        return str({"specialist": _l("Main treating specialist (oncology)"),
                    "case_manager": _l("Hospital case manager")}[self.value])


class HospitalRole(NetworkScopedMixin, db.Model):
    """One setting of a hospital role on a case; the newest row of a kind is the current one."""

    __tablename__ = "hospital_roles"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        _fk("case_id", "cases", "fk_hospital_roles_network_case"),
        Index("ix_hospital_roles_network_id_case_id", "network_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    kind: Mapped[HospitalRoleKind] = mapped_column(enum_type(HospitalRoleKind))
    name: Mapped[str] = mapped_column(String(200))
    function: Mapped[str] = mapped_column(String(200), default="")
    hospital: Mapped[str] = mapped_column(String(200), default="")
    reach: Mapped[str] = mapped_column(String(500), default="")  # phone, mail, hours: how to reach them
    set_at: Mapped[datetime]
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_referral: Mapped[bool] = mapped_column(default=False)


class OutsideProviderKind(enum.StrEnum):
    GP = "gp"
    OUTSIDE = "outside"

    @property
    def label(self) -> str:
        return str({"gp": _l("The GP"), "outside": _l("A professional outside the network")}[self.value])


class OutsideCentralProvider(NetworkScopedMixin, db.Model):
    """The central care provider when it is not a network member: the GP or an outside professional
    (a home-care nurse). Whichever is newer, this row or the case's last CentralProviderChange, is current."""

    __tablename__ = "outside_central_providers"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        _fk("case_id", "cases", "fk_outside_central_providers_network_case"),
        Index("ix_outside_central_providers_network_id_case_id", "network_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    kind: Mapped[OutsideProviderKind] = mapped_column(enum_type(OutsideProviderKind))
    name: Mapped[str] = mapped_column(String(200))
    function: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    reach: Mapped[str] = mapped_column(String(500), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    set_at: Mapped[datetime]
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ContactRole(enum.StrEnum):
    CASE_MANAGER = "case_manager"
    ONCOLOGY_NURSE = "oncology_nurse"
    PALLIATIVE_TEAM = "palliative_team"
    ON_DUTY_SPECIALIST = "on_duty_specialist"
    REHABILITATION = "rehabilitation"
    HOME_CARE = "home_care"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str({"case_manager": _l("Case manager"), "oncology_nurse": _l("Oncology nurse"),
                    "palliative_team": _l("Palliative care team"),
                    "on_duty_specialist": _l("Specialist on duty"),
                    "rehabilitation": _l("Rehabilitation centre"), "home_care": _l("Home care"),
                    "other": _l("Other")}[self.value])


class CareContact(NetworkScopedMixin, TimestampMixin, db.Model):
    """One line of the network's "who for what" directory, kept by the coordinator: per organisation
    (hospital, rehabilitation centre, home care) and tumour type, whom to contact for what."""

    __tablename__ = "care_contacts"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        Index("ix_care_contacts_network_id_organisation_id", "network_id", "organisation", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(200))
    role: Mapped[ContactRole] = mapped_column(enum_type(ContactRole))
    tumour_type: Mapped[str] = mapped_column(String(100), default="")  # "" : every tumour type
    for_what: Mapped[str] = mapped_column(String(500), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    hours: Mapped[str] = mapped_column(String(200), default="")
    removed_at: Mapped[datetime | None]  # kept, never deleted


# --- the palliative path: the signal, the marking, the wishes conversation ----------------------------------

class PalliativeEventKind(enum.StrEnum):
    SIGNAL = "signal"                 # the surprise question answered "no", with its indicators
    MARKED = "marked"                 # the palliative phase marked (once per case)
    WISHES = "wishes_conversation"    # a proactive care planning conversation (its content: the wishes section)
    DECEASED = "deceased"             # the patient died: the case closes, a bereavement follow-up is assigned

    @property
    def label(self) -> str:
        return str({"signal": _l("Signal"), "marked": _l("Palliative phase marked"),
                    "wishes_conversation": _l("Wishes conversation"), "deceased": _l("Deceased")}[self.value])


# What prompted the signal (after SPICT, the general indicators).
SIGNAL_INDICATORS = {
    "performance": _l("Declining performance (in bed or a chair half the day or more)"),
    "dependence": _l("Depends on others for care"),
    "admissions": _l("Two or more unplanned hospital admissions in the last six months"),
    "weight_loss": _l("Significant weight loss in the last three to six months"),
    "symptoms": _l("Persistent symptoms despite the best treatment"),
    "treatment_stopped": _l("Treatment of the cancer stopped or no longer effective"),
    "asks": _l("The patient or the family asks for palliative care or talks of stopping treatment"),
}
# Where the patient died.
PLACES_OF_DEATH = {"home": _l("At home"), "hospice": _l("In a hospice"), "hospital": _l("In hospital"),
                   "nursing_home": _l("In a nursing home"), "other": _l("Elsewhere")}
# Who was told of the marking.
INFORMED = {"patient": _l("The patient"), "relatives": _l("The relatives"), "gp": _l("The GP"),
            "team": _l("The care team")}


class PalliativeEvent(NetworkScopedMixin, db.Model):
    """One step of the palliative path on a case; rows are only added (the history is the path)."""

    __tablename__ = "palliative_events"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        _fk("case_id", "cases", "fk_palliative_events_network_case"),
        Index("ix_palliative_events_network_id_case_id", "network_id", "case_id", "id"),
        Index("ix_palliative_events_follow_up_user_id", "follow_up_user_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    kind: Mapped[PalliativeEventKind] = mapped_column(enum_type(PalliativeEventKind))
    occurred_on: Mapped[date]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    indicators: Mapped[list] = mapped_column(JSON, default=list)   # a signal's SIGNAL_INDICATORS codes
    informed: Mapped[list] = mapped_column(JSON, default=list)     # a marking's INFORMED codes
    participants: Mapped[str] = mapped_column(String(500), default="")  # who took part in the conversation
    remark: Mapped[str] = mapped_column(Text, default="")
    section_version: Mapped[int | None]  # the wishes section's version the conversation wrote
    # Deceased: where, whether that was the preferred place, and the bereavement follow-up (who contacts the
    # relatives, by when; a coordinator of the network, who keeps access to the closed case).
    place: Mapped[str] = mapped_column(String(30), default="")
    preferred_place: Mapped[str] = mapped_column(String(10), default="")  # yes / no / unknown
    follow_up_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    follow_up_due_on: Mapped[date | None]
    follow_up_done_at: Mapped[datetime | None]
    follow_up_done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# --- the case on a multidisciplinary meeting (MDO / PaTz) ------------------------------------------------------

class MdoDiscussion(NetworkScopedMixin, db.Model):
    """A case on the agenda of a network meeting: the team's question, the GP's input given beforehand in the GP
    portal, the conclusion, and the report letter to the GP that the conclusion drafts."""

    __tablename__ = "mdo_discussions"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        UniqueConstraint("network_id", "meeting_id", "case_id"),
        _fk("case_id", "cases", "fk_mdo_discussions_network_case"),
        _fk("meeting_id", "meetings", "fk_mdo_discussions_network_meeting"),
        Index("ix_mdo_discussions_network_id_case_id", "network_id", "case_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    meeting_id: Mapped[int]
    question: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime]
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    gp_asked: Mapped[bool] = mapped_column(default=False)
    gp_home_situation: Mapped[str] = mapped_column(Text, default="")  # how the patient is doing at home
    gp_patient_wishes: Mapped[str] = mapped_column(Text, default="")  # what the patient wants
    gp_input_at: Mapped[datetime | None]
    gp_input_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    conclusion: Mapped[str] = mapped_column(Text, default="")
    concluded_at: Mapped[datetime | None]
    concluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    letter_id: Mapped[int | None]  # the report letter the conclusion drafted
