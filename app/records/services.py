"""Writing and reading the shared record. Services flush and audit; the caller commits.

No function here decides who may read what: callers pass the section keys the access door allows
(keys_for_parts turns the consent parts a viewer is granted into keys).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.extensions import db
from app.records import mapping
from app.records.models import (
    SECTION_PARTS,
    ConsentPart,
    RecordSection,
    RecordSectionVersion,
    RecordSource,
    SectionKey,
    SectionSpec,
    keys_for_parts,
    section_spec,
)
from app.referrals.services import referral_submitted

__all__ = ["StaleSection", "changed_since", "content_from_intake", "content_from_referral", "history", "intake_facts",
           "keys_for_parts", "part_of", "referral_facts", "section_spec", "sections_for_viewer", "sections_of",
           "seed_from_intake", "seed_from_referral", "version", "write_section"]

REFERRAL_COLUMNS = (
    "id", "number", "patient_id", "submitted_at", "phone", "preferred_language", "relative_name",
    "relative_relation", "relative_phone", "tumour_type", "hospital", "specialist", "treatment_phase",
    "treatment_goal", "history", "medication_list_attached", "resuscitation", "resuscitation_text", "euthanasia",
    "euthanasia_text", "advance_directive", "advance_directive_text", "question", "complaints", "distress_score",
    "urgency", "social_situation")
INTAKE_COLUMNS = ("id", "version", "patient_id", "held_on", "story", "sharing_wishes", "problems", "practical",
                  "distress_score", "distress_problems", "goals", "partner_situation")


class StaleSection(Exception):
    """The section was written by someone else after the writer loaded it."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"section is at version {current_version}")
        self.current_version = current_version


def _keys(keys: Iterable[SectionKey | str]) -> set[SectionKey]:
    return {SectionKey(key) for key in keys}


def write_section(patient_id: int, key: SectionKey | str, content: Mapping[str, Any], *, actor: User | None,
                  reason: str, source: RecordSource | str, referral_id: int | None = None,
                  intake_id: int | None = None, case_id: int | None = None,
                  expected_version: int | None = None) -> RecordSection | None:
    """Write the content of one section: version 1 when the section is new, else the next version. The
    content is normalised against the section's spec first (unknown keys dropped, lengths bounded; a bad
    score or date raises ValueError). Content equal to the current one (or empty for a new section)
    writes nothing and returns None. With *expected_version* (0: the section did not exist) a section
    changed by someone else since the writer loaded it raises StaleSection (the row is locked first)."""
    key, source = SectionKey(key), RecordSource(source)
    normal = mapping.normalise(key, content)
    section = db.session.scalar(
        select(RecordSection).where(RecordSection.patient_id == patient_id, RecordSection.key == key)
        .with_for_update(of=RecordSection).execution_options(populate_existing=True))
    current_version = section.version if section is not None else 0
    if expected_version is not None and expected_version != current_version:
        raise StaleSection(current_version)
    if normal == (section.content if section is not None else mapping.empty(key)):
        return None
    now = utcnow()
    actor_id = actor.id if actor is not None else None
    if section is None:
        section = RecordSection(patient_id=patient_id, key=key, version=1, content=normal, updated_at=now,
                                updated_by_id=actor_id)
        db.session.add(section)
    else:
        section.version += 1
        section.content = normal
        section.updated_at = now
        section.updated_by_id = actor_id
    db.session.flush()
    db.session.add(RecordSectionVersion(
        section_id=section.id, patient_id=patient_id, key=key, version=section.version, content=normal,
        written_at=now, written_by_id=actor_id, reason=(reason or "").strip(), source=source,
        referral_id=referral_id, intake_id=intake_id, case_id=case_id))
    db.session.flush()
    audit.record("record.section_written", AuditAction.UPDATE, user_id=actor_id, patient_id=patient_id,
                 object_type="record_section", object_id=section.id, basis=str(source),
                 reason=f"{key} v{section.version}")
    return section


def sections_of(patient_id: int, keys: Iterable[SectionKey | str]) -> dict[SectionKey, RecordSection]:
    """The current sections of a patient among *keys* (one query; missing sections are left out)."""
    wanted = _keys(keys)
    if not wanted:
        return {}
    rows = db.session.scalars(select(RecordSection).where(RecordSection.patient_id == patient_id,
                                                          RecordSection.key.in_(wanted)))
    return {row.key: row for row in rows}


def sections_for_viewer(patient_id: int, keys: Iterable[SectionKey | str]) -> list[tuple[SectionSpec,
                                                                                         RecordSection | None]]:
    """(spec, current section or None) for each of *keys*, in the record's order (one query)."""
    wanted = _keys(keys)
    found = sections_of(patient_id, wanted)
    return [(section_spec(key), found.get(key)) for key in SectionKey if key in wanted]


def history(patient_id: int, key: SectionKey | str) -> list[RecordSectionVersion]:
    """Every version of one section, newest first (one query)."""
    return list(db.session.scalars(
        select(RecordSectionVersion)
        .where(RecordSectionVersion.patient_id == patient_id, RecordSectionVersion.key == SectionKey(key))
        .order_by(RecordSectionVersion.version.desc())))


def version(patient_id: int, key: SectionKey | str, number: int) -> RecordSectionVersion | None:
    return db.session.scalar(select(RecordSectionVersion).where(
        RecordSectionVersion.patient_id == patient_id, RecordSectionVersion.key == SectionKey(key),
        RecordSectionVersion.version == number))


def changed_since(patient_id: int, keys: Iterable[SectionKey | str], since: datetime | None) -> set[SectionKey]:
    """The sections among *keys* written after *since* (every existing one when *since* is None)."""
    wanted = _keys(keys)
    if not wanted:
        return set()
    statement = select(RecordSection.key).where(RecordSection.patient_id == patient_id,
                                                RecordSection.key.in_(wanted))
    if since is not None:
        statement = statement.where(RecordSection.updated_at > since)
    return set(db.session.scalars(statement))


# --- from the referral and the intake --------------------------------------------------------------------

def referral_facts(referral) -> dict[str, Any]:
    """A Referral as the plain mapping app.records.mapping reads."""
    facts = mapping.as_mapping(referral, REFERRAL_COLUMNS)
    facts["medications"] = [{"name": row.name, "dose": row.dose, "since": row.since} for row in referral.medications]
    profile = referral.gp_profile
    facts["gp"] = {"name": profile.user.full_name, "practice_name": profile.practice_name, "city": profile.city,
                   "phone": profile.phone} if profile is not None else {}
    return facts


def intake_facts(intake) -> dict[str, Any]:
    """An Intake as the plain mapping app.records.mapping reads."""
    return mapping.as_mapping(intake, INTAKE_COLUMNS)


def content_from_referral(referral) -> dict[SectionKey, dict[str, Any]]:
    """What a referral (a Referral or its plain mapping) puts in the record, per section."""
    return mapping.referral_content(referral if isinstance(referral, Mapping) else referral_facts(referral))


def content_from_intake(intake, current: Mapping[SectionKey, Mapping[str, Any]] | None = None
                        ) -> dict[SectionKey, dict[str, Any]]:
    """What a completed intake (an Intake or its plain mapping) puts in the record, merged over the current
    content of those sections (read from the database unless *current* is given)."""
    facts = intake if isinstance(intake, Mapping) else intake_facts(intake)
    if current is None:
        current = {key: section.content for key, section in sections_of(facts["patient_id"], SectionKey).items()}
    return mapping.intake_content(facts, current)


def seed_from_referral(referral, actor: User | None) -> list[RecordSection]:
    """Write what a submitted referral says into its patient's record (source referral); returns the
    sections that changed."""
    written = []
    for key, content in content_from_referral(referral).items():
        section = write_section(referral.patient_id, key, content, actor=actor,
                                reason=f"referral {referral.number or referral.id}", source=RecordSource.REFERRAL,
                                referral_id=referral.id)
        if section is not None:
            written.append(section)
    return written


def seed_from_intake(intake, actor: User | None, *, case_id: int | None = None) -> list[RecordSection]:
    """Write a completed intake into its patient's record, merged over what is there (source intake)."""
    written = []
    for key, content in content_from_intake(intake).items():
        section = write_section(intake.patient_id, key, content, actor=actor, reason=f"intake v{intake.version}",
                                source=RecordSource.INTAKE, referral_id=intake.referral_id, intake_id=intake.id,
                                case_id=case_id)
        if section is not None:
            written.append(section)
    return written


@referral_submitted.connect
def _seed_submitted_referral(referral, *, actor: User) -> None:
    """The record takes in every submitted referral (app.referrals sends; records sits above it)."""
    seed_from_referral(referral, actor)


def part_of(key: SectionKey | str) -> ConsentPart:
    """The consent part a section belongs to."""
    return SECTION_PARTS[SectionKey(key)]
