"""Networks: inviting members, deactivating and reactivating them, the member directory
(search, filters, pagination, a bounded number of queries), platform administration of
networks and the demo data.

Users are made with locale "en", so the assertions read the English messages.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.models import GPProfile, User
from app.core.audit import AuditEvent
from app.core.jobs import Outbox
from app.core.security import UserSession
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import Discipline, Membership, MembershipDiscipline, Network, NetworkStatus, Role
from app.patients.models import Patient
from tests.conftest import (
    counted_statements,
    delivered_mails,
    login,
    login_as,
    make_member,
    make_network,
    make_patient,
    make_user,
)

# --- helpers ------------------------------------------------------------------------------------


def member(network: Network, email: str, *, role: Role = Role.MEMBER, disciplines: tuple[str, ...] = (),
           name: str | None = None, password: bool = False) -> Membership:
    """A membership with a fast user (no argon2 hash unless a password is needed)."""
    extra = {} if password else {"password": None, "mfa": False}
    return make_member(network, email, role=role, disciplines=disciplines, name=name, locale="en", **extra)


def discipline_id(code: str) -> int:
    return db.session.scalar(select(Discipline.id).where(Discipline.code == code))


def membership_of(network: Network, email: str) -> Membership | None:
    db.session.expire_all()
    with network_context(network.id):
        return db.session.scalar(select(Membership).join(Membership.user).where(User.email == email))


def body_rows(html: str) -> list[str]:
    """The <tr> rows of the table body."""
    match = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr[ >].*?</tr>", match.group(1), re.S) if match else []


def field_error(html: str, field: str) -> str:
    """The error text rendered next to *field* (the macro gives it id="<field>-err")."""
    match = re.search(rf'<p class="error" id="{field}-err">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def input_value(html: str, field: str) -> str | None:
    match = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return value.group(1) if value else ""




def membership_changes() -> int:
    """Audit rows of membership changes (reads may be logged too; they change nothing)."""
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.event.like("membership.%")))


@pytest.fixture
def noord():
    return make_network("noord", name="Netwerk Noord")


@pytest.fixture
def coordinator(noord):
    return member(noord, "coo@example.nl", role=Role.COORDINATOR, name="Carla Coordinator",
                  disciplines=("casemanager",))


@pytest.fixture
def coo_client(client, coordinator):
    return login_as(client, coordinator.user)


# --- inviting members ---------------------------------------------------------------------------

INVITE_URL = "/n/noord/members/invite"


def invite_data(**overrides):
    data = {"email": "sanne.bakker@example.nl", "full_name": "Sanne Bakker", "role": "member",
            "disciplines": [discipline_id("dietist"), discipline_id("leefstijlcoach")],
            "practice_name": "Diëtistenpraktijk Spaarne", "city": "Haarlem", "agb_code": "12345678"}
    data.update(overrides)
    return data


def test_coordinator_invites_a_new_person(noord, coo_client):
    assert coo_client.get(INVITE_URL).status_code == 200
    response = coo_client.post(INVITE_URL, data=invite_data())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    user = db.session.scalar(select(User).where(User.email == "sanne.bakker@example.nl"))
    assert user is not None and user.full_name == "Sanne Bakker"
    assert user.password_hash is None  # the invitation lets them choose one
    created = membership_of(noord, "sanne.bakker@example.nl")
    assert created is not None
    assert created.role is Role.MEMBER and created.is_active
    assert created.agb_code == "12345678"
    assert created.practice_name == "Diëtistenpraktijk Spaarne" and created.city == "Haarlem"
    with network_context(noord.id):
        codes = {d.code for d in db.session.scalars(select(Discipline).join(
            MembershipDiscipline, MembershipDiscipline.discipline_id == Discipline.id).where(
            MembershipDiscipline.membership_id == created.id))}
    assert codes == {"dietist", "leefstijlcoach"}
    assert response.headers["Location"].endswith(f"/n/noord/members/{created.id}")

    mails = db.session.scalars(select(Outbox).where(Outbox.kind == "mail")).all()
    assert len(mails) == 1
    assert mails[0].payload["to"] == "sanne.bakker@example.nl"
    assert mails[0].payload["template"] == "invitation"
    assert mails[0].network_id == noord.id
    assert "/invitation/" in delivered_mails("sanne.bakker@example.nl", "invitation")[0]["body"]


def test_inviting_an_existing_member_again_is_refused_and_keeps_the_form(noord, coo_client):
    member(noord, "sanne.bakker@example.nl", name="Sanne Bakker")
    users_before = db.session.scalar(select(func.count()).select_from(User))

    response = coo_client.post(INVITE_URL, data=invite_data(
        email="Sanne.Bakker@Example.nl", full_name="Sanne B. Typed Again", agb_code="87654321",
        city="Heemstede"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "is already a member of this network" in field_error(html, "email")
    assert input_value(html, "full_name") == "Sanne B. Typed Again"
    assert input_value(html, "agb_code") == "87654321"
    assert input_value(html, "city") == "Heemstede"
    assert re.search(rf'<option selected value="{discipline_id("dietist")}"|'
                     rf'<option value="{discipline_id("dietist")}" selected', html)

    assert db.session.scalar(select(func.count()).select_from(User)) == users_before
    with network_context(noord.id):
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 2
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_invite_with_a_seven_digit_agb_code_shows_the_error_next_to_the_field(noord, coo_client):
    response = coo_client.post(INVITE_URL, data=invite_data(agb_code="1234567", full_name="Joost Visser",
                                                            email="joost@example.nl"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "An AGB code has exactly 8 digits." in field_error(html, "agb_code")
    assert 'aria-invalid="true"' in re.search(r'<input[^>]*name="agb_code"[^>]*>', html).group(0)
    assert input_value(html, "full_name") == "Joost Visser"
    assert input_value(html, "email") == "joost@example.nl"
    assert input_value(html, "agb_code") == "1234567"
    assert "Joost Visser" in html
    assert db.session.scalar(select(User).where(User.email == "joost@example.nl")) is None
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_a_nul_byte_in_the_invite_form_or_a_search_is_refused_not_a_500(noord, coo_client, client):
    # PostgreSQL cannot store or compare text with NUL; the request is refused before that.
    response = coo_client.post(INVITE_URL, data=invite_data(full_name="Sanne\x00Bakker"))
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "sanne.bakker@example.nl")) is None
    assert coo_client.get("/n/noord/members", query_string={"q": "san\x00ne"}).status_code == 400
    assert coo_client.get("/n/no%00ord/members").status_code == 404
    assert coo_client.get("/n/noord/members").status_code == 200


def test_invite_without_csrf_token_is_refused(noord, coo_client):
    response = coo_client.post(INVITE_URL, data=invite_data(), csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "sanne.bakker@example.nl")) is None


def test_a_plain_member_cannot_open_the_invite_page(noord, coordinator, client):
    plain = member(noord, "lid@example.nl")
    login_as(client, plain.user)
    assert client.get("/n/noord/members").status_code == 200  # they are a member...
    assert client.get(INVITE_URL).status_code == 404  # ...but not a coordinator
    assert client.post(INVITE_URL, data=invite_data()).status_code == 404
    assert db.session.scalar(select(User).where(User.email == "sanne.bakker@example.nl")) is None


# --- deactivating and reactivating --------------------------------------------------------------

def test_get_of_the_deactivation_page_only_asks_for_confirmation(noord, coo_client):
    target = member(noord, "joost@example.nl", name="Joost Visser")
    changes_before = membership_changes()
    response = coo_client.get(f"/n/noord/members/{target.id}/active")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Deactivate Joost Visser?" in html
    assert '<form method="post"' in html
    again = membership_of(noord, "joost@example.nl")
    assert again.is_active is True and again.deactivated_at is None
    assert membership_changes() == changes_before


def test_deactivation_locks_the_member_out_and_reactivation_lets_them_back(noord, coo_client, new_client):
    target = member(noord, "joost@example.nl", name="Joost Visser")
    target_id, target_user = target.id, target.user
    joost = login_as(new_client(), target_user)
    assert joost.get("/n/noord/").status_code == 200
    assert joost.get("/n/noord/members").status_code == 200

    response = coo_client.post(f"/n/noord/members/{target_id}/active", data={})
    assert response.status_code == 302
    after = membership_of(noord, "joost@example.nl")
    assert after.is_active is False
    assert after.deactivated_at is not None
    assert db.session.scalar(select(AuditEvent.event).where(AuditEvent.object_type == "membership",
                                                            AuditEvent.object_id == target_id)
                             .order_by(AuditEvent.id.desc()).limit(1)) == "membership.deactivated"
    assert "deactivated" in coo_client.get(response.headers["Location"]).get_data(as_text=True)

    for path in ("/n/noord/", "/n/noord/members", f"/n/noord/members/{target_id}"):
        assert joost.get(path).status_code == 404, path
    # Still signed in: the session lives, only the membership gate refuses.
    assert joost.get("/account").status_code == 200
    db.session.expire_all()
    sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == target_user.id)).all()
    assert sessions and all(s.revoked_at is None for s in sessions)

    # The coordinator still sees the deactivated member and can reactivate them.
    confirm = coo_client.get(f"/n/noord/members/{target_id}/active")
    assert "Reactivate Joost Visser?" in confirm.get_data(as_text=True)
    assert coo_client.post(f"/n/noord/members/{target_id}/active", data={}).status_code == 302
    restored = membership_of(noord, "joost@example.nl")
    assert restored.is_active is True and restored.deactivated_at is None
    assert joost.get("/n/noord/").status_code == 200
    assert joost.get("/n/noord/members").status_code == 200


def test_deactivation_without_csrf_token_changes_nothing(noord, coo_client):
    target = member(noord, "joost@example.nl")
    response = coo_client.post(f"/n/noord/members/{target.id}/active", data={}, csrf=False)
    assert response.status_code == 400
    assert membership_of(noord, "joost@example.nl").is_active is True


def test_the_last_active_coordinator_cannot_be_deactivated(noord, coordinator, coo_client):
    # A second coordinator that is already deactivated does not count.
    other = member(noord, "coo2@example.nl", role=Role.COORDINATOR)
    with network_context(noord.id):
        db.session.get(Membership, other.id).deactivate()
        db.session.commit()

    response = coo_client.post(f"/n/noord/members/{coordinator.id}/active", data={}, follow_redirects=True)
    assert response.status_code == 200
    assert "A network needs at least one active coordinator." in response.get_data(as_text=True)
    assert membership_of(noord, "coo@example.nl").is_active is True
    assert coo_client.get("/n/noord/members").status_code == 200


def test_a_coordinator_can_be_deactivated_while_another_one_stays(noord, coordinator, coo_client):
    member(noord, "coo2@example.nl", role=Role.COORDINATOR)
    response = coo_client.post(f"/n/noord/members/{coordinator.id}/active", data={})
    assert response.status_code == 302
    assert membership_of(noord, "coo@example.nl").is_active is False
    assert coo_client.get("/n/noord/members").status_code == 404  # they locked themselves out


def test_a_member_of_another_network_cannot_be_deactivated(noord, coo_client):
    zuid = make_network("zuid")
    outsider = member(zuid, "zuid@example.nl")
    assert coo_client.get(f"/n/noord/members/{outsider.id}/active").status_code == 404
    assert coo_client.post(f"/n/noord/members/{outsider.id}/active", data={}).status_code == 404
    assert coo_client.post(f"/n/zuid/members/{outsider.id}/active", data={}).status_code == 404
    assert membership_of(zuid, "zuid@example.nl").is_active is True


def test_a_plain_member_cannot_deactivate(noord, coordinator, client):
    plain = member(noord, "lid@example.nl")
    login_as(client, plain.user)
    assert client.get(f"/n/noord/members/{coordinator.id}/active").status_code == 404
    assert client.post(f"/n/noord/members/{coordinator.id}/active", data={}).status_code == 404
    assert membership_of(noord, "coo@example.nl").is_active is True


# --- member directory ---------------------------------------------------------------------------

@pytest.fixture
def directory(noord, coordinator):
    member(noord, "sanne@example.nl", name="Sanne Bakker", disciplines=("dietist",))
    member(noord, "joost@example.nl", name="Joost Visser", disciplines=("fysiotherapeut",))
    member(noord, "fatima@example.nl", name="Fatima El Amrani", disciplines=("psycholoog", "dietist"))
    gone = member(noord, "pieter@example.nl", name="Pieter de Boer", disciplines=("dietist",))
    with network_context(noord.id):
        db.session.get(Membership, gone.id).deactivate()
        db.session.commit()
    return noord


def names_in(response) -> set[str]:
    assert response.status_code == 200
    rows = body_rows(response.get_data(as_text=True))
    return {re.search(r'<a href="[^"]*">([^<]*)</a>', row).group(1) for row in rows}


def test_directory_search_by_name(directory, coo_client):
    assert names_in(coo_client.get("/n/noord/members?q=sanne")) == {"Sanne Bakker"}
    assert names_in(coo_client.get("/n/noord/members?q=VISSER")) == {"Joost Visser"}
    assert names_in(coo_client.get("/n/noord/members?q=nobody-is-called-this")) == set()


def test_directory_filter_by_discipline(directory, coo_client):
    dietist = discipline_id("dietist")
    assert names_in(coo_client.get(f"/n/noord/members?discipline={dietist}")) == {"Sanne Bakker",
                                                                                   "Fatima El Amrani"}
    assert names_in(coo_client.get(f"/n/noord/members?discipline={discipline_id('fysiotherapeut')}")) == {
        "Joost Visser"}
    assert names_in(coo_client.get(f"/n/noord/members?discipline={dietist}&q=fatima")) == {"Fatima El Amrani"}
    # A filter that is not a number is ignored, not a 500.
    assert len(names_in(coo_client.get("/n/noord/members?discipline=abc"))) == 4


def test_directory_hides_deactivated_members_except_for_coordinators_who_ask(directory, coo_client,
                                                                                new_client):
    everyone_active = {"Carla Coordinator", "Sanne Bakker", "Joost Visser", "Fatima El Amrani"}
    assert names_in(coo_client.get("/n/noord/members")) == everyone_active
    assert names_in(coo_client.get("/n/noord/members?inactive=1")) == everyone_active | {"Pieter de Boer"}
    html = coo_client.get("/n/noord/members?inactive=1").get_data(as_text=True)
    assert 'class="inactive"' in html

    plain = membership_of(directory, "sanne@example.nl")
    sanne = login_as(new_client(), plain.user)
    assert names_in(sanne.get("/n/noord/members")) == everyone_active
    assert names_in(sanne.get("/n/noord/members?inactive=1")) == everyone_active
    gone = membership_of(directory, "pieter@example.nl")
    assert sanne.get(f"/n/noord/members/{gone.id}").status_code == 404
    assert coo_client.get(f"/n/noord/members/{gone.id}").status_code == 200


def test_directory_shows_only_the_own_network(directory, coo_client):
    zuid = make_network("zuid")
    member(zuid, "elders@example.nl", name="Els Elders", disciplines=("dietist",))
    assert "Els Elders" not in names_in(coo_client.get("/n/noord/members?inactive=1"))
    assert coo_client.get("/n/zuid/members").status_code == 404


def add_members(network: Network, count: int, *, start: int = 0) -> None:
    codes = ("dietist", "fysiotherapeut", "psycholoog", "ergotherapeut")
    for i in range(start, start + count):
        member(network, f"lid{i:03d}@example.nl", name=f"Lid {i:03d}", disciplines=(codes[i % 4], "anders"))


def test_directory_pagination(noord, coo_client):
    add_members(noord, 59)  # with the coordinator: 60 members, 25 per page

    page1 = coo_client.get("/n/noord/members")
    assert page1.status_code == 200
    assert len(body_rows(page1.get_data(as_text=True))) == 25
    assert "Page 1 of 3" in page1.get_data(as_text=True)
    assert "60 results" in page1.get_data(as_text=True)

    page2 = coo_client.get("/n/noord/members?page=2")
    assert len(body_rows(page2.get_data(as_text=True))) == 25
    assert not names_in(page1) & names_in(page2)

    page3 = coo_client.get("/n/noord/members?page=3")
    assert len(body_rows(page3.get_data(as_text=True))) == 10
    assert "Page 3 of 3" in page3.get_data(as_text=True)

    beyond = coo_client.get("/n/noord/members?page=999")
    assert beyond.status_code == 200
    assert "Page 3 of 3" in beyond.get_data(as_text=True)
    assert names_in(beyond) == names_in(page3)

    for bad in ("abc", "0", "-3", "1e9", "99999999999999999999999"):
        response = coo_client.get(f"/n/noord/members?page={bad}")
        assert response.status_code == 200, bad
        assert len(body_rows(response.get_data(as_text=True))) in (25, 10), bad

    # The pager keeps the filters in its links.
    filtered = coo_client.get(f"/n/noord/members?discipline={discipline_id('anders')}").get_data(as_text=True)
    assert re.search(rf'href="[^"]*discipline={discipline_id("anders")}[^"]*page=2|'
                     rf'href="[^"]*page=2[^"]*discipline={discipline_id("anders")}', filtered)


def test_member_directory_query_count_does_not_grow_with_the_members(noord, coo_client):
    add_members(noord, 4)  # 5 members with the coordinator
    coo_client.get("/n/noord/members")  # warm up: translations, first-use caches
    with counted_statements() as few:
        response = coo_client.get("/n/noord/members")
    assert len(body_rows(response.get_data(as_text=True))) == 5

    add_members(noord, 55, start=4)  # 60 members
    coo_client.get("/n/noord/members")
    with counted_statements() as many:
        response = coo_client.get("/n/noord/members")
    assert len(body_rows(response.get_data(as_text=True))) == 25
    assert "Lid 000" in response.get_data(as_text=True) and "Dietician" in response.get_data(as_text=True)

    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 12, "\n".join(few)


# --- platform administration --------------------------------------------------------------------

@pytest.fixture
def admin():
    return make_user("beheer@example.nl", name="Platform Beheer", is_platform_admin=True, locale="en",
                     password=None, mfa=False)


@pytest.fixture
def admin_client(client, admin):
    return login_as(client, admin)


def network_data(**overrides):
    data = {"name": "Oncologienetwerk Zuid", "slug": "zuid", "region": "Zuid",
            "coordinator_name": "Marieke de Vries", "coordinator_email": "marieke@example.nl"}
    data.update(overrides)
    return data


def test_admin_creates_a_network_and_invites_its_first_coordinator(admin_client):
    assert admin_client.get("/admin/networks/new").status_code == 200
    response = admin_client.post("/admin/networks/new", data=network_data())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("/admin/")

    network = db.session.scalar(select(Network).where(Network.slug == "zuid"))
    assert network is not None
    assert network.name == "Oncologienetwerk Zuid" and network.status is NetworkStatus.SETTING_UP
    coordinator = membership_of(network, "marieke@example.nl")
    assert coordinator is not None and coordinator.role is Role.COORDINATOR and coordinator.is_active
    assert coordinator.user.full_name == "Marieke de Vries"

    mails = db.session.scalars(select(Outbox).where(Outbox.kind == "mail")).all()
    assert [(m.payload["to"], m.payload["template"], m.network_id) for m in mails] == [
        ("marieke@example.nl", "invitation", network.id)]
    assert "Oncologienetwerk Zuid" in admin_client.get("/admin/").get_data(as_text=True)


def test_admin_network_slug_is_validated(admin_client):
    response = admin_client.post("/admin/networks/new", data=network_data(slug="Bad Slug!"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Use lower-case letters, digits and single hyphens only." in field_error(html, "slug")
    assert input_value(html, "name") == "Oncologienetwerk Zuid"
    assert input_value(html, "coordinator_email") == "marieke@example.nl"
    assert db.session.scalar(select(func.count()).select_from(Network)) == 0
    assert db.session.scalar(select(User).where(User.email == "marieke@example.nl")) is None
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == 0


@pytest.mark.parametrize("slug", ["noord", "Noord", " noord "])
def test_admin_cannot_take_a_slug_twice(admin_client, slug):
    existing = make_network("noord")
    response = admin_client.post("/admin/networks/new", data=network_data(slug=slug))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "This web address name is taken; choose another one." in field_error(html, "slug")
    assert input_value(html, "coordinator_name") == "Marieke de Vries"
    assert db.session.scalar(select(func.count()).select_from(Network)) == 1
    assert db.session.scalar(select(User).where(User.email == "marieke@example.nl")) is None
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == 0
    with network_context(existing.id):
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 0


def test_non_admins_get_404_on_admin_pages(noord, coo_client, admin):
    paths = ["/admin/", "/admin/networks/new", "/admin/users", f"/admin/users/{admin.id}/deactivate",
             f"/admin/users/{admin.id}/reset-mfa", "/admin/jobs"]
    for path in paths:
        assert coo_client.get(path).status_code == 404, path
    assert coo_client.post("/admin/networks/new", data=network_data()).status_code == 404
    assert coo_client.post(f"/admin/users/{admin.id}/deactivate", data={}).status_code == 404
    assert db.session.scalar(select(Network).where(Network.slug == "zuid")) is None
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True


def test_admin_sees_no_patient_data(noord, coordinator, admin_client):
    patient = make_patient(noord)
    assert admin_client.get("/admin/").status_code == 200
    for path in ("/n/noord/patients/", f"/n/noord/patients/{patient.id}", "/n/noord/patients/new",
                 "/n/noord/members"):
        response = admin_client.get(path)
        assert response.status_code == 404, path
        assert "Jansen" not in response.get_data(as_text=True)


def test_admin_deactivates_a_user_after_confirmation(admin_client, noord, new_client):
    target = member(noord, "joost@example.nl")
    user_id = target.user.id
    joost = login_as(new_client(), target.user)

    confirm = admin_client.get(f"/admin/users/{user_id}/deactivate")
    assert confirm.status_code == 200 and "joost@example.nl" in confirm.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user_id).active is True
    assert joost.get("/n/noord/").status_code == 200

    assert admin_client.post(f"/admin/users/{user_id}/deactivate", data={}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user_id).active is False
    assert joost.get("/n/noord/").status_code in (302, 401)  # signed out everywhere
    assert all(s.revoked_at is not None for s in db.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id)))


def test_admin_resets_mfa_after_confirmation(admin_client):
    target = make_user("mfa@example.nl", password=None)
    assert target.has_mfa
    assert admin_client.get(f"/admin/users/{target.id}/reset-mfa").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, target.id).has_mfa
    assert admin_client.post(f"/admin/users/{target.id}/reset-mfa", data={}).status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, target.id).has_mfa


def test_network_home_and_member_detail_render(noord, coordinator, coo_client):
    other = member(noord, "sanne@example.nl", name="Sanne Bakker", disciplines=("dietist",))
    home = coo_client.get("/n/noord/")
    assert home.status_code == 200 and "Netwerk Noord" in home.get_data(as_text=True)
    detail = coo_client.get(f"/n/noord/members/{other.id}")
    assert detail.status_code == 200
    assert "Sanne Bakker" in detail.get_data(as_text=True) and "Dietician" in detail.get_data(as_text=True)
    assert coo_client.get("/n/noord/members/999999").status_code == 404
    assert coo_client.get("/n/unknown/members").status_code == 404


def test_real_login_reaches_the_member_directory(noord, client):
    coo = member(noord, "echt@example.nl", role=Role.COORDINATOR, name="Echte Coordinator", password=True)
    login(client, coo.user)
    assert "Echte Coordinator" in client.get("/n/noord/members").get_data(as_text=True)


# --- demo data ----------------------------------------------------------------------------------

def demo_counts() -> dict[str, int]:
    def count(model):
        return db.session.scalar(all_networks(select(func.count()).select_from(model)))

    return {"users": count(User), "memberships": count(Membership), "networks": count(Network),
            "patients": count(Patient), "membership_disciplines": count(MembershipDiscipline),
            "gp_profiles": count(GPProfile)}


def test_demo_data_is_idempotent(monkeypatch):
    from app import demo

    monkeypatch.setattr(demo, "hash_password", lambda password: "not-a-real-hash")  # argon2 is slow
    load_demo = demo.load_demo
    lines = load_demo()
    first = demo_counts()
    assert any("platform admin" in line for line in lines)
    load_demo()
    db.session.expire_all()
    assert demo_counts() == first

    assert first["networks"] == 2
    assert first["patients"] >= 2 and first["memberships"] >= 10
    distinct = db.session.scalar(all_networks(select(
        func.count(func.distinct(MembershipDiscipline.discipline_id)))))
    assert distinct >= 8
    slugs = set(db.session.scalars(select(Network.slug)))
    assert slugs == {"zuid-kennemerland", "twente"}
    for network in db.session.scalars(select(Network)):
        with network_context(network.id):
            coordinators = db.session.scalar(select(func.count()).select_from(Membership).where(
                Membership.role == Role.COORDINATOR, Membership.is_active.is_(True)))
            assert coordinators >= 1, network.slug


def test_the_demo_account_table_lists_every_demo_user_with_role_and_network(app, monkeypatch):
    """`make run` prints it (seed-demo) and `flask demo-accounts` prints it again: every account that
    load_demo() made, with its network, derived from the demo data and not from a second list."""
    from app import demo

    monkeypatch.setattr(demo, "hash_password", lambda password: "not-a-real-hash")  # argon2 is slow
    seeded = app.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    printed = app.test_cli_runner().invoke(args=["demo-accounts"])
    assert printed.exit_code == 0, printed.output
    db.session.rollback()
    users = list(db.session.scalars(select(User).where(User.is_demo.is_(True))))
    assert len(users) == 1 + sum(len(spec["people"]) for spec in demo.NETWORKS) + len(demo.GPS) + 2  # patient, wife
    for output in (seeded.output, printed.output):
        lines = {line.split()[0]: line for line in output.splitlines() if "@" in line.split(" ")[0]}
        assert set(lines) == {user.email for user in users}
        assert demo.DEMO_PASSWORD in output
    memberships = db.session.execute(all_networks(
        select(User.email, Membership.role, Network.name).join(Membership, Membership.user_id == User.id)
        .join(Network, Network.id == Membership.network_id))).all()
    assert len(memberships) == sum(len(spec["people"]) for spec in demo.NETWORKS)
    for email, role, network_name in memberships:
        assert role.value in lines[email] and network_name in lines[email], lines[email]
    assert "platform admin" in lines["admin@demo.netwerkzorg.nl"]
    assert "seksuoloog" in lines["eva.mulder@demo.netwerkzorg.nl"]
    for gp_login, *_rest in demo.GPS:
        assert " GP " in lines[f"{gp_login}@demo.netwerkzorg.nl"]
    assert "/mijn/" in lines[f"{demo.PATIENT_LOGIN[0]}@demo.netwerkzorg.nl"]
    assert "relative" in lines[f"{demo.RELATIVE_LOGIN[0]}@demo.netwerkzorg.nl"]
