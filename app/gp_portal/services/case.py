"""What the referring GP sees of the case behind their referral: status, the central care provider,
the key moments, the sent letters and the question thread. Never note contents, never the intake.

The GP is not a member of the network. The only door is
`app.referrals.services.referral_for_referrer(current_user, referral_id)`; everything here runs
inside `with referral_services.in_network(referral):` (the referral's network is the tenant). Which
case events a GP may see is the case domain's rule (`app.cases.services.timeline(case, gp_only=True)`).
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases import services
from app.cases.models import (
    CareTeamMember,
    Case,
    CaseEvent,
    CaseEventKind,
    CentralProviderChange,
    Letter,
    LetterKind,
)
from app.core import audit
from app.core.audit import AuditAction
from app.core.i18n import current_locale
from app.extensions import db
from app.networks.models import Membership, Network
from app.palliative import mdo as mdo_services
from app.palliative import services as palliative_services
from app.referrals.models import Referral

MOMENT_LABELS = {
    CaseEventKind.OPENED: _l("Intake done; care in the network started"),
    CaseEventKind.MEMBER_JOINED: _l("Care provider added to the care team"),
    CaseEventKind.CENTRAL_CHANGED: _l("Central care provider"),
    CaseEventKind.LETTER_SENT: _l("Letter sent to you"),
    CaseEventKind.CLOSED: _l("Care in the network ended"),
    CaseEventKind.PALLIATIVE_MARKED: _l("The palliative phase is marked"),
    CaseEventKind.MDO_PLANNED: _l("Your patient is on the agenda of a multidisciplinary meeting"),
    CaseEventKind.MDO_CONCLUDED: _l("The multidisciplinary meeting discussed your patient"),
}


def case_of_referral(referral: Referral) -> Case | None:
    """The case opened from *referral* (call inside the referral's network)."""
    return services.case_for_referral(referral.id)


def sent_letters(case: Case) -> list[Letter]:
    return list(db.session.scalars(select(Letter).where(Letter.case_id == case.id, Letter.sent_at.is_not(None))
                                   .order_by(Letter.sent_at, Letter.id)))


def sent_letter(case: Case, letter_id: int) -> Letter | None:
    """A SENT letter of *case*; None for a draft, another case's letter or an unknown id."""
    return db.session.scalar(select(Letter).where(Letter.id == letter_id, Letter.case_id == case.id,
                                                  Letter.sent_at.is_not(None)))


def _disciplines(membership: Membership | None, locale: str) -> str:
    if membership is None:
        return ""
    return ", ".join(d.name(locale) for d in membership.disciplines)


def _provider(membership: Membership | None, locale: str) -> dict[str, Any] | None:
    """Name, disciplines and the practice's contact details the member made public."""
    if membership is None:
        return None
    return {"name": membership.user.full_name, "discipline": _disciplines(membership, locale),
            "practice": membership.practice_name, "city": membership.city,
            "phone": membership.phone if membership.phone_is_public else ""}


def _closest(rows: list, at, attribute: str):
    """The row whose *attribute* time is closest to *at* (ties: the lowest id); None for no rows."""
    dated = [row for row in rows if getattr(row, attribute) is not None]
    if not dated:
        return None
    return min(dated, key=lambda row: (abs((getattr(row, attribute) - at).total_seconds()), row.id))


def _moments(case: Case, locale: str) -> list[dict[str, Any]]:
    """The GP-visible timeline. Added members show their discipline only (never a name, never the
    free-text role); the central provider shows name and discipline (the GP's contact)."""
    events: list[CaseEvent] = services.timeline(case, gp_only=True)
    joined = [row for row in services.team(case) if row.accepted_at is not None]
    changes = list(services.central_history(case))
    memberships = {m.id: m for m in db.session.scalars(select(Membership).where(
        Membership.id.in_({row.membership_id for row in joined} | {c.membership_id for c in changes})))}
    unused_joined: list[CareTeamMember] = list(joined)
    unused_changes: list[CentralProviderChange] = list(changes)
    moments = []
    for event in events:
        detail = ""
        if event.kind is CaseEventKind.MEMBER_JOINED:
            # Each acceptance writes its event in the same call: the closest acceptance time is its row.
            row = _closest(unused_joined, event.occurred_at, "accepted_at")
            if row is not None:
                unused_joined.remove(row)
                detail = _disciplines(memberships.get(row.membership_id), locale)
            detail = detail or str(_l("a care provider"))
        elif event.kind is CaseEventKind.CENTRAL_CHANGED:
            change = _closest(unused_changes, event.occurred_at, "changed_at")
            if change is not None:
                unused_changes.remove(change)
                provider = _provider(memberships.get(change.membership_id), locale)
                if provider is not None:
                    detail = provider["name"] + (f" ({provider['discipline']})" if provider["discipline"] else "")
        elif event.kind is CaseEventKind.LETTER_SENT:
            detail = LetterKind(event.detail).label if event.detail in LetterKind._value2member_map_ else ""
        moments.append({"at": event.occurred_at, "kind": event.kind.value, "label": str(MOMENT_LABELS[event.kind]),
                        "detail": detail})
    return moments


def gp_case_summary(referral: Referral, *, log_read: bool = True) -> dict[str, Any] | None:
    """The GP's view of the case behind *referral*, or None when no case was opened (yet).

    Call inside `referral_services.in_network(referral)`, after the referral came from
    `referral_for_referrer(current_user, ...)`. Writes a NEN 7513 read row (basis "referrer") unless
    *log_read* is False; the caller commits.
    """
    case = case_of_referral(referral)
    if case is None:
        return None
    locale = current_locale()
    network = db.session.get(Network, case.network_id)
    letters = sent_letters(case)
    summary = {
        "referral_id": referral.id,
        "status": case.status.value,
        "status_label": case.status.label,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "central": _provider(case.central, locale),
        "network": {"name": network.name, "phone": network.contact_phone, "email": network.contact_email,
                    "slug": network.slug},
        "roles": palliative_services.gp_view(case),  # hospital roles, a central care provider outside the network
        "mdo": mdo_services.gp_discussions(case),  # the meetings the GP is asked to give input for
        "moments": _moments(case, locale),
        "letters": [{"id": letter.id, "kind": letter.kind.value, "label": letter.kind.label,
                     "sent_at": letter.sent_at, "pdf_ready": bool(letter.pdf_storage)} for letter in letters],
        "messages": [{"at": message.occurred_at, "from_gp": message.from_gp, "author": message.author.full_name,
                      "body": message.body} for message in services.case_messages(case)],
    }
    if log_read:
        audit.record("case.gp_summary_viewed", AuditAction.READ, patient_id=case.patient_id, object_type="case",
                     object_id=case.id, basis="referrer", network_id=case.network_id)
    return summary
