"""Letters to the GP after the intake and at closing: generated from the data as an editable draft,
stored as PDF when sent (a job), and announced to the GP by a mail without patient data."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.auth.models import User
from app.cases.models import Case, CaseEvent, CaseEventKind, Letter, LetterKind
from app.cases.services._base import add_event, current_intake
from app.cases.services.team import team
from app.cases.services.work import proms_of
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.jobs import enqueue, job_handler
from app.core.mail import DigestLine, absolute_url, queue_mail
from app.core.pdf import html_to_pdf
from app.extensions import db
from app.networks.models import Network
from app.referrals.models import Referral


class LetterRuleBroken(Exception):
    """str() is the message for the user."""


def letters_of(case: Case) -> list[Letter]:
    return list(db.session.scalars(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)))


def get_letter(case: Case, letter_id: int) -> Letter | None:
    """Letter *letter_id* of *case* (draft or sent); None for another case's letter or an unknown id."""
    return db.session.scalar(select(Letter).where(Letter.id == letter_id, Letter.case_id == case.id))


def pdf_ready(letter: Letter) -> bool:
    """The PDF of a sent letter is stored (the letter_pdf job ran)."""
    return bool(letter.sent_at is not None and letter.pdf_storage)


def pdf_path(letter: Letter) -> Path | None:
    """The stored PDF file, or None while it is being made (or when the file is missing)."""
    if not pdf_ready(letter):
        return None
    path = letter.stored_file_path()
    return path if path.is_file() else None


def letter_context(case: Case) -> dict[str, Any]:
    """What the letter templates get: the case, its referral, the current intake, team, network, measurements."""
    return _context(case)


def _context(case: Case) -> dict[str, Any]:
    referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
    return {"case": case, "referral": referral, "intake": current_intake(case.referral_id),
            "team": team(case), "network": db.session.get(Network, case.network_id),
            "proms": proms_of(case)}


def draft_letter(case: Case, actor: User, *, kind: str, extra: dict[str, Any] | None = None) -> Letter:
    """Generate the letter text from the case data, in the GP's language; a draft until sent. *extra* is more for
    the template (the MDO report: the discussion)."""
    context = _context(case)
    gp = context["referral"].gp_profile.user
    with force_locale(gp.locale or "nl"):
        body = render_template(f"cases/letter_{kind}.txt", gp=gp, **context, **(extra or {}))
    letter = Letter(network_id=case.network_id, case_id=case.id, kind=LetterKind(kind), body=body.strip(),
                    created_by_id=actor.id)
    db.session.add(letter)
    db.session.flush()
    audit.record("letter.drafted", AuditAction.CREATE, patient_id=case.patient_id, object_type="letter",
                 object_id=letter.id, user_id=actor.id)
    return letter


# What a letter on a significant change reports (the norms between the care lines, domain.md section 5).
SIGNIFICANT_CHANGES = {CaseEventKind.PALLIATIVE_MARKED: _l("The palliative phase is marked"),
                       CaseEventKind.CENTRAL_CHANGED: _l("New central care provider"),
                       CaseEventKind.CENTRAL_OUTSIDE: _l("New central care provider"),
                       CaseEventKind.TREATMENT_STOPPED: _l("The treatment stopped")}
# A case has few changes: the letter lists at most this many.
CHANGES_LIMIT = 20


@dataclass(frozen=True)
class Change:
    occurred_at: datetime
    label: str
    detail: str


def significant_changes(case: Case) -> list[Change]:
    """The significant changes since the last letter sent to the GP (since the case opened when none was sent),
    oldest first; the first central care provider of a new case is not a change (the intake letter names it)."""
    last_sent = db.session.scalar(select(func.max(Letter.sent_at)).where(Letter.case_id == case.id,
                                                                         Letter.sent_at.is_not(None)))
    statement = (select(CaseEvent).where(CaseEvent.case_id == case.id,
                                         CaseEvent.kind.in_(list(SIGNIFICANT_CHANGES)))
                 .order_by(CaseEvent.id).limit(CHANGES_LIMIT + 1))
    if last_sent is not None:
        statement = statement.where(CaseEvent.occurred_at > last_sent)
    events = list(db.session.scalars(statement))
    if last_sent is None:  # skip the opening's central care provider
        first_central = next((e for e in events if e.kind is CaseEventKind.CENTRAL_CHANGED), None)
        events = [e for e in events if e is not first_central]
    return [Change(occurred_at=e.occurred_at, label=str(SIGNIFICANT_CHANGES[e.kind]),
                   detail="" if e.kind is CaseEventKind.PALLIATIVE_MARKED else e.detail)
            for e in events[:CHANGES_LIMIT]]


def draft_update_letter(case: Case, actor: User) -> Letter:
    """A letter on a significant change, listing the changes since the last letter; one draft at a time."""
    open_draft = db.session.scalar(select(Letter).where(Letter.case_id == case.id, Letter.kind == LetterKind.UPDATE,
                                                        Letter.sent_at.is_(None)).limit(1))
    if open_draft is not None:
        raise LetterRuleBroken(_l("A letter on a significant change is already a draft: send that one first."))
    return draft_letter(case, actor, kind=LetterKind.UPDATE.value, extra={"changes": significant_changes(case)})


def edit_letter(letter: Letter, actor: User, body: str) -> None:
    if letter.sent_at is not None:
        raise LetterRuleBroken(_l("A sent letter is not changed."))
    if not (body or "").strip():
        raise LetterRuleBroken(_l("The letter is empty."))
    letter.body = body.strip()
    audit.record("letter.edited", AuditAction.UPDATE, patient_id=_patient_id(letter), object_type="letter",
                 object_id=letter.id, user_id=actor.id)


def _patient_id(letter: Letter) -> int:
    return db.session.scalar(select(Case.patient_id).where(Case.id == letter.case_id))


def send_letter(letter: Letter, actor: User) -> None:
    """Mark sent, render the PDF in a job, tell the GP (the mail names only the referral number)."""
    if letter.sent_at is not None:
        raise LetterRuleBroken(_l("This letter was sent already."))
    letter.sent_at, letter.sent_by_id = utcnow(), actor.id
    case = db.session.scalar(select(Case).where(Case.id == letter.case_id))
    referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
    add_event(case, actor, CaseEventKind.LETTER_SENT, letter.kind.value)
    audit.record("letter.sent", AuditAction.UPDATE, patient_id=case.patient_id, object_type="letter",
                 object_id=letter.id, user_id=actor.id)
    enqueue("letter_pdf", {"letter_id": letter.id}, network_id=letter.network_id)
    network = db.session.get(Network, case.network_id)
    gp = referral.gp_profile.user
    if gp.active:
        link = absolute_url("gp_portal.detail", referral_id=referral.id)
        headline = _l("A letter about referral %(number)s is ready", number=referral.number)
        queue_mail(to=gp.email, template="referral_update", subject=headline, headline=headline,
                   locale=gp.locale or "nl", network_id=network.id, user=gp, number=referral.number,
                   network=network, link=link, digest=DigestLine(headline, link))


def letter_html(letter: Letter) -> str:
    case = db.session.scalar(select(Case).where(Case.id == letter.case_id))
    context = _context(case)
    return render_template("cases/letter_pdf.html", letter=letter, **context)


@job_handler("letter_pdf")
def render_letter_pdf(payload: dict[str, Any]) -> None:
    """Store the sent letter as PDF under UPLOAD_DIR/<network>/; idempotent (a stored PDF is kept)."""
    letter = db.session.get(Letter, int(payload["letter_id"]))
    if letter is None or letter.sent_at is None or letter.pdf_storage:
        return
    referral = db.session.scalar(select(Referral).join(Case, Case.referral_id == Referral.id)
                                 .where(Case.id == letter.case_id))
    with force_locale(referral.gp_profile.user.locale or "nl"):
        html = letter_html(letter)
    letter.store_file(html_to_pdf(html))
    db.session.flush()
