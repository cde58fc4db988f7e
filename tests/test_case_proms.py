"""The distress thermometer: recording through the route (with validation), the SVG trend chart, and
the reminder job: which cases are due, one mail to the central care provider, no mail when they lost
access or were reminded already, and no patient data in the mail (a real SMTP server, aiosmtpd)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from app.cases import jobs as prom_jobs
from app.cases import proms, services
from app.cases.models import Case, CaseStatus, ConsentPart, PromMeasurement
from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.jobs import Outbox, deliver_outbox, enqueue, run_inline_pending
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from tests.case_factories import add_to_team, give_consent, make_case
from tests.conftest import login_as, make_gp, make_member, make_network
from tests.test_jobs import ROOT

PATIENT_SECRETS = ("Wim", "Jansen", "111222333", "Kerkstraat", "diarree")


@pytest.fixture
def casus():
    zk = make_network("zk", name="Netwerk Zuid-Kennemerland", approved_at=utcnow())
    coordinator = make_member(zk, "coordinator@zk.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Carla Coordinator", locale="en")
    dietician = make_member(zk, "dietist@zk.nl", disciplines=("dietist",), name="Dirk Dietist", locale="en")
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow())
    case = make_case(zk, gp, coordinator)  # the referral's distress score 7 is the first measurement
    add_to_team(case, coordinator.user, dietician)
    return {"zk": zk, "case": case, "coordinator": coordinator, "dietician": dietician, "gp": gp}


def proms_url(casus, case_id=None):
    return f"/n/zk/cases/{case_id or casus['case'].id}/lastmeter"


def case_now(case_id: int, network_id: int) -> Case:
    db.session.rollback()
    with network_context(network_id):
        return db.session.get(Case, case_id, populate_existing=True)


def measurements(casus) -> list[PromMeasurement]:
    db.session.rollback()
    with network_context(casus["zk"].id):
        return list(db.session.scalars(select(PromMeasurement).order_by(PromMeasurement.id)))


# --- the page ------------------------------------------------------------------------------------

def test_record_a_measurement_and_see_it_in_the_chart(client, casus):
    login_as(client, casus["dietician"].user)
    html = client.get(proms_url(casus)).get_data(as_text=True)
    assert html.count('class="measurement"') == 1  # the score from the referral
    measured_on = date.today() - timedelta(days=1)
    response = client.post(proms_url(casus), data={"score": "3", "measured_on": measured_on.isoformat(),
                                                   "problems": ["fatigue", "partner"]})
    assert response.status_code == 303
    rows = measurements(casus)
    assert [(r.score, r.problems) for r in rows][-1] == (3, ["fatigue", "partner"])
    response = client.post(proms_url(casus), data={"score": "8", "measured_on": date.today().isoformat()})
    assert response.status_code == 303
    case = case_now(casus["case"].id, casus["zk"].id)
    assert case.next_prom_due_on == date.today() + timedelta(days=91)  # the service moves the next one on
    assert case.prom_reminded_at is None

    html = client.get(proms_url(casus)).get_data(as_text=True)
    svg = html[html.index("<svg"): html.index("</svg>") + 6]
    assert svg.count("<circle") == 3
    assert '<title>' in svg and '<desc id="prom-chart-desc">' in svg and 'aria-label="' in svg
    assert 'stroke-dasharray="6 4"' in svg  # the threshold 4
    assert "style=" not in svg  # the CSP forbids inline styles
    assert "<polyline" in svg
    assert "Fatigue, Dealing with your partner" in html  # the problem list, in the reader's language


@pytest.mark.parametrize("score, measured_on, problems", [
    ("11", 0, []),
    ("-1", 0, []),
    ("", 0, []),
    ("zes", 0, []),
    ("4", 1, []),  # tomorrow
    ("4", 0, ["not-a-problem"]),
])
def test_invalid_measurements_are_refused_and_the_form_kept(client, casus, score, measured_on, problems):
    login_as(client, casus["coordinator"].user)
    before = len(measurements(casus))
    response = client.post(proms_url(casus), data={
        "score": score, "measured_on": (date.today() + timedelta(days=measured_on)).isoformat(),
        "problems": problems})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error"' in html
    assert f'value="{score}"' in html  # what was typed stays
    assert len(measurements(casus)) == before


def test_a_member_without_the_proms_part_gets_404(client, casus):
    physio = make_member(casus["zk"], "fysio@zk.nl", disciplines=("fysiotherapeut",))
    add_to_team(casus["case"], casus["coordinator"].user, physio, parts={ConsentPart.INTAKE, ConsentPart.NOTES})
    login_as(client, physio.user)
    assert client.get(proms_url(casus)).status_code == 404
    assert client.post(proms_url(casus), data={"score": "5", "measured_on": date.today().isoformat()}
                       ).status_code == 404
    assert len(measurements(casus)) == 1


def test_chart_draws_one_point_per_measurement_with_the_threshold(app):
    rows = [PromMeasurement(id=i, measured_on=date(2026, 1, 1) + timedelta(days=30 * i), score=score, problems=[])
            for i, score in enumerate([8, 6, 4, 2, 2])]
    with app.test_request_context("/"):
        svg = str(proms.trend_chart_svg(rows))
        single = str(proms.trend_chart_svg(rows[:1]))
    assert svg.count("<circle") == 5 and single.count("<circle") == 1
    assert "<polyline" in svg and "<polyline" not in single
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys[0] < ys[1] < ys[2] < ys[3] == ys[4]  # a higher score is drawn higher
    threshold_y = float(re.search(r'<line x1="\d+" y1="([\d.]+)"[^>]*stroke-dasharray', svg).group(1))
    assert threshold_y == ys[2]  # the score 4 sits on the dashed line
    assert 'fill="#b3261e"' in svg  # scores of 4 or more stand out
    assert "style=" not in svg and "<script" not in svg


# --- the reminder ----------------------------------------------------------------------------------



def set_case(case_id: int, network_id: int, **values) -> None:
    with network_context(network_id):
        db.session.execute(update(Case).where(Case.id == case_id).values(**values))
        db.session.commit()


def remind(app) -> str:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["remind-proms"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def reminder_rows() -> list[Outbox]:
    db.session.rollback()
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == prom_jobs.JOB_KIND).order_by(Outbox.id)))


def test_enqueue_picks_exactly_the_due_active_cases(casus):
    zk, gp, coordinator = casus["zk"], casus["gp"], casus["coordinator"]
    due = casus["case"]
    not_due = make_case(zk, gp, coordinator, story="b")
    reminded = make_case(zk, gp, coordinator, story="c")
    closed = make_case(zk, gp, coordinator, story="d")
    due_today = make_case(zk, gp, coordinator, story="e")
    yesterday = date.today() - timedelta(days=1)
    set_case(due.id, zk.id, next_prom_due_on=yesterday)
    set_case(reminded.id, zk.id, next_prom_due_on=yesterday, prom_reminded_at=utcnow())
    set_case(closed.id, zk.id, next_prom_due_on=yesterday, status=CaseStatus.CLOSED)
    set_case(due_today.id, zk.id, next_prom_due_on=prom_jobs.local_today())
    # Another network with one due case.
    tw = make_network("tw", approved_at=utcnow())
    tw_coordinator = make_member(tw, "coordinator@tw.nl", role=Role.COORDINATOR)
    tw_case = make_case(tw, gp, tw_coordinator)
    set_case(tw_case.id, tw.id, next_prom_due_on=yesterday)
    assert case_now(not_due.id, zk.id).next_prom_due_on > date.today()

    assert prom_jobs.enqueue_prom_reminders() == [zk.id, tw.id]
    db.session.commit()
    rows = reminder_rows()
    assert [(r.network_id, r.payload) for r in rows] == [
        (zk.id, {"network_id": zk.id, "case_ids": [due.id, due_today.id]}),
        (tw.id, {"network_id": tw.id, "case_ids": [tw_case.id]})]
    # While those jobs wait, the next cron run queues nothing more.
    assert prom_jobs.enqueue_prom_reminders() == []


def test_the_job_mails_the_central_care_provider_once_without_patient_data(inline_app, smtp, casus):
    case = casus["case"]
    set_case(case.id, casus["zk"].id, next_prom_due_on=date.today() - timedelta(days=1))

    assert "queued 1 distress thermometer reminder(s)" in remind(inline_app)

    [row] = reminder_rows()
    assert row.status == "done"
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["coordinator@zk.nl"]  # the central care provider: the coordinator after the intake
    assert mail.subject == "Distress thermometer due in Netwerk Zuid-Kennemerland"
    assert "Hello Carla Coordinator," in mail.body
    assert f"http://localhost/n/zk/cases/{case.id}/lastmeter" in mail.body.split()
    text = "\n".join([mail.raw.decode("utf-8", "replace"), mail.subject, mail.body])
    for secret in PATIENT_SECRETS:
        assert secret not in text, secret
    for outbox in db.session.scalars(select(Outbox)):
        if outbox.kind == prom_jobs.JOB_KIND:
            assert set(outbox.payload) == {"network_id", "case_ids"}
    assert case_now(case.id, casus["zk"].id).prom_reminded_at is not None
    [audit_row] = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "case.prom_reminded")).all()
    assert (audit_row.object_type, audit_row.object_id, audit_row.patient_id) == ("case", case.id, case.patient_id)

    # Cron runs again the next day: reminded already, nothing is sent.
    assert "queued 0 distress thermometer reminder(s)" in remind(inline_app)
    assert len(smtp.messages) == 1

    # A new measurement moves the due date on and clears the mark; the next due date brings one new mail.
    with network_context(casus["zk"].id):
        services.record_prom(db.session.get(Case, case.id), casus["coordinator"].user, score=2, problems=[],
                             measured_on=date.today())
        db.session.commit()
    assert case_now(case.id, casus["zk"].id).prom_reminded_at is None
    assert "queued 0 distress thermometer reminder(s)" in remind(inline_app)
    assert len(smtp.messages) == 1


def test_one_mail_per_central_provider_for_several_cases(inline_app, smtp, casus):
    second = make_case(casus["zk"], casus["gp"], casus["coordinator"], story="tweede")
    for case in (casus["case"], second):
        set_case(case.id, casus["zk"].id, next_prom_due_on=date.today() - timedelta(days=2))
    remind(inline_app)
    [mail] = smtp.messages
    assert f"/cases/{casus['case'].id}/lastmeter" in mail.body and f"/cases/{second.id}/lastmeter" in mail.body


def make_dietician_central(casus) -> None:
    with network_context(casus["zk"].id):
        services.set_central(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                             db.session.get(Membership, casus["dietician"].id), "Vaste contactpersoon")
        db.session.commit()


def queue_reminder(casus) -> int:
    set_case(casus["case"].id, casus["zk"].id, next_prom_due_on=date.today() - timedelta(days=1))
    assert prom_jobs.enqueue_prom_reminders() == [casus["zk"].id]
    db.session.commit()
    [row] = reminder_rows()
    return row.id


def test_a_member_central_provider_is_mailed_while_consent_covers_them(inline_app, smtp, casus):
    make_dietician_central(casus)
    set_case(casus["case"].id, casus["zk"].id, next_prom_due_on=date.today() - timedelta(days=1))
    remind(inline_app)
    assert [m.rcpt_tos for m in smtp.messages] == [["dietist@zk.nl"]]


def test_the_job_skips_when_the_central_provider_lost_access(inline_app, smtp, casus):
    make_dietician_central(casus)
    row_id = queue_reminder(casus)
    # Between queueing and running, the patient withdraws the consent that covers the dietician.
    with network_context(casus["zk"].id):
        for consent in services.consents_of(db.session.get(Case, casus["case"].id)):
            services.withdraw_consent(consent, casus["coordinator"].user, "Patiënt wil dit niet meer")
        db.session.commit()

    with inline_app.app_context():
        deliver_outbox(row_id)
        run_inline_pending()

    assert smtp.messages == []
    assert [r.status for r in reminder_rows()] == ["done"]
    assert case_now(casus["case"].id, casus["zk"].id).prom_reminded_at is None
    # And the next cron run does not queue it for them either.
    assert prom_jobs.enqueue_prom_reminders() == []


def test_the_job_skips_a_deactivated_central_provider(inline_app, smtp, casus):
    make_dietician_central(casus)
    row_id = queue_reminder(casus)
    with network_context(casus["zk"].id):
        db.session.get(Membership, casus["dietician"].id).deactivate()
        db.session.commit()
    with inline_app.app_context():
        deliver_outbox(row_id)
        run_inline_pending()
    assert smtp.messages == []


def test_the_job_skips_a_case_reminded_already_and_runs_twice_as_once(inline_app, smtp, casus):
    first = queue_reminder(casus)
    second = enqueue(prom_jobs.JOB_KIND, {"network_id": casus["zk"].id, "case_ids": [casus["case"].id]},
                     network_id=casus["zk"].id)
    db.session.commit()
    second_id = second.id
    with inline_app.app_context():
        deliver_outbox(first)
        run_inline_pending()
        deliver_outbox(second_id)
        run_inline_pending()
    assert len(smtp.messages) == 1
    assert [r.status for r in reminder_rows()] == ["done", "done"]


def test_the_job_skips_a_case_measured_in_between(inline_app, smtp, casus):
    row_id = queue_reminder(casus)
    with network_context(casus["zk"].id):
        services.record_prom(db.session.get(Case, casus["case"].id), casus["coordinator"].user, score=1,
                             problems=[], measured_on=date.today())
        db.session.commit()
    with inline_app.app_context():
        deliver_outbox(row_id)
        run_inline_pending()
    assert smtp.messages == []


def test_the_job_refuses_to_run_for_another_network(app, casus):
    tw = make_network("tw")
    row = enqueue(prom_jobs.JOB_KIND, {"network_id": casus["zk"].id, "case_ids": [casus["case"].id]},
                  network_id=tw.id)
    db.session.commit()
    with pytest.raises(ValueError, match="own network"):
        deliver_outbox(row.id)


def test_a_consent_without_the_proms_part_means_no_reminder(casus):
    """The reminder links to the measurements page: a central provider who may not open it is not mailed."""
    physio = make_member(casus["zk"], "fysio@zk.nl", disciplines=("fysiotherapeut",))
    add_to_team(casus["case"], casus["coordinator"].user, physio, parts={ConsentPart.INTAKE})
    with network_context(casus["zk"].id):
        services.set_central(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                             db.session.get(Membership, physio.id))
        db.session.commit()
    set_case(casus["case"].id, casus["zk"].id, next_prom_due_on=date.today() - timedelta(days=1))
    assert prom_jobs.enqueue_prom_reminders() == []
    give_consent(casus["case"], casus["coordinator"].user, physio, parts={ConsentPart.PROMS})
    assert prom_jobs.enqueue_prom_reminders() == [casus["zk"].id]
    db.session.rollback()


def test_reminder_job_and_command_are_known_to_a_freshly_started_app():
    """The worker and cron build the app with create_app(); the handler and the command exist by then."""
    code = ("from app.core import jobs\n"
            "assert 'prom_reminder' not in jobs._handlers\n"
            "from app import create_app\n"
            "app = create_app()\n"
            "assert 'remind-proms' in app.cli.commands\n"
            "print(sorted(jobs._handlers))\n")
    env = {**os.environ, "APP_ENV": "testing"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "'prom_reminder'" in result.stdout
