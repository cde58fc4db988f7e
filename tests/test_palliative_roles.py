"""Issue 13 §1: the hospital's roles on a case (prefilled from the referral, with history, shown to the team
and the GP), the central care provider outside the network (with history), and the "who for what" directory."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cases.models import ConsentPart
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.palliative.models import CareContact, HospitalRole, OutsideCentralProvider
from tests.case_factories import add_to_team, make_case
from tests.conftest import login_as, make_gp, make_member, make_network
from tests.referral_factories import make_referral


@pytest.fixture
def world():
    network = make_network("pal", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@pal.example", role=Role.COORDINATOR)
    member = make_member(network, "dietist@pal.example", disciplines=("dietist",))
    notes_only = make_member(network, "fysio@pal.example", disciplines=("fysiotherapeut",))
    gp = make_gp("gp@pal.example", "12121212", email_verified_at=utcnow())
    case = make_case(network, gp, coordinator, specialist="dr. Jansen-Oncoloog", hospital="Rode Kruis Ziekenhuis")
    add_to_team(case, coordinator.user, member)
    add_to_team(case, coordinator.user, notes_only, parts={ConsentPart.NOTES})
    return {"network": network, "coordinator": coordinator, "member": member, "notes_only": notes_only, "gp": gp,
            "case": case}


def _roles_url(w):
    return f"/n/{w['network'].slug}/cases/{w['case'].id}/rollen"


def _count(model, network) -> int:
    with network_context(network.id):
        return db.session.scalar(select(func.count()).select_from(model))


def test_the_specialist_is_prefilled_from_the_referral_and_history_is_kept(client, world):
    login_as(client, world["member"].user)
    page = client.get(_roles_url(world)).get_data(as_text=True)
    assert 'value="dr. Jansen-Oncoloog"' in page and 'value="Rode Kruis Ziekenhuis"' in page
    for name in ("dr. Eerste", "dr. Tweede"):
        response = client.post(_roles_url(world), data={"form": "hospital", "kind": "specialist", "name": name,
                                                         "function": "internist-oncoloog", "reach": "023-1234567"})
        assert response.status_code == 302
    with network_context(world["network"].id):
        names = list(db.session.scalars(select(HospitalRole.name).order_by(HospitalRole.id)))
    assert names == ["dr. Eerste", "dr. Tweede"]
    page = client.get(_roles_url(world)).get_data(as_text=True)
    current = page.split('data-role="specialist"')[1].split("</dd>")[0]
    assert "dr. Tweede" in current and "dr. Eerste" not in current
    assert "dr. Eerste" in page  # in the history


def test_a_role_without_a_name_is_refused_and_the_rest_is_kept(client, world):
    login_as(client, world["coordinator"].user)
    response = client.post(_roles_url(world), data={"form": "hospital", "kind": "case_manager", "name": "  ",
                                                    "hospital": "Spaarne Gasthuis Noord"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Spaarne Gasthuis Noord" in page
    assert _count(HospitalRole, world["network"]) == 0
    bad_kind = client.post(_roles_url(world), data={"form": "hospital", "kind": "surgeon", "name": "X"})
    assert bad_kind.status_code == 400 and _count(HospitalRole, world["network"]) == 0


def test_the_consent_door_decides_who_sees_the_roles(client, world):
    login_as(client, world["notes_only"].user)  # on the team, but the intake part is not consented
    assert client.get(_roles_url(world)).status_code == 404
    outsider = make_member(world["network"], "outsider@pal.example", disciplines=("dietist",))
    login_as(client, outsider.user)
    assert client.get(_roles_url(world)).status_code == 404
    assert client.post(_roles_url(world), data={"form": "hospital", "kind": "specialist",
                                                "name": "X"}).status_code == 404
    assert _count(HospitalRole, world["network"]) == 0


def test_the_gp_or_an_outside_professional_becomes_central_and_hands_back(client, world):
    login_as(client, world["member"].user)  # not central: may not change it
    assert client.post(_roles_url(world), data={"form": "central", "kind": "gp", "name": "X"}).status_code == 404
    login_as(client, world["coordinator"].user)
    response = client.post(_roles_url(world), data={"form": "central", "kind": "outside",
                                                    "name": "Wijkverpleegkundige Bos", "organisation": "Buurtzorg",
                                                    "reason": "Thuis in de laatste fase"})
    assert response.status_code == 302
    page = client.get(_roles_url(world)).get_data(as_text=True)
    assert 'data-central="outside"' in page and "Wijkverpleegkundige Bos" in page
    assert client.post(_roles_url(world), data={"form": "hand_back", "reason": "Terug"}).status_code == 302
    page = client.get(_roles_url(world)).get_data(as_text=True)
    assert 'data-central="member"' in page
    assert "Wijkverpleegkundige Bos" in page  # kept in the history
    assert _count(OutsideCentralProvider, world["network"]) == 1


def test_the_gp_sees_the_roles_in_the_portal(client, world):
    login_as(client, world["coordinator"].user)
    client.post(_roles_url(world), data={"form": "hospital", "kind": "case_manager", "name": "Petra Casemanager",
                                         "reach": "06-11112222"})
    client.post(_roles_url(world), data={"form": "central", "kind": "gp", "name": "Huisarts De Linde"})
    login_as(client, world["gp"])
    page = client.get(f"/verwijzer/verwijzingen/{world['case'].referral_id}").get_data(as_text=True)
    assert "Petra Casemanager" in page and "06-11112222" in page
    assert "data-outside-central" in page and "Huisarts De Linde" in page


def _contact(client, w, organisation, **extra):
    return client.post(f"/n/{w['network'].slug}/wie-waarvoor/nieuw",
                       data={"organisation": organisation, "role": "palliative_team", **extra})


def test_the_directory_is_kept_by_the_coordinator_and_read_by_members(client, world):
    slug = world["network"].slug
    login_as(client, world["member"].user)
    assert _contact(client, world, "Ziekenhuis A").status_code == 404
    login_as(client, world["coordinator"].user)
    refused = _contact(client, world, "Ziekenhuis A", email="geen-mail", tumour_type="long")
    assert refused.status_code == 400 and 'value="long"' in refused.get_data(as_text=True)
    for number in range(27):
        assert _contact(client, world, f"Ziekenhuis {number:02d}", for_what="Pijnbestrijding").status_code == 302
    login_as(client, world["member"].user)
    first = client.get(f"/n/{slug}/wie-waarvoor").get_data(as_text=True)
    second = client.get(f"/n/{slug}/wie-waarvoor?page=2").get_data(as_text=True)
    assert "Ziekenhuis 00" in first and "Ziekenhuis 26" not in first
    assert "Ziekenhuis 26" in second and "Ziekenhuis 00" not in second
    filtered = client.get(f"/n/{slug}/wie-waarvoor?q=Ziekenhuis+26").get_data(as_text=True)
    assert "Ziekenhuis 26" in filtered and "Ziekenhuis 25" not in filtered
    login_as(client, world["coordinator"].user)
    with network_context(world["network"].id):
        contact_id = db.session.scalar(select(CareContact.id).where(CareContact.organisation == "Ziekenhuis 00"))
    assert client.post(f"/n/{slug}/wie-waarvoor/{contact_id}/verwijderen", data={"confirm": "y"}).status_code == 302
    assert "Ziekenhuis 00" not in client.get(f"/n/{slug}/wie-waarvoor").get_data(as_text=True)
    assert _count(CareContact, world["network"]) == 27  # removed from the list, not deleted


def test_gps_who_refer_to_the_network_read_the_directory(client, world):
    login_as(client, world["coordinator"].user)
    _contact(client, world, "Antoni van Leeuwenhoek", for_what="Tweede mening")
    url = f"/verwijzer/netwerken/{world['network'].slug}/wie-waarvoor"
    login_as(client, world["gp"])
    assert "Antoni van Leeuwenhoek" in client.get(url).get_data(as_text=True)
    stranger = make_gp("other@pal.example", "34343434", email_verified_at=utcnow())
    login_as(client, stranger)
    assert client.get(url).status_code == 404
    other = make_network("elders", approved_at=utcnow())
    make_referral(other, stranger)
    assert client.get(url).status_code == 404  # referring elsewhere gives nothing here
    assert client.get("/verwijzer/netwerken/bestaat-niet/wie-waarvoor").status_code == 404
