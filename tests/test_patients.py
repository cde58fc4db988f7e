"""Patients: registration and its validation, the list (BSN masked, never in a URL, search,
pagination, a bounded number of queries), access rules and tenant isolation, and a fuzz of
the registration form.

Users are made with locale "en", so the assertions read the English messages.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.core.tenancy import network_context
from app.core.validators import is_valid_bsn
from app.extensions import db
from app.networks.models import Network, Role
from app.patients.models import Patient
from tests.conftest import counted_statements, login_as, make_member, make_network, make_patient

# Valid BSNs (they pass the 11-test); 123456789 does not.
BSN_WIM = "111222333"
BSN_OTHER = "123456782"
BSN_INVALID = "123456789"


# --- helpers ------------------------------------------------------------------------------------

def member(network: Network, email: str, *, role: Role = Role.MEMBER, name: str | None = None):
    return make_member(network, email, role=role, name=name, locale="en", password=None, mfa=False)


def patients_of(network: Network) -> list[Patient]:
    db.session.expire_all()
    with network_context(network.id):
        return db.session.scalars(select(Patient).order_by(Patient.id)).all()


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-err">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def input_value(html: str, field: str) -> str | None:
    match = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def body_rows(html: str) -> list[str]:
    match = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr[ >].*?</tr>", match.group(1), re.S) if match else []


def urls_in(html: str) -> list[str]:
    """Every URL the page carries: links, form targets, sources, and hidden "next" fields."""
    urls = re.findall(r'\b(?:href|action|src|formaction)="([^"]*)"', html)
    urls += re.findall(r'<input[^>]*name="next"[^>]*value="([^"]*)"', html)
    return [unquote(url.replace("&amp;", "&")) for url in urls]




TOMORROW = date.today() + timedelta(days=1)


def born(day: str, month: str, year: str) -> dict[str, str]:
    """A date of birth as the form posts it: day, month and year in three inputs."""
    return {"date_of_birth-day": day, "date_of_birth-month": month, "date_of_birth-year": year}


def valid_form(**overrides) -> dict[str, str]:
    data = {"given_name": "Wim", "family_name": "Jansen", **born("14", "3", "1971"), "bsn": BSN_WIM,
            "postcode": "2012 AB", "phone": "06 12345678"}
    data.update(overrides)
    return data


@pytest.fixture
def noord():
    return make_network("noord", name="Netwerk Noord")


@pytest.fixture
def coordinator(noord):
    return member(noord, "coo@example.nl", role=Role.COORDINATOR, name="Carla Coordinator")


@pytest.fixture
def coo_client(client, coordinator):
    return login_as(client, coordinator.user)


NEW_URL = "/n/noord/patients/new"


# --- registration -------------------------------------------------------------------------------

def test_valid_registration_redirects_to_the_detail_page(noord, coo_client):
    assert coo_client.get(NEW_URL).status_code == 200
    response = coo_client.post(NEW_URL, data=valid_form(postcode="1234ab", bsn="111.222.333"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    [patient] = patients_of(noord)
    assert response.headers["Location"].endswith(f"/n/noord/patients/{patient.id}")
    assert BSN_WIM not in response.headers["Location"]
    assert patient.postcode == "1234 AB"
    assert patient.bsn == BSN_WIM
    assert (patient.given_name, patient.family_name) == ("Wim", "Jansen")
    assert patient.date_of_birth == date(1971, 3, 14)

    detail = coo_client.get(response.headers["Location"])
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    assert "Wim Jansen" in html and "1234 AB" in html


def test_registration_without_bsn_is_allowed(noord, coo_client):
    response = coo_client.post(NEW_URL, data=valid_form(bsn=""))
    assert response.status_code == 302
    [patient] = patients_of(noord)
    assert patient.bsn is None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("bsn", BSN_INVALID, "This is not a valid BSN: it must be 9 digits and pass the 11-test."),
    ("bsn", "12345678", "This is not a valid BSN"),
    ("postcode", "1234", "Enter a Dutch postcode like 1234 AB."),
    ("postcode", "0123 AB", "Enter a Dutch postcode like 1234 AB."),
    ("date_of_birth", born(str(TOMORROW.day), str(TOMORROW.month), str(TOMORROW.year)),
     "A date of birth cannot be in the future."),
    ("date_of_birth", born("1", "1", "1800"), "A date of birth cannot be before 1 January 1900."),
    ("date_of_birth", born("31", "12", "1899"), "A date of birth cannot be before 1 January 1900."),
    ("date_of_birth", born("14", "03", "1971x"), "The year must have 4 digits, for example 1958."),
    ("date_of_birth", born("30", "2", "1971"), "Enter a real date of birth."),
    ("date_of_birth", born("", "", ""), "Enter the date of birth."),
])
def test_invalid_field_shows_its_message_and_keeps_the_other_fields(noord, coo_client, field, value, message):
    data = valid_form(given_name="Wilhelmina", family_name="Oude Vrielink", phone="053 1234567",
                      bsn=BSN_OTHER, postcode="7511 JK", **born("2", "9", "1958"))
    data.update(value if isinstance(value, dict) else {field: value})
    response = coo_client.post(NEW_URL, data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in field_error(html, field)
    for other in ("given_name", "family_name", "phone", "bsn", "postcode", *born("", "", "")):
        assert input_value(html, other) == data[other], other  # the wrong one too, as typed
    assert "Wilhelmina" in html and "Oude Vrielink" in html
    assert patients_of(noord) == []


def test_registration_without_csrf_token_is_refused(noord, coo_client):
    response = coo_client.post(NEW_URL, data=valid_form(), csrf=False)
    assert response.status_code == 400
    assert patients_of(noord) == []


# --- the list: BSN masked, never in a URL ---------------------------------------------------------

def test_list_masks_the_bsn_and_never_puts_it_in_a_url(noord, coordinator, coo_client):
    make_patient(noord, given_name="Wim", family_name="Jansen", bsn=BSN_WIM)
    # Enough patients for a pager, each with its own valid BSN.
    bsns = [n for n in (f"{i:09d}" for i in range(100_000_000, 100_003_000)) if is_valid_bsn(n)][:30]
    for i, bsn in enumerate(bsns):
        make_patient(noord, given_name=f"Patiënt{i:02d}", family_name="Aalders", bsn=bsn)

    for path in ("/n/noord/patients/", "/n/noord/patients/?page=2", "/n/noord/patients/?q=jansen"):
        response = (coo_client.post("/n/noord/patients/", data={"q": "jansen"}) if "q=" in path
                    else coo_client.get(path))
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        if "q=" not in path:
            assert "Page " in html and len(body_rows(html)) >= 6, path
        shown = [b for b in [BSN_WIM, *bsns] if b[-4:] in html]
        assert shown, path  # the last four digits are shown...
        for bsn in [BSN_WIM, *bsns]:
            assert bsn not in html, (path, bsn)  # ...the full number never is
            assert not any(bsn in url for url in urls_in(html)), (path, bsn)

    html = coo_client.post("/n/noord/patients/", data={"q": "jansen"}).get_data(as_text=True)
    assert "*****2333" in html
    assert len(body_rows(html)) == 1


def test_list_search_by_name_and_by_exact_bsn(noord, coordinator, coo_client):
    make_patient(noord, given_name="Wim", family_name="Jansen", bsn=BSN_WIM)
    make_patient(noord, given_name="Gerda", family_name="Lansink", bsn=BSN_OTHER)
    make_patient(noord, given_name="Anna", family_name="de Wit", bsn=None)

    def names(query: str) -> set[str]:
        response = coo_client.post("/n/noord/patients/", data={"q": query})
        assert response.status_code == 200
        return set(re.findall(r'<a href="/n/noord/patients/\d+">([^<]*)</a>',
                              "".join(body_rows(response.get_data(as_text=True)))))

    assert names("") == {"Jansen, Wim", "Lansink, Gerda", "de Wit, Anna"}
    assert names("jansen") == {"Jansen, Wim"}
    assert names("GERDA") == {"Lansink, Gerda"}
    assert names("ans") == {"Jansen, Wim", "Lansink, Gerda"}
    assert names(BSN_OTHER) == {"Lansink, Gerda"}
    assert names("123 456 782") == {"Lansink, Gerda"}
    # Only an exact BSN finds someone: no guessing by partial numbers.
    assert names(BSN_OTHER[:5]) == set()
    assert names(BSN_OTHER[-4:]) == set()
    assert names("onbekend") == set()


def test_list_pagination(noord, coordinator, coo_client):
    for i in range(60):
        make_patient(noord, given_name=f"P{i:02d}", family_name="Aalders", bsn=None)
    assert len(body_rows(coo_client.get("/n/noord/patients/").get_data(as_text=True))) == 25
    last = coo_client.get("/n/noord/patients/?page=3").get_data(as_text=True)
    assert len(body_rows(last)) == 10
    assert "Page 3 of 3" in last
    assert "Page 3 of 3" in coo_client.get("/n/noord/patients/?page=999").get_data(as_text=True)
    assert coo_client.get("/n/noord/patients/?page=abc").status_code == 200


def test_patient_list_query_count_does_not_grow_with_the_patients(noord, coordinator, coo_client):
    for i in range(5):
        make_patient(noord, given_name=f"P{i:02d}", family_name="Aalders", bsn=None)
    coo_client.get("/n/noord/patients/")
    with counted_statements() as few:
        response = coo_client.get("/n/noord/patients/")
    assert len(body_rows(response.get_data(as_text=True))) == 5

    for i in range(5, 60):
        make_patient(noord, given_name=f"P{i:02d}", family_name="Aalders", bsn=None)
    coo_client.get("/n/noord/patients/")
    with counted_statements() as many:
        response = coo_client.get("/n/noord/patients/")
    assert len(body_rows(response.get_data(as_text=True))) == 25

    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 15, "\n".join(few)


# --- who may see patients ------------------------------------------------------------------------

def test_plain_members_get_404_on_patient_routes(noord, coordinator, client):
    patient = make_patient(noord)
    plain = member(noord, "lid@example.nl")
    login_as(client, plain.user)
    assert client.get("/n/noord/members").status_code == 200  # a member of the network...
    for path in ("/n/noord/patients/", NEW_URL, f"/n/noord/patients/{patient.id}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Jansen" not in response.get_data(as_text=True)
    searched = client.post("/n/noord/patients/", data={"q": BSN_WIM})
    assert searched.status_code == 404 and "Jansen" not in searched.get_data(as_text=True)
    assert client.post(NEW_URL, data=valid_form(family_name="Sneaky")).status_code == 404
    assert [p.family_name for p in patients_of(noord)] == ["Jansen"]


def test_a_patient_of_another_network_is_404(noord, coordinator, new_client):
    patient_a = make_patient(noord, given_name="Wim", family_name="Jansen")
    zuid = make_network("zuid")
    coo_b = member(zuid, "coo.b@example.nl", role=Role.COORDINATOR)
    make_patient(zuid, given_name="Bea", family_name="Bakker", bsn=BSN_OTHER)
    b_client = login_as(new_client(), coo_b.user)

    own = b_client.get("/n/zuid/patients/")
    assert own.status_code == 200 and "Bakker" in own.get_data(as_text=True)
    assert "Jansen" not in own.get_data(as_text=True)
    assert "Jansen" not in b_client.post("/n/zuid/patients/", data={"q": BSN_WIM}).get_data(as_text=True)

    for path in (f"/n/zuid/patients/{patient_a.id}",  # B's slug with A's patient id
                 f"/n/noord/patients/{patient_a.id}",  # A's slug
                 "/n/noord/patients/", "/n/noord/patients/new"):
        response = b_client.get(path)
        assert response.status_code == 404, path
        assert "Jansen" not in response.get_data(as_text=True)
    assert b_client.post("/n/noord/patients/new", data=valid_form()).status_code == 404
    assert len(patients_of(noord)) == 1


def test_a_deactivated_coordinator_loses_access_to_patients(noord, coordinator, coo_client):
    patient = make_patient(noord)
    member(noord, "coo2@example.nl", role=Role.COORDINATOR)
    assert coo_client.get(f"/n/noord/patients/{patient.id}").status_code == 200
    with network_context(noord.id):
        from app.networks.models import Membership

        db.session.get(Membership, coordinator.id).deactivate()
        db.session.commit()
    assert coo_client.get(f"/n/noord/patients/{patient.id}").status_code == 404
    assert coo_client.get("/n/noord/patients/").status_code == 404


# --- fuzzing the registration form -----------------------------------------------------------------

FIELDS = ("given_name", "family_name", *born("", "", ""), "bsn", "postcode", "phone")
# Arbitrary text, and text of control characters (NUL included), which plain st.text() rarely picks.
ANY_TEXT = st.one_of(st.text(), st.text(st.characters(max_codepoint=0x1F)))


@st.composite
def patient_forms(draw):
    """Either one field arbitrary and the rest valid (so that rows do get written with strange text
    in them), or every field arbitrary."""
    if draw(st.booleans()):
        data = valid_form()
        data[draw(st.sampled_from(FIELDS))] = draw(ANY_TEXT)
        return data
    return draw(st.fixed_dictionaries(dict.fromkeys(FIELDS, ANY_TEXT)))


def test_patient_form_fuzz_never_500(noord, coo_client):
    """Arbitrary text in the fields: a form error, a refusal or a registration, never a server error."""
    seen: list[int] = []

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(patient_forms())
    @example(valid_form(given_name="Wim\x00"))  # always tried: PostgreSQL refuses NUL in text
    @example(valid_form(family_name="J" * 101, phone="0" * 31))
    @example(valid_form(given_name="\u202eWim 🎗️", family_name="'; DROP TABLE patients; --"))
    @example(dict.fromkeys(FIELDS, ""))
    def post(data):
        response = coo_client.post(NEW_URL, data=data)
        seen.append(response.status_code)
        assert response.status_code in (200, 302, 400), (response.status_code, data)

    post()
    assert len(seen) >= 10


@pytest.mark.parametrize("field", ["given_name", "family_name", "phone", "postcode", "bsn", "date_of_birth-year"])
def test_a_nul_byte_in_a_field_is_refused_not_a_500(noord, coo_client, field):
    """PostgreSQL cannot store NUL in text; the request is refused before it gets there."""
    data = valid_form()
    data[field] = data[field][:2] + "\x00" + data[field][2:]
    response = coo_client.post(NEW_URL, data=data)
    assert response.status_code in (200, 400)
    assert patients_of(noord) == []


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=120))
def test_patient_search_fuzz_never_500(coo_client, query):
    response = coo_client.post("/n/noord/patients/", data={"q": query})
    assert response.status_code in (200, 400), query
    assert response.status_code == 200 or "\x00" in query


def test_patient_search_with_a_nul_byte_is_refused_not_a_500(noord, coordinator, coo_client):
    make_patient(noord)
    assert coo_client.post("/n/noord/patients/", data={"q": "Jan\x00sen"}).status_code == 400
