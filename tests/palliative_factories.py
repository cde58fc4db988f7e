"""Rows of app.palliative for the walks and tests: a hospital role and an outside central care provider on a
case, a line of the "who for what" directory, a palliative signal, the case on a coming MDO with the GP asked for
input (and, through the case's events, its norm clocks). Text columns carry *canary*."""
from __future__ import annotations

from datetime import timedelta

from app.cases.models import Case
from app.core.dates import local_today
from app.core.tenancy import network_context
from app.extensions import db
from app.meetings.models import Meeting, MeetingKind
from app.palliative import mdo, services
from app.palliative.models import ContactRole, HospitalRoleKind, OutsideProviderKind


def make_palliative_world(network, coordinator, case, *, canary: str = "") -> dict:
    with network_context(network.id):
        live = db.session.get(Case, case.id)
        role = services.set_hospital_role(live, coordinator.user, HospitalRoleKind.CASE_MANAGER,
                                          name=f"Casemanager {canary}", hospital="Spaarne Gasthuis")
        outside = services.set_outside_central(live, coordinator.user, OutsideProviderKind.OUTSIDE,
                                               name=f"Wijkverpleegkundige {canary}", organisation="Thuiszorg")
        contact = services.save_contact(network, None, coordinator.user, {
            "organisation": f"Ziekenhuis {canary}", "role": ContactRole.PALLIATIVE_TEAM, "tumour_type": "colon"})
        signal = services.record_signal(live, coordinator.user, indicators=["weight_loss"],
                                        remark=f"Signaal {canary}")
        meeting = Meeting(network_id=network.id, held_on=local_today() + timedelta(days=7), kind=MeetingKind.MDO,
                          title=f"MDO {canary}")
        db.session.add(meeting)
        db.session.flush()
        discussion = mdo.plan_discussion(live, coordinator.user, meeting, question=f"Vraag MDO {canary}",
                                         ask_gp=True)
        db.session.commit()
        return {"hospital_role": role.id, "outside_central": outside.id, "care_contact": contact.id,
                "palliative_signal": signal.id, "mdo_discussion": discussion.id, "mdo_meeting": meeting.id}
