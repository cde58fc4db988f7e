"""The shared record: the consent parts, the named sections (defined as data: SECTIONS), the current
content of each section of a patient (RecordSection) and every version of it (RecordSectionVersion).

Content is JSON in a normal form the services keep (app.records.services.normalise): every field of the
section's spec present, texts stripped and bounded, dates as ISO strings. The Lastmeter problem list and
the practical domains are the record's own lists (defined here; the case code imports them); the referral's
lists (kinds of cancer, complaint items, yes/no/unknown) come from app.referrals.models, not copied.
SECTIONS is built once, on first use (module __getattr__).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import NetworkScopedMixin
from app.core.types import enum_type
from app.extensions import db
from app.networks.models import DisciplineGroup

# The practical domains of the intake (free text each), in the order they are asked.
PRACTICAL_DOMAINS = (("work", _l("Work")), ("finances", _l("Finances")), ("housing", _l("Housing")),
                     ("transport", _l("Transport")), ("household", _l("Household")))

# The Lastmeter (Dutch distress thermometer) problem list, by group. Codes are stored; labels are shown.
LASTMETER_GROUPS = (
    ("practical", _l("Practical problems"), (
        ("housing", _l("Housing")), ("finances_insurance", _l("Finances or insurance")),
        ("work_school", _l("Work or school")), ("transport", _l("Transport")), ("childcare", _l("Childcare")),
        ("household", _l("Household")))),
    ("family", _l("Family and social problems"), (
        ("partner", _l("Dealing with your partner")), ("children", _l("Dealing with your children")),
        ("family_friends", _l("Dealing with family or friends")))),
    ("emotional", _l("Emotional problems"), (
        ("worry", _l("Worry")), ("fears", _l("Fears")), ("sadness", _l("Sadness")),
        ("depression", _l("Depression")), ("nervousness", _l("Nervousness")),
        ("memory_concentration", _l("Memory or concentration")), ("loneliness", _l("Loneliness")),
        ("loss_of_interest", _l("Loss of interest in usual activities")))),
    ("spiritual", _l("Spiritual or religious problems"), (
        ("meaning", _l("Meaning of life")), ("faith", _l("Faith")))),
    ("physical", _l("Physical problems"), (
        ("pain", _l("Pain")), ("nausea", _l("Nausea")), ("fatigue", _l("Fatigue")), ("sleep", _l("Sleep")),
        ("mobility", _l("Getting around")), ("washing_dressing", _l("Washing and dressing")),
        ("appearance", _l("Appearance")), ("breathing", _l("Breathing")), ("mouth", _l("Mouth sores")),
        ("eating", _l("Eating")), ("digestion", _l("Indigestion")), ("constipation", _l("Constipation")),
        ("diarrhoea", _l("Diarrhoea")), ("urination", _l("Urination")), ("fever", _l("Fever")),
        ("skin", _l("Dry or itchy skin")), ("tingling", _l("Tingling in hands or feet")),
        ("swelling", _l("Swelling")), ("sexuality", _l("Sexuality")))),
)
LASTMETER_LABELS = {code: label for _, _, items in LASTMETER_GROUPS for code, label in items}


def lastmeter_label(code: str) -> str:
    """The label of a Lastmeter problem code; an unknown code is shown readably."""
    label = LASTMETER_LABELS.get(code)
    return str(label) if label is not None else code.replace("_", " ")


class ConsentPart(enum.StrEnum):
    """The parts of a case a consent covers; each record section belongs to exactly one."""

    INTAKE = "intake"
    NOTES = "notes"
    PROMS = "proms"

    @property
    def label(self) -> str:
        # In the patient's words: the consent form reads these to the patient.
        return str({"intake": _l("My story and hand-over (medication, wishes, people involved, care plan)"),
                    "notes": _l("Notes of the care team"),
                    "proms": _l("Questionnaires (distress thermometer)")}[self.value])


class SectionKey(enum.StrEnum):
    STORY = "story"
    DIAGNOSIS = "diagnosis"
    MEDICATION = "medication"
    WISHES = "wishes"
    PROBLEMS = "problems"
    DISTRESS = "distress"
    PEOPLE = "people"
    CONTACT = "contact"
    CARE_PLAN = "care_plan"


class RecordSource(enum.StrEnum):
    """Where a section version came from."""

    REFERRAL = "referral"
    INTAKE = "intake"
    MEMBER = "member"
    COORDINATOR = "coordinator"
    MIGRATION = "migration"


# The consent part of each section, known without building SECTIONS (access code asks this often).
SECTION_PARTS: dict[SectionKey, ConsentPart] = {
    key: ConsentPart.PROMS if key is SectionKey.DISTRESS else ConsentPart.INTAKE for key in SectionKey}

FieldKind = Literal["text", "textarea", "choice", "date", "score", "rows", "items"]
TEXT_MAX = 500
TEXTAREA_MAX = 10_000
CODE_MAX = 40
MAX_ROWS = 100


@dataclass(frozen=True)
class FieldSpec:
    """One field of a section's content. `choices` are (code, lazy label) for "choice" and "items";
    `row_fields` the fields of one row for "rows"."""

    name: str
    kind: FieldKind
    label: Any  # a lazy string
    choices: tuple[tuple[str, Any], ...] | None = None
    row_fields: tuple[FieldSpec, ...] | None = None
    max_length: int = 0  # 0: the kind's default (TEXT_MAX, TEXTAREA_MAX, CODE_MAX)

    @property
    def limit(self) -> int:
        if self.max_length:
            return self.max_length
        return {"text": TEXT_MAX, "textarea": TEXTAREA_MAX}.get(self.kind, CODE_MAX)

    @property
    def empty(self) -> Any:
        return {"date": None, "score": None, "rows": [], "items": []}.get(self.kind, "")


@dataclass(frozen=True)
class SectionSpec:
    key: SectionKey
    part: ConsentPart
    title: Any  # a lazy string
    owner_groups: frozenset[DisciplineGroup] | None  # who keeps it current; None: any team member
    fields: tuple[FieldSpec, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)


def _text(name: str, label: Any, max_length: int = 0) -> FieldSpec:
    return FieldSpec(name, "text", label, max_length=max_length)


def _textarea(name: str, label: Any, max_length: int = 0) -> FieldSpec:
    return FieldSpec(name, "textarea", label, max_length=max_length)


@cache
def _build_sections() -> dict[SectionKey, SectionSpec]:
    from app.referrals.models import (
        COMPLAINT_ITEMS,
        DIMENSIONS,
        GOAL_CHOICES,
        PHASE_CHOICES,
        TUMOUR_TYPES,
        YES_NO_UNKNOWN,
    )

    goals = dict(GOAL_CHOICES)
    treatment_goals = (("curative", goals["curative"]), ("life_prolonging", _l("Life-prolonging")),
                       ("palliative", goals["palliative"]), ("unknown", dict(YES_NO_UNKNOWN)["unknown"]))
    yes_no = tuple(choice for choice in YES_NO_UNKNOWN if choice[0] != "unknown")
    lastmeter = tuple(item for _group, _label, items in LASTMETER_GROUPS for item in items)

    def yes_no_unknown(name: str, label: Any) -> FieldSpec:
        return FieldSpec(name, "choice", label, choices=YES_NO_UNKNOWN)

    medication_row = (_text("name", _l("Medicine"), 200), _text("dose", _l("Dose"), 100),
                      _text("since", _l("Since"), 100), _text("stopped", _l("Stopped"), 100),
                      _text("stop_reason", _l("Why stopped"), 500))
    explanations = {"physical": _l("Physical: other complaints or explanation"),
                    "psychological": _l("Psychological: other complaints or explanation"),
                    "social": _l("Social: other complaints or explanation"),
                    "spiritual": _l("Spiritual: other complaints or explanation")}
    dimension_fields: list[FieldSpec] = []
    for dimension, label in DIMENSIONS:
        dimension_fields.append(FieldSpec(f"{dimension}_items", "items", label, choices=COMPLAINT_ITEMS[dimension]))
        dimension_fields.append(_textarea(f"{dimension}_text", explanations[dimension]))
    medical = frozenset({DisciplineGroup.MEDICAL, DisciplineGroup.NURSING})

    specs = (
        SectionSpec(SectionKey.STORY, ConsentPart.INTAKE, _l("The patient's story"), None, (
            _textarea("story", _l("The patient's story, in their own words"), 50_000),
            _textarea("sharing_wishes", _l("What the patient does and does not want shared")))),
        SectionSpec(SectionKey.DIAGNOSIS, ConsentPart.INTAKE, _l("Diagnosis and treatment goal"), medical, (
            FieldSpec("tumour_type", "choice", _l("Kind of cancer"), choices=TUMOUR_TYPES),
            _text("diagnosis", _l("Diagnosis")),
            FieldSpec("treatment_goal", "choice", _l("Main treatment goal"), choices=treatment_goals),
            FieldSpec("treatment_phase", "choice", _l("Treatment phase"), choices=PHASE_CHOICES),
            _textarea("history", _l("Relevant history")),
            _textarea("hospital_treatment_so_far", _l("Treatment in hospital so far")),
            _textarea("hospital_treatment_planned", _l("Treatment in hospital planned")))),
        SectionSpec(SectionKey.MEDICATION, ConsentPart.INTAKE, _l("Medication"), medical, (
            FieldSpec("rows", "rows", _l("Current medication"), row_fields=medication_row),
            FieldSpec("list_attached", "choice", _l("Medication overview attached"), choices=yes_no),
            _textarea("remarks", _l("Remarks")))),
        SectionSpec(SectionKey.WISHES, ConsentPart.INTAKE, _l("Treatment wishes and limits"), None, (
            yes_no_unknown("resuscitation", _l("Has the patient chosen not to be resuscitated?")),
            _textarea("resuscitation_text", _l("Explanation (resuscitation)"), 2000),
            yes_no_unknown("icu_admission", _l("Admission to intensive care")),
            yes_no_unknown("hospital_admission", _l("Admission to hospital")),
            yes_no_unknown("artificial_nutrition", _l("Artificial nutrition")),
            yes_no_unknown("euthanasia", _l("Has the patient asked for euthanasia?")),
            _textarea("euthanasia_text", _l("Explanation (euthanasia)"), 2000),
            yes_no_unknown("advance_directive", _l("Does the patient have an advance directive?")),
            _textarea("advance_directive_text",
                      _l("Explanation (advance directive, treatment wishes and limits)"), 2000),
            _text("preferred_place_of_care", _l("Preferred place of care")),
            _text("preferred_place_of_death", _l("Preferred place of death")),
            _text("representative", _l("Representative")),
            _textarea("values_and_goals", _l("What matters most to the patient: values and goals"), 2000))),
        SectionSpec(SectionKey.PROBLEMS, ConsentPart.INTAKE, _l("Problems and needs"), None, (
            _textarea("referral_question", _l("Referral question")),
            *dimension_fields,
            *(_text(domain, label, 2000) for domain, label in PRACTICAL_DOMAINS),
            _textarea("expected", _l("Expected problems")),
            _text("urgency", _l("Urgency")))),
        SectionSpec(SectionKey.DISTRESS, ConsentPart.PROMS, _l("Distress thermometer"), None, (
            FieldSpec("score", "score", _l("Distress thermometer score")),
            FieldSpec("problems", "items", _l("Problems"), choices=lastmeter),
            FieldSpec("measured_on", "date", _l("Measured on")),
            _textarea("remarks", _l("Remarks on the measurement"), 2000))),
        SectionSpec(SectionKey.PEOPLE, ConsentPart.INTAKE, _l("People involved"), None, (
            _text("gp", _l("GP")),
            _text("specialist", _l("Main treating specialist")),
            _text("hospital", _l("Hospital")),
            _text("case_manager", _l("Case manager")),
            _text("home_care", _l("Home care")),
            _text("central_care_provider", _l("Central care provider")),
            _textarea("informal_carers", _l("Partner, relatives and other informal carers")))),
        SectionSpec(SectionKey.CONTACT, ConsentPart.INTAKE, _l("Contact agreements"), None, (
            _textarea("agreements", _l("How contact is kept")),
            _text("preferred_language", _l("Preferred language")),
            _text("phone", _l("Phone")))),
        SectionSpec(SectionKey.CARE_PLAN, ConsentPart.INTAKE, _l("Care plan"), None, (
            _textarea("goals", _l("Goals and wishes")),
            _textarea("who_does_what", _l("Who does what")),
            # The individual care plan per dimension (palliative care: goals and actions, reviewed on a date).
            _textarea("plan_physical", _l("Physical: goals and actions"), 2000),
            _textarea("plan_psychological", _l("Psychological: goals and actions"), 2000),
            _textarea("plan_social", _l("Social: goals and actions"), 2000),
            _textarea("plan_spiritual", _l("Spiritual: goals and actions"), 2000),
            FieldSpec("next_evaluation_on", "date", _l("Next evaluation")))),
    )
    sections = {spec.key: spec for spec in specs}
    assert list(sections) == list(SectionKey), "SECTIONS follows SectionKey's order"
    assert all(spec.part is SECTION_PARTS[spec.key] for spec in specs)
    return sections


SECTIONS: dict[SectionKey, SectionSpec]  # built on first use, see the module docstring


def __getattr__(name: str) -> Any:
    if name == "SECTIONS":
        return _build_sections()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def section_spec(key: SectionKey | str) -> SectionSpec:
    """The definition of one section (SECTIONS[key], without touching SECTIONS at import time)."""
    return _build_sections()[SectionKey(key)]


def keys_for_parts(parts) -> frozenset[SectionKey]:
    """The section keys that belong to the given consent parts (e.g. the parts a consent covers)."""
    wanted = {ConsentPart(part) for part in parts}
    return frozenset(key for key, part in SECTION_PARTS.items() if part in wanted)


def _fk(column: str, table: str, name: str) -> ForeignKeyConstraint:
    """A composite foreign key (network_id, column) -> table(network_id, id): rows never cross networks."""
    return ForeignKeyConstraint(["network_id", column], [f"{table}.network_id", f"{table}.id"], name=name)


class RecordSection(NetworkScopedMixin, db.Model):
    """The current content of one section of a patient's record; every version in record_section_versions."""

    __tablename__ = "record_sections"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        UniqueConstraint("network_id", "patient_id", "key"),
        _fk("patient_id", "patients", "fk_record_sections_network_patient"),
        Index("ix_record_sections_network_id_patient_id", "network_id", "patient_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int]
    key: Mapped[SectionKey] = mapped_column(enum_type(SectionKey))
    version: Mapped[int] = mapped_column(default=1)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: written by the migration

    @property
    def spec(self) -> SectionSpec:
        return section_spec(self.key)

    @property
    def part(self) -> ConsentPart:
        return SECTION_PARTS[self.key]


class RecordSectionVersion(NetworkScopedMixin, db.Model):
    """One version of a section, never changed: what it said, who wrote it when, why and from where."""

    __tablename__ = "record_section_versions"
    __table_args__ = (
        UniqueConstraint("network_id", "section_id", "version"),
        _fk("section_id", "record_sections", "fk_record_section_versions_network_section"),
        _fk("patient_id", "patients", "fk_record_section_versions_network_patient"),
        _fk("referral_id", "referrals", "fk_record_section_versions_network_referral"),
        _fk("intake_id", "intakes", "fk_record_section_versions_network_intake"),
        _fk("case_id", "cases", "fk_record_section_versions_network_case"),
        Index("ix_record_section_versions_network_id_patient_id_key_version", "network_id", "patient_id", "key",
              "version"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int]
    patient_id: Mapped[int]
    key: Mapped[SectionKey] = mapped_column(enum_type(SectionKey))
    version: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    written_at: Mapped[datetime]
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: written by the migration
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[RecordSource] = mapped_column(enum_type(RecordSource))
    referral_id: Mapped[int | None]
    intake_id: Mapped[int | None]
    case_id: Mapped[int | None]

