"""One patient, one story: finding the patients a network knows twice, the coordinator's decision on a
referral's match (link it to the known patient, or confirm it is someone else) and merging two records of
one person. Nothing merges without a person: every function here is called from a coordinator's POST.

Services flush and audit; the request boundary commits.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from app.auth.models import User
from app.cases.models import Case, Consent, Intake
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.extensions import db
from app.patients.models import Patient, PatientQuestionnaire, PortalAccount, PortalMessage
from app.records import mapping
from app.records.models import RecordSection, RecordSectionVersion, RecordSource
from app.referrals.models import MatchDecision, Referral

# The rows that belong to a patient and follow it when two records are merged (the shared record's
# sections and versions are merged separately, section by section).
OWNED = (Referral, Intake, Case, Consent, PortalAccount, PatientQuestionnaire, PortalMessage)
# Identity fields the kept record takes from the duplicate when it has none itself.
IDENTITY_GAPS = ("bsn", "phone", "postcode")


class MatchError(Exception):
    """The decision or merge is refused; str() is the (lazy, translated when shown) message."""


def candidates_for(patient: Patient) -> list[Patient]:
    """Other patients of the current network who may be the same person: the same BSN, or the same
    name, date of birth and postcode (Patient.match_key). Merged-away records are never candidates.
    One query on the (network_id, bsn) and (network_id, match_key) indexes."""
    same = []
    if patient.bsn:
        same.append(Patient.bsn == patient.bsn)
    if patient.match_key:
        same.append(Patient.match_key == patient.match_key)
    if not same:
        return []
    return list(db.session.scalars(select(Patient).where(
        or_(*same), Patient.id != patient.id, Patient.merged_into_id.is_(None)).order_by(Patient.id)))


def _patient(patient_id: int | None) -> Patient | None:
    if patient_id is None:
        return None
    return db.session.scalar(select(Patient).where(Patient.id == patient_id))


def referral_matches(referral: Referral) -> list[Patient]:
    """The known patients the referral's patient may be, while no coordinator decided (else [])."""
    if referral.match_decision is not None:
        return []
    patient = _patient(referral.patient_id)
    if patient is None or patient.merged_into_id is not None:
        return []
    return candidates_for(patient)


def match_pending(referral: Referral) -> bool:
    """A coordinator must see the match (and decide) before the intake."""
    return bool(referral_matches(referral))


def _decide(referral: Referral, decision: MatchDecision, actor: User) -> None:
    referral.match_decision = decision
    referral.match_decided_at = utcnow()
    referral.match_decided_by_id = actor.id


def link_referral(referral: Referral, patient_id: int, actor: User) -> Patient:
    """The coordinator says: the referral's patient is known patient *patient_id*. The referral (and
    whatever was made for its patient: record sections, an intake draft) moves to that patient; the
    record made at submission is merged into it. Raises MatchError for a patient not among the matches."""
    target = next((p for p in referral_matches(referral) if p.id == patient_id), None)
    if target is None:
        raise MatchError(_l("Choose one of the patients shown as a possible match."))
    provisional = _patient(referral.patient_id)
    merge_patients(kept=target, duplicate=provisional, actor=actor, reason=f"referral {referral.number} linked")
    _decide(referral, MatchDecision.LINKED, actor)
    audit.record("referral.match_linked", AuditAction.UPDATE, user_id=actor.id, patient_id=target.id,
                 object_type="referral", object_id=referral.id, basis="coordinator",
                 reason=f"patient {provisional.id} is patient {target.id}")
    return target


def dismiss_matches(referral: Referral, actor: User) -> None:
    """The coordinator says: the referral's patient is none of the known patients shown. The matches are
    not shown again for this referral. Raises MatchError when there is nothing to decide."""
    shown = referral_matches(referral)
    if not shown:
        raise MatchError(_l("There is no possible match to decide on."))
    _decide(referral, MatchDecision.DISMISSED, actor)
    audit.record("referral.match_dismissed", AuditAction.UPDATE, user_id=actor.id, patient_id=referral.patient_id,
                 object_type="referral", object_id=referral.id, basis="coordinator",
                 reason="someone else than patient " + ", ".join(str(p.id) for p in shown))


# --- merging two records of one person ----------------------------------------------------------------

@dataclass(frozen=True)
class MergePreview:
    """What a merge moves from the duplicate to the kept patient (for the confirmation page)."""

    referrals: int
    intakes: int
    cases: int
    consents: int
    sections: int
    shared_sections: int


def merge_preview(kept: Patient, duplicate: Patient) -> MergePreview:
    counts = {model: db.session.scalar(select(func.count()).select_from(model)
                                       .where(model.patient_id == duplicate.id)) or 0 for model in OWNED}
    theirs = set(db.session.scalars(select(RecordSection.key).where(RecordSection.patient_id == duplicate.id)))
    ours = set(db.session.scalars(select(RecordSection.key).where(RecordSection.patient_id == kept.id)))
    return MergePreview(referrals=counts[Referral], intakes=counts[Intake], cases=counts[Case],
                        consents=counts[Consent], sections=len(theirs), shared_sections=len(theirs & ours))


def check_mergeable(kept: Patient, duplicate: Patient) -> None:
    if kept.id == duplicate.id or kept.network_id != duplicate.network_id:
        raise MatchError(_l("Choose two different patients of this network."))
    if kept.merged_into_id is not None or duplicate.merged_into_id is not None:
        raise MatchError(_l("One of these records has already been merged into another."))


def merge_patients(*, kept: Patient, duplicate: Patient, actor: User, reason: str = "") -> MergePreview:
    """Move everything of *duplicate* to *kept*: referrals, intakes, cases, consents and the shared record
    (a section only the duplicate has moves as it is; a section both have keeps its history, takes the
    duplicate's versions after its own and gets one merged version as current). Identity fields the kept
    record lacks are taken over. The duplicate's row stays, marked merged (the audit log names it), and
    holds nothing any more. Raises MatchError for the same patient or an already merged one."""
    check_mergeable(kept, duplicate)
    preview = merge_preview(kept, duplicate)
    db.session.flush()
    network_id = kept.network_id
    for model in OWNED:  # bulk updates name the network explicitly (the scope rewrites only SELECTs)
        db.session.execute(update(model).where(model.network_id == network_id, model.patient_id == duplicate.id)
                           .values(patient_id=kept.id).execution_options(synchronize_session="fetch"))
    # Records merged into the duplicate earlier now point at the kept one (no chains).
    db.session.execute(update(Patient).where(Patient.network_id == network_id, Patient.merged_into_id == duplicate.id)
                       .values(merged_into_id=kept.id).execution_options(synchronize_session="fetch"))
    _merge_record(kept, duplicate, actor)
    for name in IDENTITY_GAPS:
        if not getattr(kept, name) and getattr(duplicate, name):
            setattr(kept, name, getattr(duplicate, name))
    duplicate.merged_into_id = kept.id
    duplicate.merged_at = utcnow()
    db.session.flush()
    summary = (f"patient {duplicate.id} merged into {kept.id}: {preview.referrals} referrals, {preview.intakes} "
               f"intakes, {preview.cases} cases, {preview.consents} consents, {preview.sections} record sections "
               f"({preview.shared_sections} merged)")
    summary += f"; {reason}" if reason else ""
    for patient_id in (kept.id, duplicate.id):  # each patient's access log shows the merge
        audit.record("patient.merged", AuditAction.UPDATE, user_id=actor.id, patient_id=patient_id,
                     object_type="patient", object_id=kept.id, basis="coordinator", reason=summary)
    return preview


def _merge_record(kept: Patient, duplicate: Patient, actor: User) -> None:
    ours = {s.key: s for s in db.session.scalars(select(RecordSection).where(RecordSection.patient_id == kept.id))}
    theirs = list(db.session.scalars(select(RecordSection).where(RecordSection.patient_id == duplicate.id)
                                     .order_by(RecordSection.id)))
    for section in theirs:
        versions = list(db.session.scalars(select(RecordSectionVersion).where(
            RecordSectionVersion.section_id == section.id).order_by(RecordSectionVersion.version)))
        target = ours.get(section.key)
        if target is None:
            section.patient_id = kept.id
            for row in versions:
                row.patient_id = kept.id
            continue
        _append_history(target, section, versions, kept, duplicate, actor)
        db.session.flush()
        db.session.delete(section)
    db.session.flush()


def _append_history(target: RecordSection, section: RecordSection, versions: list[RecordSectionVersion],
                    kept: Patient, duplicate: Patient, actor: User) -> None:
    """The duplicate's versions follow the kept section's own (renumbered, nothing else changed), then one
    merged version becomes current: the later written content wins where it says something, the other
    fills the gaps."""
    for row in versions:
        target.version += 1
        row.section_id, row.patient_id, row.version = target.id, kept.id, target.version
    older, newer = ((target.content, section.content) if section.updated_at >= target.updated_at
                    else (section.content, target.content))
    content = mapping.normalise(target.key, mapping.merge(older, newer))
    now = utcnow()
    target.version += 1
    target.content, target.updated_at, target.updated_by_id = content, now, actor.id
    db.session.add(RecordSectionVersion(
        section_id=target.id, patient_id=kept.id, key=target.key, version=target.version, content=content,
        written_at=now, written_by_id=actor.id, reason=f"merged with the record of patient {duplicate.id}",
        source=RecordSource.COORDINATOR))
    audit.record("record.section_written", AuditAction.UPDATE, user_id=actor.id, patient_id=kept.id,
                 object_type="record_section", object_id=target.id, basis="coordinator",
                 reason=f"{target.key} v{target.version} (merge)")
