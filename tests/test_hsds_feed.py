"""The open directory feed (issue 15 section 2): Open Referral HSDS 3.0 JSON of the approved public networks, their
services per discipline and their postcodes, validated against the HSDS 3.0 schemas (tests/hsds-3.0/, vendored
with their licence; `$ref`s resolved from that folder); paginated in SQL, cacheable (ETag, 304), with no personal
data, and a clear 400 or 404 for bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, ServiceAreaRange
from tests.conftest import counted_statements, make_member, make_network

SCHEMAS = Path(__file__).parent / "hsds-3.0"
BASE = "https://hsds.schemas.invalid/"


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.rglob("*.json"):
        if path.name == "openapi.json":
            continue
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((BASE + str(path.relative_to(SCHEMAS)),
                          Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


REGISTRY = _registry()
PAGE = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]["Page"]


def validate(instance: dict, schema_file: str) -> None:
    schema = {"$id": BASE + "check-" + schema_file, "$ref": BASE + schema_file}
    errors = sorted(Draft202012Validator(schema, registry=REGISTRY, format_checker=FormatChecker())
                    .iter_errors(instance), key=str)
    assert errors == [], [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def validate_page(body: dict, item_schema: str) -> None:
    errors = list(Draft202012Validator({**PAGE, "required": list(PAGE["properties"])}).iter_errors(body))
    assert errors == [], [e.message for e in errors]
    for item in body["contents"]:
        validate(item, item_schema)


def _world(extra_public: int = 0):
    public = make_network("zk", name="Oncologienetwerk Zuid-Kennemerland", approved_at=utcnow(), is_public=True,
                          contact_email="info@ozk.example.nl", contact_phone="023 123 4567", kvk_number="12345678",
                          website_url="https://ozk.example.nl")
    make_member(public, "sanne@example.nl", disciplines=("dietist",), name="Sanne Bakker")
    listed = make_member(public, "frank@example.nl", disciplines=("dietist", "fysiotherapeut"), name="Frank Fysio")
    gone = make_member(public, "weg@example.nl", disciplines=("psycholoog",), name="Willem Weg")
    with network_context(public.id):
        db.session.get(Membership, gone.id).is_active = False
        db.session.get(Membership, listed.id).is_listed_in_verwijsgids = True
        db.session.add_all([ServiceAreaRange(network_id=public.id, first=2011, last=2036),
                            ServiceAreaRange(network_id=public.id, first=2100, last=2100)])
        db.session.commit()
    hidden = make_network("verborgen", name="Niet openbaar", approved_at=utcnow(), is_public=False)
    make_member(hidden, "geheim@example.nl", disciplines=("dietist",), name="Geheime Gerda")
    waiting = make_network("wacht", name="Nog niet goedgekeurd", approved_at=None, is_public=True)
    for i in range(extra_public):
        other = make_network(f"extra{i}", name=f"Netwerk {i:02d}", approved_at=utcnow(), is_public=True)
        make_member(other, f"lid{i}@example.nl", disciplines=("dietist",), name=f"Lid {i}")
    return {"public": public, "hidden": hidden, "waiting": waiting}


def test_the_validator_refuses_what_hsds_refuses():
    with pytest.raises(AssertionError):
        validate({"id": "not-a-uuid", "name": "Dietetiek", "status": "open"}, "service.json")
    with pytest.raises(AssertionError):  # a nested object, through its $ref
        validate({"id": "5b0c3b6e-8f7e-4c1a-9b0e-6f1d2a4c8e01", "name": "x", "status": "active",
                  "service_areas": [{"name": "2011-2036"}]}, "service.json")


def test_the_feed_validates_against_the_hsds_schemas_and_holds_only_public_networks(client):
    world = _world()
    root = client.get("/open/hsds/")
    assert root.status_code == 200 and root.json["version"] == "3.0"

    organizations = client.get("/open/hsds/organizations").json
    validate_page(organizations, "compiled/organization_list.json")
    assert [o["name"] for o in organizations["contents"]] == ["Oncologienetwerk Zuid-Kennemerland"]
    org_id = organizations["contents"][0]["id"]

    detail = client.get(f"/open/hsds/organizations/{org_id}").json
    validate(detail, "organization.json")
    assert detail["phones"][0]["number"] == "023 123 4567"
    assert detail["organization_identifiers"][0]["identifier"] == "12345678"
    assert detail["attributes"][0]["taxonomy_term"]["code"] == "nvpo-status:" + world["public"].status.value

    services = client.get("/open/hsds/services").json
    validate_page(services, "compiled/service_list.json")
    # In the controlled list's order; the psychologist is not offered (her only member left).
    assert [s["alternate_name"] for s in services["contents"]] == ["Fysiotherapeut", "Diëtist"]
    assert all(s["organization_id"] == org_id for s in services["contents"])
    dietician = client.get(f"/open/hsds/services/{services['contents'][1]['id']}").json
    validate(dietician, "service.json")
    assert [area["extent"] for area in dietician["service_areas"]] == ["2011-2036", "2100"]
    listed = next(a for a in dietician["attributes"] if a["taxonomy_term"]["code"] == "verwijsgids-kanker-listed")
    assert listed["value"] == "1"  # one of the two dieticians is listed

    everything = json.dumps([organizations, detail, services, dietician], ensure_ascii=False)
    for personal in ("Sanne", "Bakker", "Frank", "sanne@example.nl", "Geheime", "Niet openbaar", "Nog niet"):
        assert personal not in everything, personal


def test_unknown_hidden_and_malformed_ids_are_404_and_bad_paging_is_a_clear_400(client):
    world = _world()
    from app.directory.hsds import organization_uuid, service_uuid

    for url in (f"/open/hsds/organizations/{organization_uuid(world['hidden'].id)}",
                f"/open/hsds/organizations/{organization_uuid(world['waiting'].id)}",
                f"/open/hsds/services/{service_uuid(world['hidden'].id, 1)}",
                "/open/hsds/organizations/not-a-uuid", "/open/hsds/services/00000000-0000-0000-0000-000000000000",
                f"/open/hsds/services/{organization_uuid(world['public'].id)}"):  # an organization's id as service
        response = client.get(url)
        assert response.status_code == 404 and response.json["error"] == "not found", url
    for query in ("page=0", "page=-1", "page=abc", "per_page=101", "per_page=0", "page=99999999999"):
        response = client.get(f"/open/hsds/services?{query}")
        assert response.status_code == 400, query
        assert "whole number" in response.json["detail"] or "geheel getal" in response.json["detail"]


def test_pages_are_counted_and_cut_in_sql_and_revalidate_with_the_etag(client):
    counts = {}
    for extra in (2, 12):
        from tests.conftest import _truncate_all
        _truncate_all()
        _world(extra_public=extra)
        with counted_statements() as statements:
            first = client.get("/open/hsds/organizations?per_page=5")
            client.get("/open/hsds/services?per_page=5&page=2")
        counts[extra] = len(statements)
        body = first.json
        assert body["total_items"] == extra + 1 and body["size"] == min(5, extra + 1) and body["first_page"]
        assert body["total_pages"] == -(-(extra + 1) // 5)
        last = client.get(f"/open/hsds/organizations?per_page=5&page={body['total_pages']}").json
        assert last["last_page"] and last["size"] == (extra + 1) - 5 * (body["total_pages"] - 1)
    assert counts[2] == counts[12], counts

    response = client.get("/open/hsds/organizations")
    assert response.headers["Cache-Control"] == "public, max-age=300" and response.headers["ETag"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers
    again = client.get("/open/hsds/organizations", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


@pytest.mark.parametrize("path", ["/open/hsds/organizations", "/open/hsds/services"])
def test_an_empty_directory_is_an_empty_page(client, path):
    body = client.get(path).json
    validate_page(body, "compiled/organization_list.json" if "organizations" in path else "compiled/service_list.json")
    assert body["empty"] and body["total_items"] == 0 and body["contents"] == []
