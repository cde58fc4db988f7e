"""The case on a multidisciplinary meeting (MDO / PaTz): put on the agenda of a network meeting, the GP asked for
input beforehand in the GP portal, the conclusion recorded, and the report to the GP drafted from it (its norm is
app.norms': the MDO report within N working days of the meeting).

Services flush, the caller commits. The views load the case through the one door first (the team side) or the
referral through referral_for_referrer (the GP side).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.cases import services as case_services
from app.cases.models import Case, CaseEventKind, LetterKind
from app.cases.services import letters as letter_services
from app.core import audit
from app.core.audit import AuditAction
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.mail import absolute_url, queue_mail
from app.extensions import db
from app.meetings.models import Meeting, MeetingKind
from app.networks.models import Network
from app.palliative.models import MdoDiscussion
from app.palliative.services import PalliativeRuleBroken, _require_open
from app.referrals.models import Referral

AGENDA_KINDS = (MeetingKind.MDO, MeetingKind.PATZ)
UPCOMING_LIMIT = 50
DISCUSSIONS_LIMIT = 50


def upcoming_meetings(today: date | None = None) -> list[Meeting]:
    """The network's MDO and PaTz meetings from today on, soonest first (the agenda a case can go on)."""
    today = today or local_today()
    return list(db.session.scalars(select(Meeting).where(Meeting.kind.in_(AGENDA_KINDS), Meeting.held_on >= today)
                                   .order_by(Meeting.held_on, Meeting.id).limit(UPCOMING_LIMIT)))


def discussions_of(case: Case) -> list[tuple[MdoDiscussion, Meeting]]:
    """The case's meetings, newest meeting first."""
    return list(db.session.execute(
        select(MdoDiscussion, Meeting).join(Meeting, (Meeting.id == MdoDiscussion.meeting_id)
                                            & (Meeting.network_id == MdoDiscussion.network_id))
        .where(MdoDiscussion.case_id == case.id)
        .order_by(Meeting.held_on.desc(), MdoDiscussion.id.desc()).limit(DISCUSSIONS_LIMIT)).tuples())


def get_discussion(case: Case, discussion_id: int) -> tuple[MdoDiscussion, Meeting] | None:
    return db.session.execute(
        select(MdoDiscussion, Meeting).join(Meeting, (Meeting.id == MdoDiscussion.meeting_id)
                                            & (Meeting.network_id == MdoDiscussion.network_id))
        .where(MdoDiscussion.id == discussion_id, MdoDiscussion.case_id == case.id)).tuples().first()


def _gp_of(case: Case) -> tuple[Referral | None, User | None]:
    referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
    gp = referral.gp_profile.user if referral is not None and referral.gp_profile is not None else None
    return referral, gp


def _audit(event: str, action: AuditAction, case: Case, actor: User, discussion: MdoDiscussion, *,
           basis: str = "", reason: str = "") -> None:
    audit.record(event, action, patient_id=case.patient_id, object_type="mdo_discussion", object_id=discussion.id,
                 user_id=actor.id, basis=basis, reason=reason)


def plan_discussion(case: Case, actor: User, meeting: Meeting, *, question: str, ask_gp: bool) -> MdoDiscussion:
    """Put the case on *meeting*'s agenda; with *ask_gp*, the GP is asked (a mail with a link only) for input."""
    _require_open(case)
    if meeting.kind not in AGENDA_KINDS or meeting.held_on < local_today():
        raise PalliativeRuleBroken(str(_l("Choose a multidisciplinary or PaTz meeting that is still to come.")))
    if db.session.scalar(select(MdoDiscussion.id).where(MdoDiscussion.case_id == case.id,
                                                        MdoDiscussion.meeting_id == meeting.id)) is not None:
        raise PalliativeRuleBroken(str(_l("The case is on this meeting's agenda already.")))
    referral, gp = _gp_of(case)
    row = MdoDiscussion(network_id=case.network_id, case_id=case.id, meeting_id=meeting.id,
                        question=(question or "").strip()[:2000], added_at=utcnow(), added_by_id=actor.id,
                        gp_asked=bool(ask_gp and gp is not None and gp.active))
    db.session.add(row)
    db.session.flush()
    case_services.add_event(case, actor, CaseEventKind.MDO_PLANNED, meeting.held_on.isoformat())
    _audit("mdo.planned", AuditAction.CREATE, case, actor, row, reason=f"meeting {meeting.id}")
    if row.gp_asked:
        network = db.session.get(Network, case.network_id)
        subject = _l("Your input is asked on referral %(number)s", number=referral.number)
        queue_mail(to=gp.email, template="referral_update", subject=subject, headline=subject,
                   locale=gp.locale or "nl", network_id=network.id, user=gp, number=referral.number,
                   network=network, link=absolute_url("gp_portal.detail", referral_id=referral.id, _anchor="mdo"))
    return row


def give_gp_input(case: Case, gp: User, discussion: MdoDiscussion, *, home_situation: str,
                  patient_wishes: str) -> None:
    """The GP's input before the meeting (again: replaces it); closed once the conclusion is recorded."""
    if discussion.concluded_at is not None or not discussion.gp_asked:
        raise PalliativeRuleBroken(str(_l("The meeting has concluded; your input can no longer be added.")))
    home, wishes = (home_situation or "").strip()[:4000], (patient_wishes or "").strip()[:4000]
    if not (home or wishes):
        raise PalliativeRuleBroken(str(_l("Write how the patient is doing at home or what the patient wants.")))
    discussion.gp_home_situation, discussion.gp_patient_wishes = home, wishes
    discussion.gp_input_at, discussion.gp_input_by_id = utcnow(), gp.id
    db.session.flush()
    _audit("mdo.gp_input", AuditAction.UPDATE, case, gp, discussion, basis="referrer")
    central = case.central
    if central is not None and central.user.active:
        network = db.session.get(Network, case.network_id)
        user = central.user
        queue_mail(to=user.email, template="palliative_news", subject=_l("A case of yours has news"),
                   locale=user.locale or network.default_locale or "nl", network_id=network.id, user=user,
                   link=absolute_url("palliative.path", network_slug=network.slug, case_id=case.id, _anchor="mdo"),
                   recheck=("membership", {"membership_id": central.id}))


def conclude(case: Case, actor: User, discussion: MdoDiscussion, meeting: Meeting, *, conclusion: str):
    """Record the meeting's conclusion and draft the report to the GP from it (sent by the coordinator or the central
    care provider from the letters page, within the norm)."""
    _require_open(case)
    if discussion.concluded_at is not None:
        raise PalliativeRuleBroken(str(_l("The conclusion of this meeting is recorded already.")))
    if meeting.held_on > local_today():
        raise PalliativeRuleBroken(str(_l("The meeting has not been held yet.")))
    text = (conclusion or "").strip()[:4000]
    if not text:
        raise PalliativeRuleBroken(str(_l("Write the conclusion.")))
    discussion.conclusion, discussion.concluded_at, discussion.concluded_by_id = text, utcnow(), actor.id
    db.session.flush()
    case_services.add_event(case, actor, CaseEventKind.MDO_CONCLUDED, meeting.held_on.isoformat())
    letter = letter_services.draft_letter(case, actor, kind=LetterKind.MDO.value,
                                          extra={"discussion": discussion, "meeting": meeting})
    discussion.letter_id = letter.id
    db.session.flush()
    _audit("mdo.concluded", AuditAction.UPDATE, case, actor, discussion, reason=f"letter {letter.id}")
    return letter


def gp_discussions(case: Case) -> list[dict[str, Any]]:
    """What the referring GP sees: the meetings they were asked to give input for (date, kind, the team's question,
    their own input, whether it concluded). The conclusion reaches them in the report letter."""
    return [{"id": d.id, "held_on": m.held_on, "kind_label": m.kind.label, "question": d.question,
             "home_situation": d.gp_home_situation, "patient_wishes": d.gp_patient_wishes,
             "input_at": d.gp_input_at, "open": d.concluded_at is None}
            for d, m in discussions_of(case) if d.gp_asked]
