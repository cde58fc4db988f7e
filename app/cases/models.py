"""The single intake and the shared case: intake versions, the case and its care team, consent,
notes with versions, next actions, distress-thermometer measurements, letters to the GP, the
GP's question thread and the case timeline.

Every row is owned by a network; references between them are composite (network_id, id) keys.
Who may see what is decided in one place: app/cases/access.py.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import NetworkScopedMixin, TimestampMixin
from app.core.i18n import kept_text
from app.core.storage import StoredFileMixin
from app.core.types import enum_type
from app.extensions import db

# The parts a consent covers (each record section belongs to one) and the record's problem lists.
from app.records.models import (  # noqa: F401 - re-exported for the case code
    LASTMETER_GROUPS,
    LASTMETER_LABELS,
    PRACTICAL_DOMAINS,
    ConsentPart,
    lastmeter_label,
)


def _fk(column: str, table: str, name: str) -> ForeignKeyConstraint:
    """A composite foreign key (network_id, column) -> table(network_id, id): rows never cross networks."""
    return ForeignKeyConstraint(["network_id", column], [f"{table}.network_id", f"{table}.id"], name=name)


class IntakeStatus(enum.StrEnum):
    DRAFT = "draft"
    COMPLETED = "completed"


class Intake(NetworkScopedMixin, TimestampMixin, db.Model):
    """One version of the patient's story. A completed version is never changed (flush guard in
    services); a correction is a new version that supersedes it, and the old one stays readable."""

    __tablename__ = "intakes"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        UniqueConstraint("network_id", "referral_id", "version"),
        _fk("referral_id", "referrals", "fk_intakes_network_referral"),
        _fk("patient_id", "patients", "fk_intakes_network_patient"),
        Index("ix_intakes_network_id_referral_id", "network_id", "referral_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    patient_id: Mapped[int]
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[IntakeStatus] = mapped_column(enum_type(IntakeStatus), default=IntakeStatus.DRAFT)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    held_on: Mapped[date | None] = mapped_column(Date)
    correction_reason: Mapped[str] = mapped_column(Text, default="")

    story: Mapped[str] = mapped_column(Text, default="")  # in the patient's own words
    # {"physical": {"items": [...], "text": ""}, "psychological": ..., "social": ..., "spiritual": ...}
    problems: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"work": "...", "finances": "...", "housing": "...", "transport": "...", "household": "..."}
    practical: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    distress_score: Mapped[int | None]
    distress_problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    goals: Mapped[str] = mapped_column(Text, default="")
    partner_situation: Mapped[str] = mapped_column(Text, default="")
    sharing_wishes: Mapped[str] = mapped_column(Text, default="")  # what the patient does and does not want shared

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])  # noqa: F821
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])  # noqa: F821


class CaseStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return kept_text(("case-status", self.value), _CASE_STATUS_LABELS[self.value])


_CASE_STATUS_LABELS = {"active": _l("Active"), "closed": _l("Closed")}


class Case(NetworkScopedMixin, TimestampMixin, db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        UniqueConstraint("network_id", "referral_id"),
        _fk("referral_id", "referrals", "fk_cases_network_referral"),
        _fk("patient_id", "patients", "fk_cases_network_patient"),
        _fk("central_membership_id", "memberships", "fk_cases_network_central_membership"),
        Index("ix_cases_network_id_status", "network_id", "status"),
        Index("ix_cases_network_id_status_opened_at_id", "network_id", "status", "opened_at", "id"),  # the case list
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    patient_id: Mapped[int]
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus), default=CaseStatus.ACTIVE)
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    central_membership_id: Mapped[int | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closing_summary: Mapped[str] = mapped_column(Text, default="")
    next_prom_due_on: Mapped[date | None] = mapped_column(Date)
    prom_reminded_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship(  # noqa: F821
        primaryjoin="and_(Case.network_id == foreign(Patient.network_id), Case.patient_id == foreign(Patient.id))",
        viewonly=True, lazy="joined", innerjoin=True)
    referral: Mapped[Referral] = relationship(  # noqa: F821
        primaryjoin="and_(Case.network_id == foreign(Referral.network_id), Case.referral_id == foreign(Referral.id))",
        viewonly=True)
    central: Mapped[Membership | None] = relationship(  # noqa: F821
        primaryjoin="and_(Case.network_id == foreign(Membership.network_id), "
                    "Case.central_membership_id == foreign(Membership.id))", viewonly=True)


class CentralProviderChange(NetworkScopedMixin, db.Model):
    """Each setting of the central care provider, kept."""

    __tablename__ = "central_provider_changes"
    __table_args__ = (
        _fk("case_id", "cases", "fk_central_provider_changes_network_case"),
        _fk("membership_id", "memberships", "fk_central_provider_changes_network_membership"),
        Index("ix_central_provider_changes_network_id_case_id", "network_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    membership_id: Mapped[int]
    changed_at: Mapped[datetime]
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")


class TeamStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    DECLINED = "declined"
    LEFT = "left"

    @property
    def label(self) -> str:
        return str({"proposed": _l("Proposed"), "active": _l("On the team"), "declined": _l("Declined"),
                    "left": _l("Left")}[self.value])


class CareTeamMember(NetworkScopedMixin, db.Model):
    __tablename__ = "care_team_members"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        _fk("case_id", "cases", "fk_care_team_members_network_case"),
        _fk("membership_id", "memberships", "fk_care_team_members_network_membership"),
        Index("ix_care_team_members_network_id_case_id", "network_id", "case_id"),
        Index("ix_care_team_members_network_id_membership_id", "network_id", "membership_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    membership_id: Mapped[int]
    role_in_case: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[TeamStatus] = mapped_column(enum_type(TeamStatus), default=TeamStatus.PROPOSED)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    accepted_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    part_summary: Mapped[str] = mapped_column(Text, default="")  # the member's summary when closing their part

    membership: Mapped[Membership] = relationship(  # noqa: F821
        primaryjoin="and_(CareTeamMember.network_id == foreign(Membership.network_id), "
                    "CareTeamMember.membership_id == foreign(Membership.id))", viewonly=True, lazy="joined",
        innerjoin=True)


class ConsentMethod(enum.StrEnum):
    VERBAL = "verbal"
    WRITTEN = "written"
    DIGITAL = "digital"

    @property
    def label(self) -> str:
        return str({"verbal": _l("Verbal"), "written": _l("Written"), "digital": _l("Digital")}[self.value])


class Consent(StoredFileMixin, NetworkScopedMixin, TimestampMixin, db.Model):
    """The patient's consent to share, for a purpose, with named members, for some parts, maybe until a
    date. Withdrawn, never deleted; a change is a new row."""

    stored_file_column = "document_storage"  # the signed document, a PDF (core.storage)
    __tablename__ = "consents"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        UniqueConstraint("network_id", "submission_key"),
        _fk("case_id", "cases", "fk_consents_network_case"),
        _fk("patient_id", "patients", "fk_consents_network_patient"),
        Index("ix_consents_network_id_case_id", "network_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    patient_id: Mapped[int]
    obtained_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    obtained_at: Mapped[datetime]
    method: Mapped[ConsentMethod] = mapped_column(enum_type(ConsentMethod))
    purpose: Mapped[str] = mapped_column(Text)
    covers_intake: Mapped[bool] = mapped_column(Boolean, default=True)
    covers_notes: Mapped[bool] = mapped_column(Boolean, default=True)
    covers_proms: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_until: Mapped[date | None] = mapped_column(Date)
    document_name: Mapped[str] = mapped_column(String(200), default="")
    document_storage: Mapped[str] = mapped_column(String(64), default="")
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="")
    # The form's key: a double click or a retry records the consent once.
    submission_key: Mapped[str | None] = mapped_column(String(64))

    obtained_by: Mapped[User] = relationship(foreign_keys=[obtained_by_id])  # noqa: F821
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])  # noqa: F821
    members: Mapped[list[ConsentMember]] = relationship(viewonly=True, order_by="ConsentMember.membership_id")

    def covers(self, part: ConsentPart) -> bool:
        return {ConsentPart.INTAKE: self.covers_intake, ConsentPart.NOTES: self.covers_notes,
                ConsentPart.PROMS: self.covers_proms}[part]

    @property
    def parts(self) -> list[ConsentPart]:
        return [part for part in ConsentPart if self.covers(part)]


class ConsentMember(NetworkScopedMixin, db.Model):
    __tablename__ = "consent_members"
    __table_args__ = (
        _fk("consent_id", "consents", "fk_consent_members_network_consent"),
        _fk("membership_id", "memberships", "fk_consent_members_network_membership"),
        Index("ix_consent_members_network_id_membership_id", "network_id", "membership_id"),
    )
    consent_id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(primary_key=True)

    membership: Mapped[Membership] = relationship(  # noqa: F821
        primaryjoin="and_(ConsentMember.network_id == foreign(Membership.network_id), "
                    "ConsentMember.membership_id == foreign(Membership.id))", viewonly=True, lazy="joined",
        innerjoin=True)


class NoteVisibility(enum.StrEnum):
    TEAM = "team"
    DISCIPLINE = "discipline"
    PRIVATE = "private"

    @property
    def label(self) -> str:
        return kept_text(("note-visibility", self.value), _NOTE_VISIBILITY_LABELS[self.value])


_NOTE_VISIBILITY_LABELS = {"team": _l("Care team"), "discipline": _l("Only my discipline"), "private": _l("Only me")}


class Note(NetworkScopedMixin, TimestampMixin, db.Model):
    __tablename__ = "notes"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        _fk("case_id", "cases", "fk_notes_network_case"),
        _fk("author_membership_id", "memberships", "fk_notes_network_author_membership"),
        Index("ix_notes_network_id_case_id", "network_id", "case_id"),
        # The notes page's filter and order (newest first), so a page is read from the index.
        Index("ix_notes_network_id_case_id_created_at_id", "network_id", "case_id", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    author_membership_id: Mapped[int]
    visibility: Mapped[NoteVisibility] = mapped_column(enum_type(NoteVisibility), default=NoteVisibility.TEAM)
    # The author's disciplines when writing: "only my discipline" means these.
    discipline_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text)  # the current text; earlier ones in note_versions
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime | None]

    author: Mapped[Membership] = relationship(  # noqa: F821
        primaryjoin="and_(Note.network_id == foreign(Membership.network_id), "
                    "Note.author_membership_id == foreign(Membership.id))", viewonly=True, lazy="joined",
        innerjoin=True)


class NoteDiscipline(NetworkScopedMixin, db.Model):
    """One of the author's disciplines when writing a note (the same as Note.discipline_ids, as rows), so the
    notes page can filter "only my discipline" in SQL instead of loading every note of the case."""

    __tablename__ = "note_disciplines"
    __table_args__ = (
        _fk("note_id", "notes", "fk_note_disciplines_network_note"),
        Index("ix_note_disciplines_network_id_discipline_id_note_id", "network_id", "discipline_id", "note_id"),
    )
    note_id: Mapped[int] = mapped_column(primary_key=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), primary_key=True)


class NoteVersion(NetworkScopedMixin, db.Model):
    """An earlier text of a note, kept when it is edited."""

    __tablename__ = "note_versions"
    __table_args__ = (
        _fk("note_id", "notes", "fk_note_versions_network_note"),
        Index("ix_note_versions_network_id_note_id", "network_id", "note_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int]
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime]


class CaseAction(NetworkScopedMixin, TimestampMixin, db.Model):
    """A next step with an owner and a due date."""

    __tablename__ = "case_actions"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        _fk("case_id", "cases", "fk_case_actions_network_case"),
        _fk("owner_membership_id", "memberships", "fk_case_actions_network_owner_membership"),
        Index("ix_case_actions_network_id_owner_membership_id_done_at", "network_id", "owner_membership_id",
              "done_at"),
        Index("ix_case_actions_network_id_case_id", "network_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    description: Mapped[str] = mapped_column(String(500))
    owner_membership_id: Mapped[int]
    due_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None]

    owner: Mapped[Membership] = relationship(  # noqa: F821
        primaryjoin="and_(CaseAction.network_id == foreign(Membership.network_id), "
                    "CaseAction.owner_membership_id == foreign(Membership.id))", viewonly=True, lazy="joined",
        innerjoin=True)


class PromMeasurement(NetworkScopedMixin, TimestampMixin, db.Model):
    """A distress thermometer (Lastmeter) score 0-10 with the problem list."""

    __tablename__ = "prom_measurements"
    __table_args__ = (
        _fk("case_id", "cases", "fk_prom_measurements_network_case"),
        Index("ix_prom_measurements_network_id_case_id_measured_on", "network_id", "case_id", "measured_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    measured_on: Mapped[date] = mapped_column(Date)
    score: Mapped[int]
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Filled in by the patient in the portal (app.patient_portal), not recorded by a care provider.
    patient_reported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LetterKind(enum.StrEnum):
    INTAKE = "intake"
    CLOSING = "closing"
    UPDATE = "update"  # after a significant change (the norms between the care lines, app.norms)
    MDO = "mdo"        # the report of a multidisciplinary meeting

    @property
    def label(self) -> str:
        return str({"intake": _l("Letter after the intake"), "closing": _l("Closing letter"),
                    "update": _l("Letter on a significant change"),
                    "mdo": _l("Report of the multidisciplinary meeting")}[self.value])


class Letter(StoredFileMixin, NetworkScopedMixin, TimestampMixin, db.Model):
    """A letter to the GP: generated from the data, editable while a draft, stored as PDF when sent."""

    stored_file_column = "pdf_storage"  # the sent letter as PDF (core.storage)

    __tablename__ = "letters"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        _fk("case_id", "cases", "fk_letters_network_case"),
        Index("ix_letters_network_id_case_id", "network_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    kind: Mapped[LetterKind] = mapped_column(enum_type(LetterKind))
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pdf_storage: Mapped[str] = mapped_column(String(64), default="")


class CaseMessage(NetworkScopedMixin, db.Model):
    """The GP's questions to the central care provider and the answers, in one thread."""

    __tablename__ = "case_messages"
    __table_args__ = (
        _fk("case_id", "cases", "fk_case_messages_network_case"),
        Index("ix_case_messages_network_id_case_id", "network_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    occurred_at: Mapped[datetime]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_gp: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)  # noqa: F821


class CaseEventKind(enum.StrEnum):
    OPENED = "opened"
    INTAKE_CORRECTED = "intake_corrected"
    MEMBER_PROPOSED = "member_proposed"
    MEMBER_JOINED = "member_joined"
    MEMBER_DECLINED = "member_declined"
    MEMBER_LEFT = "member_left"
    CENTRAL_CHANGED = "central_changed"
    CONSENT_RECORDED = "consent_recorded"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    PROM_RECORDED = "prom_recorded"
    LETTER_SENT = "letter_sent"
    CLOSED = "closed"
    PALLIATIVE_MARKED = "palliative_marked"  # app.palliative: the palliative phase marked
    CENTRAL_OUTSIDE = "central_outside"  # app.palliative: the GP or an outside professional is the central provider
    TREATMENT_STOPPED = "treatment_stopped"  # app.palliative: a signal says the treatment stopped
    MDO_PLANNED = "mdo_planned"      # app.palliative: the case is on a multidisciplinary meeting's agenda
    MDO_CONCLUDED = "mdo_concluded"  # app.palliative: the meeting's conclusion recorded


# The key moments the GP sees on their referral page (never note contents).
GP_VISIBLE_EVENTS = frozenset({CaseEventKind.OPENED, CaseEventKind.MEMBER_JOINED, CaseEventKind.CENTRAL_CHANGED,
                               CaseEventKind.LETTER_SENT, CaseEventKind.CLOSED,
                               CaseEventKind.PALLIATIVE_MARKED, CaseEventKind.MDO_PLANNED,
                               CaseEventKind.MDO_CONCLUDED})


class CaseEvent(NetworkScopedMixin, db.Model):
    """The case timeline. `detail` is a short non-clinical text (a discipline, a name), never a note."""

    __tablename__ = "case_events"
    __table_args__ = (
        _fk("case_id", "cases", "fk_case_events_network_case"),
        Index("ix_case_events_network_id_case_id", "network_id", "case_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int]
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[CaseEventKind] = mapped_column(enum_type(CaseEventKind))
    detail: Mapped[str] = mapped_column(String(300), default="")

    actor: Mapped[User] = relationship(lazy="joined", innerjoin=True)  # noqa: F821


# --- controlled lists of the case (codes are stored; labels are shown) ---------------------------------

# The fields of an intake version (what a correction copies, what a save may set).
INTAKE_FIELDS = frozenset({"held_on", "story", "problems", "practical", "distress_score", "distress_problems",
                           "goals", "partner_situation", "sharing_wishes"})

# How the note form offers the visibilities (longer than NoteVisibility.label, shown on a note).
NOTE_VISIBILITY_CHOICES = (
    (NoteVisibility.TEAM, _l("The care team (everyone on it who may read notes)")),
    (NoteVisibility.DISCIPLINE, _l("Only my discipline")),
    (NoteVisibility.PRIVATE, _l("Only me")),
)
