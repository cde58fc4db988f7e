"""Rows of app.patient_portal for the walks and tests: the patient's own account on a case, a relative granted the
care plan, a questionnaire, a message, and a proposal waiting for the patient's yes. Text columns carry *canary*."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.cases import services as case_services
from app.cases.models import Case
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership
from app.patient_portal import services
from app.records.models import SectionKey
from app.referrals.models import Referral
from tests.conftest import make_member, make_user


def make_portal_world(network, coordinator, case, *, canary: str = "", tag: str = "") -> dict:
    """Returns ids by kind, and the users under "patient_user" and "relative_user"."""
    tag = tag or str(network.id)
    patient_user = make_user(f"patient-{tag}@example.nl", name=f"Patiënt {canary}")
    relative_user = make_user(f"naaste-{tag}@example.nl", name=f"Naaste {canary}")
    other_relative = make_user(f"naaste2-{tag}@example.nl", name=f"Tweede naaste {canary}")
    sexologist = make_member(network, f"seksuoloog-{tag}@example.nl", name=f"Seksuoloog {canary}",
                             disciplines=("seksuoloog",))
    with network_context(network.id):
        live = db.session.get(Case, case.id)
        referral = db.session.scalar(select(Referral).where(Referral.id == live.referral_id))
        account = services.invite_patient(referral, coordinator.user, email=patient_user.email,
                                          full_name=patient_user.full_name, locale="nl")
        relative = services.invite_relative(account, email=relative_user.email, full_name=relative_user.full_name,
                                            relation="partner", sections=[SectionKey.CARE_PLAN], locale="nl")
        second = services.invite_relative(account, email=other_relative.email, full_name=other_relative.full_name,
                                          relation="zoon", sections=[SectionKey.CARE_PLAN], locale="nl")
        questionnaire = services.submit_questionnaire(account, score=7, problems=["fatigue"],
                                                      remark=f"Opmerking {canary}")
        message = services.add_message(referral, db.session.get(User, patient_user.id), f"Bericht {canary}",
                                       from_patient=True)
        waiting = case_services.propose_member(live, coordinator.user, db.session.get(Membership, sexologist.id),
                                               reason=f"Intimiteit {canary}", wait_for_patient=True)
        db.session.commit()
        ids = {"portal_account": account.id, "relative_account": relative.id, "second_relative": second.id,
               "patient_questionnaire": questionnaire.id, "portal_message": message.id,
               "waiting_proposal": waiting.id}
    return {**ids, "patient_user": patient_user, "relative_user": relative_user, "sexologist": sexologist}
