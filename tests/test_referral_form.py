"""The referrer's side of GP referrals: the web form (every field's validation, consent, medication,
PDF letters), drafts that keep everything typed, idempotent submission, practice nurses referring on
behalf of a GP, access and isolation, withdraw / answer, the forwarded copy and the list page's queries."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.gp_portal.forms import ReferralForm, submission_from_form
from app.networks.models import Discipline, Role
from app.referrals import services
from app.referrals.models import Referral, ReferralAttachment, ReferralMessage
from app.referrals.models import ReferralStatus as S
from tests.conftest import counted_statements, login_as, make_gp, make_member, make_network, make_practice_link
from tests.referral_factories import make_referral

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
KEY = "k" * 32


@pytest.fixture
def world():
    network = make_network("zk", name="Netwerk Zuid-Kennemerland", approved_at=utcnow(), referral_ack_norm_days=2)
    other = make_network("tw", name="Netwerk Twente", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR, name="Carla Coordinator")
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow(), locale="en", name="Dokter Gerrit")
    dietist = db.session.scalar(select(Discipline).where(Discipline.code == "dietist"))
    return {"network": network, "other": other, "coordinator": coordinator.user, "gp": gp, "dietist": dietist}


def born(day: str, month: str, year: str) -> dict[str, str]:
    """A date of birth as the form posts it: three inputs."""
    return {"date_of_birth-day": day, "date_of_birth-month": month, "date_of_birth-year": year}


def born_iso(value: str) -> dict[str, str]:
    year, month, day = value.split("-")
    return born(day, month, year)


def valid_form(world, **overrides) -> dict:
    data = {
        "submission_key": KEY, "action": "submit",
        "given_name": "Wim", "family_name": "Jansen", **born("14", "3", "1971"), "sex": "male",
        "bsn": "111 222 333", "address": "Kerkstraat 1", "postcode": "2012ab", "city": "Haarlem",
        "phone": "023 123 4567", "email": "Wim@Example.nl", "preferred_language": "nl",
        "relative_name": "Els Jansen", "relative_relation": "partner", "relative_phone": "06 1234 5678",
        "tumour_type": "colorectal", "hospital": "Spaarne Gasthuis", "specialist": "dr. De Boer",
        "treatment_phase": "after_treatment", "treatment_goal": "curative", "history": "Hemicolectomie 2026",
        "medications-0-name": "Loperamide", "medications-0-dose": "2 mg zo nodig", "medications-0-since": "2026",
        "resuscitation": "unknown", "euthanasia": "no", "advance_directive": "yes",
        "advance_directive_text": "Wilsverklaring bij de huisarts",
        "question": "Begeleiding bij diarree en vermoeidheid",
        "complaints_physical": ["fatigue", "bowel"], "complaints_physical_text": "Diarree sinds de operatie",
        "complaints_social": ["work"], "distress_score": "7", "disciplines": [str(world["dietist"].id)],
        "urgency": "routine", "social_situation": "Woont samen met zijn vrouw", "consent": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def referrals() -> list[Referral]:
    db.session.rollback()  # see what the requests committed
    return list(db.session.scalars(all_networks(select(Referral).order_by(Referral.id))))


def in_network(referral: Referral):
    return network_context(referral.network_id)


def html(response) -> str:
    return response.get_data(as_text=True)


def input_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{re.escape(name)}"', page)
    return match.group(1) if match else None


@pytest.fixture
def gp_client(client, world):
    return login_as(client, world["gp"])


# --- submitting -----------------------------------------------------------------------------------

def test_gp_sends_a_referral_and_sees_the_reference_number(gp_client, world):
    page = gp_client.get("/verwijzer/verwijzingen/nieuw/zk")
    assert page.status_code == 200
    assert "Netwerk Zuid-Kennemerland" in html(page)
    assert len(input_value(html(page), "submission_key") or "") >= 16
    assert 'name="on_behalf_of"' not in html(page)  # a GP refers for themself

    response = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world))
    assert response.status_code == 302, html(response)[:2000]
    [referral] = referrals()
    assert response.headers["Location"].endswith(f"/verwijzer/verwijzingen/{referral.id}/bevestiging")
    assert referral.status is S.SUBMITTED and referral.number == f"R-{utcnow().year}-0001"
    assert (referral.bsn, referral.postcode, referral.email) == ("111222333", "2012 AB", "wim@example.nl")
    assert referral.date_of_birth == date(1971, 3, 14) and referral.distress_score == 7
    assert referral.complaints == {
        "physical": {"items": ["fatigue", "bowel"], "text": "Diarree sinds de operatie"},
        "psychological": {"items": [], "text": ""}, "social": {"items": ["work"], "text": ""},
        "spiritual": {"items": [], "text": ""}}
    assert referral.gp_profile_id == world["gp"].gp_profile.id and referral.submitted_by_id == world["gp"].id
    assert referral.consent_confirmed_by_id == world["gp"].id and referral.consent_confirmed_at is not None
    with in_network(referral):
        referral = db.session.get(Referral, referral.id)
        assert [(m.name, m.dose, m.since) for m in referral.medications] == [("Loperamide", "2 mg zo nodig", "2026")]
        assert [d.code for d in referral.disciplines] == ["dietist"]
        assert referral.advance_directive == "yes" and referral.advance_directive_text

    confirmation = gp_client.get(response.headers["Location"])
    assert confirmation.status_code == 200
    text = html(confirmation)
    assert referral.number in text and "Netwerk Zuid-Kennemerland" in text
    assert "2 working days" in text
    detail = gp_client.get(f"/verwijzer/verwijzingen/{referral.id}")
    assert detail.status_code == 200 and "Loperamide" in html(detail) and "Fatigue" in html(detail)


def test_submission_from_form_gives_exactly_the_service_fields(app, world):
    with app.test_request_context(method="POST", data=valid_form(world)):
        form = ReferralForm(gps=[world["gp"].gp_profile], disciplines=[world["dietist"]], locale="en",
                            choose_gp=False, meta={"csrf": False})
        assert form.validate(), form.errors
        fields, medications, discipline_ids = submission_from_form(form)
    assert set(fields) == services.REFERRAL_FIELDS
    assert medications == [{"name": "Loperamide", "dose": "2 mg zo nodig", "since": "2026"}]
    assert discipline_ids == [world["dietist"].id]


INVALID = [
    ("bsn", "123456789", "11-test"),
    ("bsn", "12345", "11-test"),
    ("postcode", "12345", "Dutch postcode"),
    ("postcode", "0123 AB", "Dutch postcode"),
    ("distress_score", "11", "from 0 to 10"),
    ("distress_score", "-1", "from 0 to 10"),
    ("distress_score", "veel", "from 0 to 10"),
    ("email", "geen-adres", "email address"),
    ("phone", "bel me", "phone number"),
    ("relative_phone", "x", "phone number"),
    ("sex", "alien", "Not a valid choice"),
    ("tumour_type", "tumour", "Not a valid choice"),
    ("resuscitation", "maybe", "not a valid choice"),
]
REQUIRED = ["given_name", "family_name", "date_of_birth", "sex", "address", "postcode", "city", "phone",
            "tumour_type", "hospital", "specialist", "treatment_phase", "treatment_goal", "question",
            "resuscitation", "euthanasia", "advance_directive"]


def _refused(response, field: str, message: str | None = None) -> str:
    assert response.status_code == 400, f"{field}: {response.status_code}"
    page = html(response)
    assert "Please correct the fields marked below" in page
    # The error sits next to its own field.
    match = re.search(rf'<p class="error" id="{re.escape(field)}-err">([^<]*)</p>', page)
    assert match, f"no error next to {field}"
    if message:
        assert message.lower() in match.group(1).lower(), match.group(1)
    return page


@pytest.mark.parametrize(("field", "value", "message"), INVALID)
def test_each_invalid_value_is_refused_next_to_its_field(gp_client, world, field, value, message):
    response = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world, **{field: value}))
    page = _refused(response, field, message)
    if field not in ("sex", "tumour_type", "resuscitation"):
        assert value in page  # what was typed is kept
    assert [r.status for r in referrals()] == [S.DRAFT]  # nothing sent, everything kept as a draft


TOMORROW = date.today() + timedelta(days=1)
INVALID_BIRTH_DATES = [
    (born(str(TOMORROW.day), str(TOMORROW.month), str(TOMORROW.year)), "A date of birth cannot be in the future"),
    (born("1", "1", "1800"), "A date of birth cannot be before 1 January 1900"),
    (born("31", "12", "1899"), "A date of birth cannot be before 1 January 1900"),
    (born("31", "2", "1958"), "Enter a real date of birth"),
    (born("14", "3", "19xx"), "The year must have 4 digits"),
    (born("32", "3", "1958"), "The day must be a number from 1 to 31"),
    (born("12", "13", "1958"), "The month must be a number from 1 to 12"),
    (born("12", "", "1958"), "must include a day, a month and a year"),
]


@pytest.mark.parametrize(("parts", "message"), INVALID_BIRTH_DATES)
def test_an_implausible_date_of_birth_keeps_the_rest_of_the_form(gp_client, world, parts, message):
    page = _refused(gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world, **parts)),
                    "date_of_birth", message)
    for kept in ('value="Wim"', 'value="Jansen"', 'value="Kerkstraat 1"', "Hemicolectomie"):
        assert kept in page, kept
    for name, value in parts.items():  # each part as typed, to correct
        assert input_value(page, name) == value, name
    # The error summary links to the day (or the wrong part) and the fieldset announces the error.
    assert re.search(r'<a href="#date_of_birth-(day|month|year)">Date of birth: ', page)
    assert re.search(r'<fieldset class="date-parts" id="date_of_birth" role="group" '
                     r'aria-describedby="date_of_birth-help date_of_birth-err">', page)


def test_the_earliest_and_latest_dates_of_birth_are_accepted(gp_client, world):
    for value in ("1900-01-01", date.today().isoformat()):
        response = gp_client.post("/verwijzer/verwijzingen/nieuw/zk",
                                  data=valid_form(world, **born_iso(value), submission_key=value.replace("-", "") * 2))
        assert response.status_code == 302, value
    assert [r.date_of_birth for r in referrals()] == [date(1900, 1, 1), date.today()]


def test_the_date_of_birth_is_three_labelled_numeric_inputs_in_one_fieldset(gp_client, world):
    page = html(gp_client.get("/verwijzer/verwijzingen/nieuw/zk"))
    assert 'type="date"' not in page
    fieldset = re.search(r'<fieldset class="date-parts" id="date_of_birth".*?</fieldset>', page, re.S).group(0)
    assert "<legend>Date of birth</legend>" in fieldset
    for part, label, width in (("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4)):
        assert f'<label for="date_of_birth-{part}">{label}</label>' in fieldset
        tag = re.search(rf'<input[^>]*id="date_of_birth-{part}"[^>]*>', fieldset).group(0)
        assert 'inputmode="numeric"' in tag and f'name="date_of_birth-{part}"' in tag
        assert f"input-width-{width}" in tag


@pytest.mark.parametrize("field", REQUIRED)
def test_each_required_field_is_required(gp_client, world, field):
    blank = born("", "", "") if field == "date_of_birth" else {field: ""}
    response = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world, **blank))
    _refused(response, field, "Enter the date of birth." if field == "date_of_birth" else None)
    assert [r.status for r in referrals()] == [S.DRAFT]


def test_consent_is_required(gp_client, world):
    response = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world, consent=None))
    _refused(response, "consent", "patient agreed")
    [draft] = referrals()
    assert draft.status is S.DRAFT and draft.consent_confirmed_at is None


def test_a_medicine_or_an_attached_overview_is_required(gp_client, world):
    no_medication = valid_form(world, **{"medications-0-name": "", "medications-0-dose": "", "medications-0-since": ""})
    _refused(gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=no_medication), "medication_list_attached",
             "at least one medicine")
    ticked = {**no_medication, "medication_list_attached": "y"}
    _refused(gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=ticked), "medication_list_attached",
             "as a PDF")
    dose_only = valid_form(world, **{"medications-0-name": "", "medications-1-dose": "5 mg"})
    _refused(gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=dose_only), "medications-1-name",
             "name of the medicine")
    with_pdf = {**ticked, "attachments": [(io.BytesIO(PDF), "medicatieoverzicht.pdf")]}
    response = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=with_pdf)
    assert response.status_code == 302
    [referral] = referrals()
    assert referral.status is S.SUBMITTED and referral.medication_list_attached
    with in_network(referral):
        assert [a.filename for a in db.session.get(Referral, referral.id).attachments] == ["medicatieoverzicht.pdf"]


def test_the_overview_may_be_attached_to_the_draft_before(gp_client, world):
    no_medication = valid_form(world, **{"medications-0-name": "", "medications-0-dose": "", "medications-0-since": "",
                                         "medication_list_attached": "y"})
    draft_post = {**no_medication, "action": "draft", "attachments": [(io.BytesIO(PDF), "overzicht.pdf")]}
    assert gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=draft_post).status_code == 302
    response = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=no_medication)
    assert response.status_code == 302
    assert [r.status for r in referrals()] == [S.SUBMITTED]


def test_only_pdf_letters_are_accepted_and_valid_ones_are_kept(gp_client, world):
    data = valid_form(world, attachments=[(io.BytesIO(b"GIF89a not a letter"), "brief.pdf"),
                                          (io.BytesIO(PDF), "specialist.pdf")])
    _refused(gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=data), "attachments", "not a PDF")
    [draft] = referrals()
    assert draft.status is S.DRAFT
    with in_network(draft):
        stored = db.session.scalars(select(ReferralAttachment)).all()
    assert [a.filename for a in stored] == ["specialist.pdf"]  # the valid letter is not lost


def test_too_many_letters_are_refused(gp_client, world):
    files = [(io.BytesIO(PDF), f"brief{i}.pdf") for i in range(11)]
    _refused(gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world, attachments=files)),
             "attachments", "at most 10")
    assert [r.status for r in referrals()] == [S.DRAFT]


# --- drafts ---------------------------------------------------------------------------------------

def test_a_draft_keeps_invalid_input_and_is_restored(gp_client, world):
    data = valid_form(world, action="draft", postcode="12", bsn="123", family_name="", distress_score="12",
                      **born("31", "2", "19"))
    response = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=data)
    assert response.status_code == 302
    [draft] = referrals()
    assert draft.status is S.DRAFT and draft.number is None
    assert response.headers["Location"].endswith(f"/verwijzer/verwijzingen/concept/{draft.id}")
    assert "csrf_token" not in draft.draft_data and draft.draft_data["postcode"] == ["12"]

    page = html(gp_client.get(response.headers["Location"]))
    assert input_value(page, "postcode") == "12" and input_value(page, "bsn") == "123"
    assert input_value(page, "distress_score") == "12" and input_value(page, "given_name") == "Wim"
    assert input_value(page, "medications-0-name") == "Loperamide"
    assert re.search(r'value="fatigue"[^>]*checked|checked[^>]*value="fatigue"', page)
    assert input_value(page, "submission_key") == draft.submission_key
    assert [input_value(page, f"date_of_birth-{part}") for part in ("day", "month", "year")] == ["31", "2", "19"]
    # The optional parts holding input are shown open; the empty letters part stays folded.
    assert '<details class="optional" id="more-patient" open>' in page
    assert '<details class="optional" id="more-request" open>' in page
    assert '<details class="optional" id="more-letters">' in page

    # Sending from the draft page, corrected, turns this very draft into the referral.
    fixed = valid_form(world, submission_key="ignored-" + "x" * 20)
    response = gp_client.post(f"/verwijzer/verwijzingen/concept/{draft.id}", data=fixed)
    assert response.status_code == 302
    [referral] = referrals()
    assert referral.id == draft.id and referral.status is S.SUBMITTED and referral.draft_data is None
    assert gp_client.get(f"/verwijzer/verwijzingen/concept/{draft.id}").headers["Location"].endswith(
        f"/verwijzer/verwijzingen/{draft.id}")


def test_a_draft_saved_before_the_three_date_inputs_still_shows_its_date_of_birth(gp_client, world):
    gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world, action="draft"))
    [draft] = referrals()
    with in_network(draft):
        draft = db.session.get(Referral, draft.id)
        old = {key: value for key, value in draft.draft_data.items() if not key.startswith("date_of_birth")}
        draft.draft_data = {**old, "date_of_birth": ["1958-03-12"]}  # as the browser's date input posted it
        db.session.commit()
    page = html(gp_client.get(f"/verwijzer/verwijzingen/concept/{draft.id}"))
    assert [input_value(page, f"date_of_birth-{part}") for part in ("day", "month", "year")] == ["12", "3", "1958"]


def test_a_draft_is_listed_and_can_be_discarded(gp_client, world):
    data = valid_form(world, action="draft", attachments=[(io.BytesIO(PDF), "brief.pdf")])
    gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=data)
    [draft] = referrals()
    index = html(gp_client.get("/verwijzer/verwijzingen/"))
    assert "Wim Jansen" in index and f"/concept/{draft.id}" in index
    assert gp_client.get(f"/verwijzer/verwijzingen/concept/{draft.id}/verwijderen").status_code == 200
    response = gp_client.post(f"/verwijzer/verwijzingen/concept/{draft.id}/verwijderen", data={})
    assert response.status_code == 302
    assert referrals() == []
    with network_context(world["network"].id):
        assert db.session.scalars(select(ReferralAttachment)).all() == []


def test_a_letter_can_be_removed_from_a_draft(gp_client, world):
    gp_client.post("/verwijzer/verwijzingen/nieuw/zk",
                   data=valid_form(world, action="draft", attachments=[(io.BytesIO(PDF), "verkeerd.pdf")]))
    [draft] = referrals()
    with in_network(draft):
        [attachment] = db.session.get(Referral, draft.id).attachments
    gp_client.post(f"/verwijzer/verwijzingen/concept/{draft.id}",
                   data=valid_form(world, action="draft", remove_attachment=str(attachment.id)))
    db.session.rollback()
    with in_network(draft):
        assert db.session.get(Referral, draft.id).attachments == []


# --- double submission ----------------------------------------------------------------------------

def test_the_same_submission_twice_creates_one_referral(gp_client, world):
    first = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world))
    second = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(referrals()) == 1
    # Back button then "Save draft": the sent referral is not touched.
    again = gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world, action="draft", given_name="X"))
    assert again.headers["Location"] == first.headers["Location"]
    [referral] = referrals()
    assert referral.given_name == "Wim" and referral.status is S.SUBMITTED


def test_someone_elses_submission_key_is_not_found(gp_client, world, new_client):
    gp_client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world))
    other = make_gp("other@example.nl", "07654321", email_verified_at=utcnow(), locale="en")
    response = login_as(new_client(), other).post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world))
    assert response.status_code == 404
    assert len(referrals()) == 1


# --- practice nurses ------------------------------------------------------------------------------

def test_a_practice_nurse_refers_on_behalf_of_a_confirmed_gp(client, new_client, world):
    poh = make_gp("poh@example.nl", "22223333", kind="poh", email_verified_at=utcnow(), locale="en", name="Petra POH")
    make_practice_link(world["gp"], poh, confirmed=True)
    login_as(client, poh)
    page = html(client.get("/verwijzer/verwijzingen/nieuw/zk"))
    assert 'name="on_behalf_of"' in page and "Dokter Gerrit" in page
    response = client.post("/verwijzer/verwijzingen/nieuw/zk",
                           data=valid_form(world, on_behalf_of=str(world["gp"].gp_profile.id)))
    assert response.status_code == 302
    [referral] = referrals()
    assert referral.gp_profile_id == world["gp"].gp_profile.id and referral.submitted_by_id == poh.id
    # The GP sees it in their own list, and may open it.
    gp = login_as(new_client(), world["gp"])
    assert referral.number in html(gp.get("/verwijzer/verwijzingen/"))
    assert gp.get(f"/verwijzer/verwijzingen/{referral.id}").status_code == 200
    assert "Dokter Gerrit" in html(client.get("/verwijzer/verwijzingen/"))  # the nurse's list names the GP


def test_a_practice_nurse_cannot_pick_a_gp_who_did_not_confirm(client, world):
    poh = make_gp("poh@example.nl", "22223333", kind="poh", email_verified_at=utcnow(), locale="en")
    make_practice_link(world["gp"], poh, confirmed=True)
    stranger = make_gp("stranger@example.nl", "44445555", email_verified_at=utcnow(), locale="en")
    login_as(client, poh)
    response = client.post("/verwijzer/verwijzingen/nieuw/zk",
                           data=valid_form(world, on_behalf_of=str(stranger.gp_profile.id)))
    _refused(response, "on_behalf_of")


def test_a_practice_nurse_without_a_confirmed_gp_is_told_what_to_do(client, world):
    poh = make_gp("poh@example.nl", "22223333", kind="poh", email_verified_at=utcnow(), locale="en")
    make_practice_link(world["gp"], poh, confirmed=False)
    login_as(client, poh)
    page = client.get("/verwijzer/verwijzingen/nieuw/zk")
    assert page.status_code == 200 and "/verwijzer/praktijk" in html(page)
    assert client.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world)).status_code == 200
    assert referrals() == []
    assert "/verwijzer/praktijk" in html(client.get("/verwijzer/verwijzingen/"))


# --- access and isolation -------------------------------------------------------------------------

def test_only_verified_referrers_may_refer(client, new_client, world):
    unverified = make_gp("new@example.nl", "99990000", locale="en")
    coordinator = world["coordinator"]
    for user in (unverified, coordinator):
        other = login_as(new_client(), user)
        assert other.get("/verwijzer/verwijzingen/nieuw/zk").status_code == 404
        assert other.post("/verwijzer/verwijzingen/nieuw/zk", data=valid_form(world)).status_code == 404
    assert referrals() == []
    assert login_as(new_client(), coordinator).get("/verwijzer/verwijzingen/").status_code == 404
    notice = login_as(new_client(), unverified).get("/verwijzer/verwijzingen/")
    assert notice.status_code == 200 and "Confirm your email address" in html(notice)
    assert client.get("/verwijzer/verwijzingen/nieuw/zk").status_code == 302  # anonymous: to the login


def test_unapproved_or_unknown_networks_are_not_found(gp_client, world):
    make_network("nog-niet", approved_at=None)
    for slug in ("nog-niet", "bestaat-niet"):
        assert gp_client.get(f"/verwijzer/verwijzingen/nieuw/{slug}").status_code == 404
        assert gp_client.post(f"/verwijzer/verwijzingen/nieuw/{slug}", data=valid_form(world)).status_code == 404
    assert referrals() == []


def test_a_gp_cannot_reach_another_gps_referral(gp_client, world, new_client):
    referral = make_referral(world["network"], world["gp"], status=S.INFO_REQUESTED, coordinator=world["coordinator"])
    draft = make_referral(world["network"], world["gp"], status=S.DRAFT)
    with in_network(referral):
        attachment = ReferralAttachment(network_id=referral.network_id, referral_id=referral.id, filename="a.pdf",
                                        storage_name="ab" * 20, size=3, uploaded_by_id=world["gp"].id)
        db.session.add(attachment)
        db.session.commit()
    other = login_as(new_client(), make_gp("other@example.nl", "07654321", email_verified_at=utcnow(), locale="en"))
    base = f"/verwijzer/verwijzingen/{referral.id}"
    for url in (base, f"{base}/bevestiging", f"{base}/intrekken", f"{base}/bijlagen/{attachment.id}",
                f"/verwijzer/verwijzingen/concept/{draft.id}", f"/verwijzer/verwijzingen/concept/{draft.id}/verwijderen"):
        assert other.get(url).status_code == 404, url
    for url in (f"{base}/intrekken", f"{base}/antwoorden", f"/verwijzer/verwijzingen/concept/{draft.id}",
                f"/verwijzer/verwijzingen/concept/{draft.id}/verwijderen"):
        assert other.post(url, data={"reason": "x", "text": "x", **valid_form(world)}).status_code == 404, url
    assert referral.number not in html(other.get("/verwijzer/verwijzingen/"))
    assert [r.status for r in referrals()] == [S.INFO_REQUESTED, S.DRAFT]
    # A coordinator of the network is no referrer: the referrer's pages are not theirs either.
    coordinator = login_as(new_client(), world["coordinator"])
    assert coordinator.get(base).status_code == 404


def test_letters_download_for_the_own_referral_and_are_logged(gp_client, world):
    gp_client.post("/verwijzer/verwijzingen/nieuw/zk",
                   data=valid_form(world, attachments=[(io.BytesIO(PDF), "ontslagbrief.pdf")]))
    [referral] = referrals()
    with in_network(referral):
        [attachment] = db.session.get(Referral, referral.id).attachments
    assert f"/bijlagen/{attachment.id}" in html(gp_client.get(f"/verwijzer/verwijzingen/{referral.id}"))
    response = gp_client.get(f"/verwijzer/verwijzingen/{referral.id}/bijlagen/{attachment.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"] and "ontslagbrief.pdf" in response.headers[
        "Content-Disposition"]
    assert gp_client.get(f"/verwijzer/verwijzingen/{referral.id}/bijlagen/{attachment.id + 99}").status_code == 404
    db.session.rollback()
    events = [e.event for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == attachment.id))]
    assert "referral.attachment_added" in events and "referral.attachment_downloaded" in events


def test_reading_the_list_and_a_referral_is_logged(gp_client, world):
    referral = make_referral(world["network"], world["gp"])
    gp_client.get("/verwijzer/verwijzingen/")
    gp_client.get(f"/verwijzer/verwijzingen/{referral.id}")
    db.session.rollback()
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event.in_(("referral.listed", "referral.viewed")))
                              .order_by(AuditEvent.id)).all()
    assert [(r.event, r.user_id, r.network_id, r.patient_id, r.basis) for r in rows] == [
        ("referral.listed", world["gp"].id, referral.network_id, referral.patient_id, "referrer"),
        ("referral.viewed", world["gp"].id, referral.network_id, referral.patient_id, "referrer")]


# --- after sending: withdraw, answer, forwarded -------------------------------------------------------

def test_withdraw_before_acceptance(gp_client, world):
    referral = make_referral(world["network"], world["gp"], status=S.ACKNOWLEDGED, coordinator=world["coordinator"])
    assert "/intrekken" in html(gp_client.get(f"/verwijzer/verwijzingen/{referral.id}"))
    page = gp_client.get(f"/verwijzer/verwijzingen/{referral.id}/intrekken")
    assert page.status_code == 200 and referral.number in html(page)
    response = gp_client.post(f"/verwijzer/verwijzingen/{referral.id}/intrekken",
                              data={"reason": "Patiënt kiest voor het ziekenhuis"})
    assert response.status_code == 302
    [referral] = referrals()
    assert referral.status is S.WITHDRAWN
    assert "Patiënt kiest voor het ziekenhuis" in html(gp_client.get(f"/verwijzer/verwijzingen/{referral.id}"))


def test_withdraw_after_acceptance_is_refused_with_a_message(gp_client, world):
    referral = make_referral(world["network"], world["gp"], status=S.ACCEPTED, coordinator=world["coordinator"])
    detail = html(gp_client.get(f"/verwijzer/verwijzingen/{referral.id}"))
    assert "/intrekken" not in detail
    response = gp_client.post(f"/verwijzer/verwijzingen/{referral.id}/intrekken", data={"reason": ""},
                              follow_redirects=True)
    assert "only be withdrawn before it is accepted" in html(response)
    assert [r.status for r in referrals()] == [S.ACCEPTED]
    shown = gp_client.get(f"/verwijzer/verwijzingen/{referral.id}/intrekken", follow_redirects=True)
    assert "only be withdrawn before it is accepted" in html(shown)


def test_answering_the_networks_question(gp_client, world):
    referral = make_referral(world["network"], world["gp"], status=S.INFO_REQUESTED, coordinator=world["coordinator"])
    detail = html(gp_client.get(f"/verwijzer/verwijzingen/{referral.id}"))
    assert "/antwoorden" in detail and "Toelichting" in detail  # the question is shown above the answer box
    empty = gp_client.post(f"/verwijzer/verwijzingen/{referral.id}/antwoorden", data={"text": " "},
                           follow_redirects=True)
    assert "Write your answer." in html(empty)
    assert [r.status for r in referrals()] == [S.INFO_REQUESTED]
    response = gp_client.post(f"/verwijzer/verwijzingen/{referral.id}/antwoorden",
                              data={"text": "Ze gebruikt ook oxycodon."})
    assert response.status_code == 302
    [referral] = referrals()
    assert referral.status is S.ACKNOWLEDGED
    with in_network(referral):
        bodies = [m.body for m in db.session.scalars(select(ReferralMessage).order_by(ReferralMessage.id))]
    assert bodies[-1] == "Ze gebruikt ook oxycodon."
    again = gp_client.post(f"/verwijzer/verwijzingen/{referral.id}/antwoorden", data={"text": "Nog iets"},
                           follow_redirects=True)
    assert "no open question" in html(again)


def test_a_forwarded_referral_is_copied_to_the_other_network(gp_client, world):
    referral = make_referral(world["network"], world["gp"], status=S.FORWARDED, coordinator=world["coordinator"],
                             forward_to=world["other"])
    detail = html(gp_client.get(f"/verwijzer/verwijzingen/{referral.id}"))
    link = f"/verwijzer/verwijzingen/nieuw/tw?van={referral.id}"
    assert link in detail and "Refer to Netwerk Twente" in detail

    page = html(gp_client.get(link))
    assert input_value(page, "family_name") == "Jansen" and input_value(page, "postcode") == "2012 AB"
    assert [input_value(page, f"date_of_birth-{part}") for part in ("day", "month", "year")] == ["14", "3", "1971"]
    assert input_value(page, "medications-0-name") == "Loperamide"
    assert re.search(r'value="bowel"[^>]*checked|checked[^>]*value="bowel"', page)
    assert "checked" not in re.search(r'<input[^>]*name="consent"[^>]*>', page).group(0)  # confirmed anew
    assert input_value(page, "van") == str(referral.id)

    key = input_value(page, "submission_key")
    response = gp_client.post("/verwijzer/verwijzingen/nieuw/tw",
                              data=valid_form(world, submission_key=key, van=str(referral.id)))
    assert response.status_code == 302
    copy = referrals()[-1]
    assert copy.network_id == world["other"].id and copy.status is S.SUBMITTED
    assert copy.forwarded_from_referral_id == referral.id


def test_another_gps_referral_is_not_copied(gp_client, world):
    other_gp = make_gp("other@example.nl", "07654321", email_verified_at=utcnow(), locale="en")
    referral = make_referral(world["network"], other_gp, family_name="Geheim")
    page = gp_client.get(f"/verwijzer/verwijzingen/nieuw/zk?van={referral.id}")
    assert page.status_code == 200 and "Geheim" not in html(page)


# --- the list -------------------------------------------------------------------------------------

def test_the_list_shows_referrals_across_networks(gp_client, world):
    first = make_referral(world["network"], world["gp"])
    second = make_referral(world["other"], world["gp"], status=S.DRAFT)
    page = html(gp_client.get("/verwijzer/verwijzingen/"))
    assert first.number in page and "Netwerk Zuid-Kennemerland" in page and "Netwerk Twente" in page
    assert f"/concept/{second.id}" in page and "Submitted" in page
    assert "/netwerken" in page


def test_the_empty_list_points_to_the_directory(gp_client):
    page = html(gp_client.get("/verwijzer/verwijzingen/"))
    assert "You have not referred a patient yet" in page and "/netwerken" in page


def test_the_list_needs_the_same_queries_for_2_and_12_referrals(gp_client, world):
    poh = make_gp("poh@example.nl", "22223333", kind="poh", email_verified_at=utcnow(), locale="en")
    make_practice_link(world["gp"], poh, confirmed=True)
    login_as(gp_client, poh)
    gp_client.get("/verwijzer/verwijzingen/")  # the audit chain's first row looks for a checkpoint once
    counts = []
    for total in (2, 12):
        while len(referrals()) < total:
            network = world["network"] if len(referrals()) % 2 else world["other"]
            make_referral(network, world["gp"], typed_by=poh)
        with counted_statements() as statements:
            response = gp_client.get("/verwijzer/verwijzingen/")
        assert response.status_code == 200 and html(response).count("/verwijzer/verwijzingen/") >= total
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_start_page_and_directory_lead_to_referring(gp_client, world, new_client):
    start = html(gp_client.get("/"))
    assert "/verwijzer/verwijzingen/" in start and "/netwerken" in start
    world["network"].is_public = True
    db.session.commit()
    assert "/verwijzer/verwijzingen/nieuw/zk" in html(gp_client.get("/netwerken/zk"))
    assert "/verwijzer/verwijzingen/nieuw/zk" not in html(new_client().get("/netwerken/zk"))
