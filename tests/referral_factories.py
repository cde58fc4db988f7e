"""Factories for referrals: valid submitted referrals made through the real service, in any status."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.auth.models import User
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Discipline, Network
from app.referrals import services
from app.referrals.models import Referral, ReferralStatus
from app.referrals.services import Action, Side

VALID_FIELDS = {
    "given_name": "Wim", "family_name": "Jansen", "date_of_birth": date(1971, 3, 14), "sex": "male",
    "bsn": "111222333", "address": "Kerkstraat 1", "postcode": "2012 AB", "city": "Haarlem",
    "phone": "023 123 4567", "email": "", "preferred_language": "nl",
    "tumour_type": "colorectal", "hospital": "Spaarne Gasthuis", "specialist": "dr. De Boer",
    "treatment_phase": "after_treatment", "treatment_goal": "curative", "history": "Hemicolectomie 2026",
    "resuscitation": "unknown", "euthanasia": "unknown", "advance_directive": "unknown",
    "question": "Begeleiding bij diarree, vermoeidheid en seksuele klachten",
    "complaints": {"physical": {"items": ["fatigue", "bowel"], "text": "Diarree sinds de operatie"},
                   "psychological": {"items": [], "text": ""}, "social": {"items": [], "text": ""},
                   "spiritual": {"items": [], "text": ""}},
    "distress_score": 7, "urgency": "routine", "social_situation": "Woont samen met zijn vrouw",
}
MEDICATIONS = [{"name": "Loperamide", "dose": "2 mg zo nodig", "since": "2026"}]

# The actions (by the network unless noted) that bring a submitted referral to each status.
PATH = {
    ReferralStatus.SUBMITTED: [],
    ReferralStatus.ACKNOWLEDGED: [Action.ACKNOWLEDGE],
    ReferralStatus.INFO_REQUESTED: [Action.ACKNOWLEDGE, Action.REQUEST_INFO],
    ReferralStatus.ACCEPTED: [Action.ACKNOWLEDGE, Action.ACCEPT],
    ReferralStatus.INTAKE_PLANNED: [Action.ACKNOWLEDGE, Action.ACCEPT, Action.PLAN_INTAKE],
    # In care without an intake (the coordinator's decision, which opens the case); make_case in
    # tests/case_factories.py goes through the intake instead.
    ReferralStatus.IN_CARE: [Action.ACKNOWLEDGE, Action.ACCEPT, Action.PLAN_INTAKE, Action.CARE_WITHOUT_INTAKE],
    ReferralStatus.CLOSED: [Action.ACKNOWLEDGE, Action.ACCEPT, Action.PLAN_INTAKE, Action.CARE_WITHOUT_INTAKE,
                            Action.CLOSE],
    ReferralStatus.DECLINED: [Action.DECLINE],
    ReferralStatus.FORWARDED: [Action.FORWARD],
    ReferralStatus.WITHDRAWN: [Action.WITHDRAW],
}


def make_referral(network: Network, gp: User, *, status: ReferralStatus = ReferralStatus.SUBMITTED,
                  coordinator: User | None = None, typed_by: User | None = None, key: str | None = None,
                  forward_to: Network | None = None, disciplines: tuple[str, ...] = ("dietist",),
                  **fields) -> Referral:
    """A referral submitted by *gp* (or *typed_by*, a practice nurse, on the GP's behalf), then moved to *status*."""
    typist = typed_by or gp
    with network_context(network.id):
        discipline_ids = list(db.session.scalars(select(Discipline.id).where(Discipline.code.in_(disciplines))))
        if status is ReferralStatus.DRAFT:
            referral = services.save_draft(user=typist, gp_profile=gp.gp_profile,
                                           submission_key=key or services.new_submission_key(),
                                           form_data={"given_name": fields.get("given_name", "Wim")})
            db.session.commit()
            return referral
        referral, _ = services.submit(user=typist, gp_profile=gp.gp_profile,
                                      submission_key=key or services.new_submission_key(),
                                      fields={**VALID_FIELDS, **fields}, medications=MEDICATIONS,
                                      discipline_ids=discipline_ids)
        for action in PATH[status]:
            side = services.RULES[action].side
            actor = typist if side is Side.REFERRER else coordinator
            assert actor is not None, f"{action} needs a coordinator"
            services.transition(referral, action, actor=actor, side=side, text="Toelichting",
                                intake_on=date(2026, 12, 7) if action is Action.PLAN_INTAKE else None,
                                forward_to=forward_to)
        db.session.commit()
        referral_id = referral.id
    return db.session.scalar(select(Referral).where(Referral.id == referral_id).execution_options(all_networks=True))
