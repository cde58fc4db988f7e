"""GP referrals: the referral itself (draft, then submitted), its status events, the GP-coordinator
thread, the medication rows, the PDF attachments and the disciplines the GP asked for; the controlled
lists of the referral's content with their labels; and the referrer's practice-nurse links (who may
refer on behalf of whom, see services.gps_for_referrer).

A referral is owned by the network it was sent to. The GP reads it across networks only through
services.referrals_of_referrer (the one named bypass for the GP's view).
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
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import GPProfile
from app.core.db import NetworkScopedMixin, TimestampMixin, UTCDateTime, utcnow
from app.core.i18n import kept_text
from app.core.storage import StoredFileMixin
from app.core.types import enum_type
from app.extensions import db


class ReferralStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    INFO_REQUESTED = "info_requested"
    ACCEPTED = "accepted"
    INTAKE_PLANNED = "intake_planned"
    IN_CARE = "in_care"
    CLOSED = "closed"
    DECLINED = "declined"
    FORWARDED = "forwarded"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return kept_text(("referral-status", self.value), STATUS_LABELS[self])


STATUS_LABELS = {
    ReferralStatus.DRAFT: _l("Draft"),
    ReferralStatus.SUBMITTED: _l("Submitted"),
    ReferralStatus.ACKNOWLEDGED: _l("Acknowledged"),
    ReferralStatus.INFO_REQUESTED: _l("Information requested"),
    ReferralStatus.ACCEPTED: _l("Accepted"),
    ReferralStatus.INTAKE_PLANNED: _l("Intake planned"),
    ReferralStatus.IN_CARE: _l("In care"),
    ReferralStatus.CLOSED: _l("Closed"),
    ReferralStatus.DECLINED: _l("Declined"),
    ReferralStatus.FORWARDED: _l("Forwarded"),
    ReferralStatus.WITHDRAWN: _l("Withdrawn"),
}


class MatchDecision(enum.StrEnum):
    """The coordinator's answer to "is this a patient the network already knows?" (see app.patients.matching)."""

    LINKED = "linked"  # the same person: the referral now belongs to the known patient
    DISMISSED = "dismissed"  # someone else: the matches are not shown again for this referral


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class TreatmentPhase(enum.StrEnum):
    IN_TREATMENT = "in_treatment"
    AFTER_TREATMENT = "after_treatment"
    PALLIATIVE = "palliative"


class TreatmentGoal(enum.StrEnum):
    CURATIVE = "curative"
    PALLIATIVE = "palliative"


class YesNoUnknown(enum.StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Urgency(enum.StrEnum):
    ROUTINE = "routine"
    SOON = "soon"
    URGENT = "urgent"


# --- controlled lists (codes are stored; labels are translated when shown) -----------------------

SEX_CHOICES = ((Sex.FEMALE.value, _l("Female")), (Sex.MALE.value, _l("Male")), (Sex.OTHER.value, _l("Other")),
               (Sex.UNKNOWN.value, _l("Unknown")))
# Language names in their own language (not translated), so the patient's language is recognisable.
LANGUAGE_CHOICES = (("nl", "Nederlands"), ("en", "English"), ("de", "Deutsch"), ("tr", "Türkçe"),
                    ("ar", "العربية"), ("other", _l("Another language")))
TUMOUR_TYPES = (
    ("breast", _l("Breast cancer")),
    ("colorectal", _l("Colorectal cancer")),
    ("lung", _l("Lung cancer")),
    ("prostate", _l("Prostate cancer")),
    ("skin", _l("Skin cancer or melanoma")),
    ("haematological", _l("Haematological cancer (leukaemia, lymphoma, myeloma)")),
    ("gynaecological", _l("Gynaecological cancer")),
    ("head_neck", _l("Head and neck cancer")),
    ("upper_gi", _l("Oesophagus, stomach or pancreas")),
    ("urological", _l("Bladder or kidney cancer")),
    ("brain", _l("Brain tumour")),
    ("other", _l("Other kind of cancer")),
)
PHASE_CHOICES = ((TreatmentPhase.IN_TREATMENT.value, _l("In treatment")),
                 (TreatmentPhase.AFTER_TREATMENT.value, _l("After treatment")),
                 (TreatmentPhase.PALLIATIVE.value, _l("Palliative phase")))
GOAL_CHOICES = ((TreatmentGoal.CURATIVE.value, _l("Curative")), (TreatmentGoal.PALLIATIVE.value, _l("Palliative")))
YES_NO_UNKNOWN = ((YesNoUnknown.YES.value, _l("Yes")), (YesNoUnknown.NO.value, _l("No")),
                  (YesNoUnknown.UNKNOWN.value, _l("Unknown")))
URGENCY_CHOICES = ((Urgency.ROUTINE.value, _l("Routine")), (Urgency.SOON.value, _l("Soon (within a week)")),
                   (Urgency.URGENT.value, _l("Urgent (please also phone the network)")))
DIMENSIONS = (("physical", _l("Physical")), ("psychological", _l("Psychological")), ("social", _l("Social")),
              ("spiritual", _l("Spiritual (meaning)")))
COMPLAINT_ITEMS = {
    "physical": (("fatigue", _l("Fatigue")), ("pain", _l("Pain")), ("bowel", _l("Bowel problems or diarrhoea")),
                 ("nutrition", _l("Nutrition or weight loss")), ("sexual", _l("Sexual problems")),
                 ("fitness", _l("Reduced fitness")), ("sleep", _l("Sleep problems")),
                 ("lymphoedema", _l("Lymphoedema")), ("neuropathy", _l("Neuropathy (tingling, numbness)"))),
    "psychological": (("anxiety", _l("Anxiety")), ("low_mood", _l("Low mood")),
                      ("fear_of_recurrence", _l("Fear of recurrence")),
                      ("concentration", _l("Concentration or memory problems"))),
    "social": (("work", _l("Work or reintegration")), ("relationship", _l("Relationship and partner")),
               ("finances", _l("Finances")), ("family", _l("Family and children"))),
    "spiritual": (("meaning", _l("Meaning and purpose")), ("faith", _l("Faith")),
                  ("end_of_life", _l("Questions about the end of life"))),
}
# For showing a stored referral: code -> label per column (unknown codes are shown as stored).
LABELS: dict[str, dict[str, Any]] = {
    "sex": dict(SEX_CHOICES), "preferred_language": dict(LANGUAGE_CHOICES), "tumour_type": dict(TUMOUR_TYPES),
    "treatment_phase": dict(PHASE_CHOICES), "treatment_goal": dict(GOAL_CHOICES),
    "yes_no_unknown": dict(YES_NO_UNKNOWN), "urgency": dict(URGENCY_CHOICES), "dimension": dict(DIMENSIONS),
    **{f"complaints_{dimension}": dict(items) for dimension, items in COMPLAINT_ITEMS.items()},
}


class Referral(NetworkScopedMixin, TimestampMixin, db.Model):
    """One referral of one patient by one GP to one network.

    While a draft, `draft_data` holds the form as typed (nothing is lost, even invalid input);
    submitting parses it into the columns below and clears it.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        UniqueConstraint("network_id", "submission_key"),
        UniqueConstraint("network_id", "number"),
        Index("ix_referrals_network_id_status_submitted_at", "network_id", "status", "submitted_at"),
        # The inbox's orders (oldest deadline first, all or per status) and the GP's own list (newest change
        # first, across networks: the referrer's filter leads, as the query does).
        Index("ix_referrals_network_id_ack_due_at_id", "network_id", "ack_due_at", "id"),
        Index("ix_referrals_network_id_status_ack_due_at_id", "network_id", "status", "ack_due_at", "id"),
        Index("ix_referrals_gp_profile_id_updated_at_id", "gp_profile_id", "updated_at", "id"),
        Index("ix_referrals_submitted_by_id_updated_at_id", "submitted_by_id", "updated_at", "id"),
        # The GP's list counts its referrals by the referrer's rule (status, typist) from the index alone.
        Index("ix_referrals_gp_profile_id_status_submitted_by_id", "gp_profile_id", "status", "submitted_by_id"),
        ForeignKeyConstraint(["network_id", "patient_id"], ["patients.network_id", "patients.id"],
                             name="fk_referrals_network_patient"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_key: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[ReferralStatus] = mapped_column(enum_type(ReferralStatus), default=ReferralStatus.DRAFT)
    # The GP on whose behalf, and who typed it (the GP themself or a practice nurse).
    gp_profile_id: Mapped[int] = mapped_column(ForeignKey("gp_profiles.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    patient_id: Mapped[int | None]
    draft_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    ack_due_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    norm_reminded_at: Mapped[datetime | None]
    intake_on: Mapped[date | None] = mapped_column(Date)
    forwarded_to_network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"))
    forwarded_from_referral_id: Mapped[int | None]  # plain id: it lives in another network
    # Whether a coordinator decided on the patients this referral's patient matches (None: not yet).
    match_decision: Mapped[MatchDecision | None] = mapped_column(enum_type(MatchDecision))
    match_decided_at: Mapped[datetime | None]
    match_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Patient, as given by the GP.
    given_name: Mapped[str] = mapped_column(String(100), default="")
    family_name: Mapped[str] = mapped_column(String(100), default="")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10), default="")
    bsn: Mapped[str | None] = mapped_column(String(9))
    address: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(7), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    preferred_language: Mapped[str] = mapped_column(String(10), default="")
    relative_name: Mapped[str] = mapped_column(String(200), default="")
    relative_relation: Mapped[str] = mapped_column(String(100), default="")
    relative_phone: Mapped[str] = mapped_column(String(30), default="")

    # Medical context.
    tumour_type: Mapped[str] = mapped_column(String(40), default="")
    hospital: Mapped[str] = mapped_column(String(200), default="")
    specialist: Mapped[str] = mapped_column(String(200), default="")
    treatment_phase: Mapped[str] = mapped_column(String(20), default="")
    treatment_goal: Mapped[str] = mapped_column(String(20), default="")
    history: Mapped[str] = mapped_column(Text, default="")
    medication_list_attached: Mapped[bool] = mapped_column(Boolean, default=False)
    resuscitation: Mapped[str] = mapped_column(String(10), default="")
    resuscitation_text: Mapped[str] = mapped_column(Text, default="")
    euthanasia: Mapped[str] = mapped_column(String(10), default="")
    euthanasia_text: Mapped[str] = mapped_column(Text, default="")
    advance_directive: Mapped[str] = mapped_column(String(10), default="")
    advance_directive_text: Mapped[str] = mapped_column(Text, default="")

    # The request.
    question: Mapped[str] = mapped_column(Text, default="")
    # {"physical": {"items": ["fatigue", ...], "text": "..."}, "psychological": ..., "social": ..., "spiritual": ...}
    complaints: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    distress_score: Mapped[int | None]
    urgency: Mapped[str] = mapped_column(String(10), default="")
    social_situation: Mapped[str] = mapped_column(Text, default="")

    # Consent to refer and to share with the network's contact person (required to submit).
    consent_confirmed_at: Mapped[datetime | None]
    consent_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    gp_profile: Mapped[GPProfile] = relationship(lazy="joined", innerjoin=True)
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id], lazy="joined",  # noqa: F821
                                              innerjoin=True)
    # Many-to-one on the primary key: inside a request the network is already in the identity map (g.network),
    # so a plain lazy load costs no statement; joining it made every referral row carry the whole network row.
    network: Mapped[Network] = relationship(foreign_keys="Referral.network_id")  # noqa: F821
    forwarded_to: Mapped[Network | None] = relationship(foreign_keys=[forwarded_to_network_id])  # noqa: F821
    medications: Mapped[list[ReferralMedication]] = relationship(
        order_by="ReferralMedication.position", cascade="all, delete-orphan")
    events: Mapped[list[ReferralEvent]] = relationship(order_by="ReferralEvent.id", viewonly=True)
    messages: Mapped[list[ReferralMessage]] = relationship(order_by="ReferralMessage.id", viewonly=True)
    attachments: Mapped[list[ReferralAttachment]] = relationship(
        order_by="ReferralAttachment.id", viewonly=True,
        primaryjoin="and_(Referral.id == foreign(ReferralAttachment.referral_id), "
                    "ReferralAttachment.removed_at.is_(None))")
    disciplines: Mapped[list[Discipline]] = relationship(  # noqa: F821
        secondary="referral_disciplines", order_by="Discipline.sort_order", viewonly=True)

    @property
    def patient_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def masked_bsn(self) -> str:
        return f"*****{self.bsn[-4:]}" if self.bsn else ""


class ReferralMedication(NetworkScopedMixin, db.Model):
    __tablename__ = "referral_medications"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_referral_medications_network_referral"),
        Index("ix_referral_medications_network_id_referral_id", "network_id", "referral_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str] = mapped_column(String(100), default="")
    since: Mapped[str] = mapped_column(String(100), default="")  # "2024", "since surgery": as the GP writes it


class ReferralDiscipline(NetworkScopedMixin, db.Model):
    """A discipline the GP thinks of (for the dashboard's per-discipline figures)."""

    __tablename__ = "referral_disciplines"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_referral_disciplines_network_referral"),
    )
    referral_id: Mapped[int] = mapped_column(primary_key=True)
    discipline_id: Mapped[int] = mapped_column(ForeignKey("disciplines.id"), primary_key=True)


class ReferralEvent(NetworkScopedMixin, db.Model):
    """One status transition: who, when, from and to, and the text that went with it."""

    __tablename__ = "referral_events"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_referral_events_network_referral"),
        Index("ix_referral_events_network_id_referral_id", "network_id", "referral_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[ReferralStatus | None] = mapped_column(enum_type(ReferralStatus))
    to_status: Mapped[ReferralStatus] = mapped_column(enum_type(ReferralStatus))
    text: Mapped[str] = mapped_column(Text, default="")  # decline reason, question; shown to the GP

    actor: Mapped[User] = relationship(lazy="joined", innerjoin=True)  # noqa: F821


class ReferralMessage(NetworkScopedMixin, db.Model):
    """The thread between the network and the GP, kept with the referral."""

    __tablename__ = "referral_messages"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_referral_messages_network_referral"),
        Index("ix_referral_messages_network_id_referral_id", "network_id", "referral_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    occurred_at: Mapped[datetime]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_network: Mapped[bool] = mapped_column(Boolean)  # True: the coordinator; False: the GP side
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)  # noqa: F821


class ReferralAttachment(StoredFileMixin, NetworkScopedMixin, TimestampMixin, db.Model):
    """A PDF letter sent with the referral, stored under UPLOAD_DIR/<network>/ (core.storage)."""

    __tablename__ = "referral_attachments"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_referral_attachments_network_referral"),
        Index("ix_referral_attachments_network_id_referral_id", "network_id", "referral_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    filename: Mapped[str] = mapped_column(String(200))
    storage_name: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None]


# --- referrers ---------------------------------------------------------------------------------------
# GPProfile (the referrer side of a user, GP or practice nurse) is part of the user's identity in
# app.auth.models; the link below decides on whose behalf a practice nurse refers.

class PracticeNurseLink(db.Model):
    """A POH asked to refer for a GP; it counts only once the GP confirmed it (confirmed_at)."""

    __tablename__ = "practice_nurse_links"
    __table_args__ = (UniqueConstraint("poh_profile_id", "gp_profile_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    poh_profile_id: Mapped[int] = mapped_column(ForeignKey("gp_profiles.id"), index=True)
    gp_profile_id: Mapped[int] = mapped_column(ForeignKey("gp_profiles.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    confirmed_at: Mapped[datetime | None]

    poh: Mapped[GPProfile] = relationship(foreign_keys=[poh_profile_id], lazy="joined", innerjoin=True)
    gp: Mapped[GPProfile] = relationship(foreign_keys=[gp_profile_id], lazy="joined", innerjoin=True)
