"""NVPO checks: every criterion met and not met, against both criteria versions where they differ.

The checks are pure functions of NetworkFacts and the criterion row (seeded by migration 0002), so
most tests build facts by hand; the last tests gather facts from the database.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import event, select

from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import ContactKind, NetworkContact, Role, ServiceAreaRange
from app.quality.checks import (
    CHECKS,
    MemberFacts,
    NetworkFacts,
    NetworkProfile,
    Status,
    months_before,
    run_check,
)
from app.quality.models import CriteriaSet
from app.quality.services import current_criteria_set, gather_facts, results_without_member, run_checks
from tests.conftest import make_meeting, make_member, make_network
from tests.quality_factories import make_evidence


def add_member(network, email, **fields):
    """A member without a password (no slow hashing): these tests sign in with login_as."""
    return make_member(network, email, password=None, **fields)

VERSIONS = ("2021", "2024-02-06")


@pytest.fixture(autouse=True)
def _english():
    """Reasons are translated strings: check them in English, outside any request."""
    with force_locale("en"):
        yield

TODAY = date(2026, 11, 23)


def criterion(version: str, code: str):
    criteria_set = db.session.scalar(select(CriteriaSet).where(CriteriaSet.version == version))
    return next(c for c in criteria_set.criteria if c.code == code)


def member(member_id: int, *codes: str, listed: bool = True, in_scope: bool = True) -> MemberFacts:
    return MemberFacts(id=member_id, discipline_codes=frozenset(codes), is_listed=listed, in_verwijsgids_scope=in_scope)


GOOD_PROFILE = NetworkProfile(
    is_public=False, service_area="2011-2036", contact_name="Marieke de Vries", contact_phone="",
    contact_email="info@netwerk.nl", website_url="https://netwerk.nl", website_updated_on=TODAY - timedelta(days=30),
    legal_form="Stichting", kvk_number="12345678", is_not_for_profit=True, vision_text="Zorg dichtbij huis.",
    participation_text="Twee keer per jaar naar het netwerkoverleg.", participation_min_meetings=None,
    local_attested=True)


def good_facts(**changes) -> NetworkFacts:
    """A network that meets every criterion (under both versions)."""
    facts = NetworkFacts(
        profile=GOOD_PROFILE,
        members=(member(1, "fysiotherapeut"), member(2, "dietist"), member(3, "psycholoog"),
                 member(4, "ergotherapeut"), member(5, "huisarts", listed=False, in_scope=False)),
        contacts_by_kind={"hospital": 1, "gp_practice": 2}, evidence_by_code={"2b": 1}, postcode_areas=26,
        today=TODAY)
    return replace(facts, **changes)


def profile(**changes) -> NetworkProfile:
    return replace(GOOD_PROFILE, **changes)


def check(version: str, code: str, facts: NetworkFacts):
    return run_check(facts, criterion(version, code))


def test_every_seeded_criterion_has_a_registered_check():
    for criteria_set in db.session.scalars(select(CriteriaSet)):
        assert {c.code for c in criteria_set.criteria} <= set(CHECKS), criteria_set.version
    assert {criteria_set.version for criteria_set in db.session.scalars(select(CriteriaSet))} == set(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_complete_network_meets_every_criterion(version):
    for code in CHECKS:
        result = check(version, code, good_facts())
        assert result.status is Status.MET, (code, result)


def test_the_current_set_is_the_latest_in_force():
    assert current_criteria_set(date(2023, 12, 31)).version == "2021"
    assert current_criteria_set(date(2024, 2, 5)).version == "2021"
    assert current_criteria_set(date(2024, 2, 6)).version == "2024-02-06"
    assert current_criteria_set().version == "2024-02-06"
    assert current_criteria_set(date(2020, 12, 31)) is None


# --- 1: disciplines -------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_1a_needs_five_different_disciplines(version):
    four = good_facts(members=(*good_facts().members[:4], member(6, "dietist")))
    result = check(version, "1a", four)
    assert result.status is Status.NOT_MET
    assert "4 different disciplines" in result.reason and "at least 5" in result.reason
    assert result.fix_endpoint == "networks.invite_member"
    assert check(version, "1a", good_facts()).status is Status.MET


@pytest.mark.parametrize("version", VERSIONS)
def test_1b_without_a_dietician_is_not_met(version):
    facts = good_facts(members=tuple(m for m in good_facts().members if "dietist" not in m.discipline_codes))
    result = check(version, "1b", facts)
    assert result.status is Status.NOT_MET
    assert "dietician" in result.reason and "physiotherapist" not in result.reason
    assert result.fix_endpoint == "networks.invite_member"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("psychosocial", ["psycholoog", "maatschappelijk_werker", "psychosociaal_therapeut", "poh_ggz"])
def test_1b_any_psychosocial_discipline_counts(version, psychosocial):
    base = [m for m in good_facts().members if "psycholoog" not in m.discipline_codes]
    assert check(version, "1b", good_facts(members=tuple(base))).status is Status.NOT_MET
    facts = good_facts(members=(*base, member(9, psychosocial)))
    assert check(version, "1b", facts).status is Status.MET


@pytest.mark.parametrize("version", VERSIONS)
def test_1b_a_sexologist_is_not_a_required_psychosocial_provider(version):
    base = [m for m in good_facts().members if "psycholoog" not in m.discipline_codes]
    result = check(version, "1b", good_facts(members=(*base, member(9, "seksuoloog"))))
    assert result.status is Status.NOT_MET and "psychosocial" in result.reason


# --- 2a: the share listed in the Verwijsgids, 50% (2021) and 60% (2024) --------------------------------

def _scope_members(listed: int, total: int) -> tuple[MemberFacts, ...]:
    in_scope = tuple(member(i, "fysiotherapeut", listed=i < listed) for i in range(total))
    outside = (member(100, "huisarts", listed=False, in_scope=False),)  # a GP: not counted at all
    return in_scope + outside


def test_2a_at_55_percent_is_met_under_2021_and_a_warning_under_2024():
    facts = good_facts(members=_scope_members(11, 20))
    old, new = check("2021", "2a", facts), check("2024-02-06", "2a", facts)
    assert old.status is Status.MET and "55% ≥ 50%" in old.reason
    assert new.status is Status.WARNING and "11 of 20" in new.reason and "55% < 60%" in new.reason
    assert new.fix


@pytest.mark.parametrize("version, threshold", [("2021", 50), ("2024-02-06", 60)])
def test_2a_exactly_the_threshold_is_met_and_one_below_is_a_warning(version, threshold):
    assert check(version, "2a", good_facts(members=_scope_members(threshold, 100))).status is Status.MET
    below = check(version, "2a", good_facts(members=_scope_members(threshold - 1, 100)))
    assert below.status is Status.WARNING and f"{threshold - 1}% < {threshold}%" in below.reason


def test_2a_reason_rounds_down_so_it_never_shows_the_threshold_when_short():
    result = check("2024-02-06", "2a", good_facts(members=_scope_members(3, 11)))
    assert result.status is Status.WARNING and "3 of 11" in result.reason and "27% < 60%" in result.reason
    nearly = check("2024-02-06", "2a", good_facts(members=_scope_members(149, 250)))  # 59.6%
    assert nearly.status is Status.WARNING and "59% < 60%" in nearly.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_2a_without_members_in_verwijsgids_professions_is_a_warning(version):
    facts = good_facts(members=(member(1, "huisarts", listed=False, in_scope=False),))
    assert check(version, "2a", facts).status is Status.WARNING


def test_2a_is_warning_level_in_the_data():
    assert criterion("2021", "2a").is_warning_level and criterion("2024-02-06", "2a").is_warning_level
    assert criterion("2021", "2a").params["threshold_percent"] == 50
    assert criterion("2024-02-06", "2a").params["threshold_percent"] == 60


# --- 2b, 3, 4: public page, agreements, vision ---------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_2b_met_by_the_public_page_or_by_evidence(version):
    nothing = good_facts(evidence_by_code={})
    assert check(version, "2b", nothing).status is Status.NEEDS_EVIDENCE
    assert check(version, "2b", replace(nothing, profile=profile(is_public=True))).status is Status.MET
    assert check(version, "2b", good_facts(evidence_by_code={"2b": 1})).status is Status.MET
    assert check(version, "2b", good_facts(evidence_by_code={"4": 1})).status is Status.NEEDS_EVIDENCE


@pytest.mark.parametrize("version", VERSIONS)
def test_3_needs_an_agreement_text_a_rule_or_evidence(version):
    none = good_facts(profile=profile(participation_text=" "))
    result = check(version, "3", none)
    assert result.status is Status.NEEDS_EVIDENCE and result.fix_endpoint == "networks.settings"
    assert check(version, "3", replace(none, evidence_by_code={"3": 2})).status is Status.MET
    assert check(version, "3", good_facts()).status is Status.MET
    ruled = replace(none, profile=profile(participation_text="", participation_min_meetings=2))
    assert check(version, "3", ruled).status is Status.MET


def test_3_shows_how_many_members_meet_the_rule():
    facts = good_facts(profile=profile(participation_min_meetings=2), attended_last_year={1: 3, 2: 2, 3: 1},
                       meetings_last_year=4)
    result = check("2024-02-06", "3", facts)
    assert result.status is Status.MET
    assert result.details == ("2 of 5 active members attended at least 2 meetings in the last 12 months.",)
    assert check("2024-02-06", "3", replace(facts, meetings_last_year=0)).details == ()


@pytest.mark.parametrize("version", VERSIONS)
def test_4_needs_a_vision_text_or_evidence(version):
    none = good_facts(profile=profile(vision_text=""))
    assert check(version, "4", none).status is Status.NEEDS_EVIDENCE
    assert check(version, "4", replace(none, evidence_by_code={"4": 1})).status is Status.MET
    assert check(version, "4", good_facts()).status is Status.MET


# --- 5, 6, 7: legal form, local, website ----------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("changes, missing", [
    ({"is_not_for_profit": False}, "not-for-profit"),
    ({"legal_form": ""}, "legal form"),
    ({"kvk_number": "1234567"}, "8-digit KvK"),
    ({"kvk_number": "1234567a"}, "8-digit KvK"),
])
def test_5_needs_not_for_profit_legal_form_and_kvk(version, changes, missing):
    result = check(version, "5", good_facts(profile=profile(**changes)))
    assert result.status is Status.NOT_MET and missing in result.reason
    assert result.fix_endpoint == "networks.settings"


@pytest.mark.parametrize("version", VERSIONS)
def test_6_needs_a_service_area_and_the_attestation(version):
    no_area = check(version, "6", good_facts(profile=profile(service_area=""), postcode_areas=0))
    assert no_area.status is Status.NOT_MET and "service area" in no_area.reason
    unattested = check(version, "6", good_facts(profile=profile(local_attested=False)))
    assert unattested.status is Status.NOT_MET and "attested" in unattested.reason
    assert check(version, "6", good_facts(postcode_areas=60)).status is Status.MET


@pytest.mark.parametrize("version", VERSIONS)
def test_6_warns_when_the_area_is_very_large(version):
    result = check(version, "6", good_facts(postcode_areas=61))
    assert result.status is Status.WARNING and "61 postcode areas" in result.reason and "60" in result.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_7_needs_a_recent_website_or_the_public_page(version):
    no_url = good_facts(profile=profile(website_url=""))
    assert check(version, "7", no_url).status is Status.NOT_MET
    assert check(version, "7", replace(no_url, profile=profile(website_url="", is_public=True))).status is Status.MET
    boundary = months_before(TODAY, 12)
    assert check(version, "7", good_facts(profile=profile(website_updated_on=boundary))).status is Status.MET
    stale = check(version, "7", good_facts(profile=profile(website_updated_on=boundary - timedelta(days=1))))
    assert stale.status is Status.NOT_MET and "12 months" in stale.reason
    assert check(version, "7", good_facts(profile=profile(website_updated_on=None))).status is Status.NOT_MET


def test_months_before_clamps_to_the_end_of_the_month():
    assert months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)
    assert months_before(date(2025, 3, 31), 1) == date(2025, 2, 28)
    assert months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)


# --- 8, 9, 10: contacts and the contact point ---------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("code, kind, other", [("8", "hospital", "gp_practice"), ("9", "gp_practice", "hospital")])
def test_8_and_9_need_a_contact_of_their_kind_or_evidence(version, code, kind, other):
    only_other = good_facts(contacts_by_kind={other: 3})
    result = check(version, code, only_other)
    assert result.status is Status.NEEDS_EVIDENCE and result.fix_endpoint == "networks.contacts"
    assert check(version, code, replace(only_other, evidence_by_code={code: 1})).status is Status.MET
    assert check(version, code, good_facts(contacts_by_kind={kind: 1})).status is Status.MET


@pytest.mark.parametrize("version", VERSIONS)
def test_10_needs_a_contact_name_and_phone_or_email(version):
    assert check(version, "10", good_facts(profile=profile(contact_email="", contact_phone=""))).status \
        is Status.NOT_MET
    assert check(version, "10", good_facts(profile=profile(contact_name=""))).status is Status.NOT_MET
    phone_only = profile(contact_email="", contact_phone="023 123 4567")
    assert check(version, "10", good_facts(profile=phone_only)).status is Status.MET


def test_an_unknown_code_in_the_data_needs_evidence_instead_of_crashing():
    unknown = replace_code(criterion("2024-02-06", "4"), "99")
    assert run_check(good_facts(), unknown).status is Status.NEEDS_EVIDENCE


def replace_code(original, code):
    from app.quality.models import Criterion

    return Criterion(code=code, kind=original.kind, is_warning_level=False, params={}, title_nl="x", title_en="x")


# --- facts from the database --------------------------------------------------------------------------

@pytest.fixture
def noord():
    network = make_network("noord", contact_name="Marieke", contact_email="info@noord.nl", service_area="2011-2015",
                           local_attested=True, participation_min_meetings=2)
    coordinator = add_member(network, "coo@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    return network, coordinator


def test_gather_facts_reads_the_network(noord):
    network, coordinator = noord
    physio = add_member(network, "fysio@example.nl", disciplines=("fysiotherapeut", "oedeemtherapeut"))
    gp = add_member(network, "gp@example.nl", disciplines=("huisarts",))
    gone = add_member(network, "weg@example.nl", disciplines=("dietist",))
    other = make_network("zuid")
    add_member(other, "elders@example.nl", disciplines=("psycholoog",))
    make_evidence(add_member(other, "coo-zuid@example.nl", role=Role.COORDINATOR), code="4")
    today = date.today()  # the meetings feature's participation_summary counts up to the real today
    make_meeting(network, held_on=today - timedelta(days=10), attendees=(physio, gp))
    make_meeting(network, held_on=today - timedelta(days=20), attendees=(physio,))
    make_meeting(network, held_on=today - timedelta(days=400), attendees=(gp,))  # too long ago
    with network_context(network.id):
        gone.is_listed_in_verwijsgids = True
        gone.deactivate()
        db.session.get(type(physio), physio.id).is_listed_in_verwijsgids = True
        db.session.add_all([
            NetworkContact(network_id=network.id, kind=ContactKind.HOSPITAL, organisation="Spaarne Gasthuis"),
            ServiceAreaRange(network_id=network.id, first=2011, last=2015),
            ServiceAreaRange(network_id=network.id, first=2014, last=2020),  # overlaps: counted once
        ])
        db.session.commit()
    make_evidence(coordinator, code="2b")
    removed = make_evidence(coordinator, code="4")
    with network_context(network.id):
        db.session.get(type(removed), removed.id).removed_at = removed.created_at
        db.session.commit()
        facts = gather_facts(db.session.get(type(network), network.id), today=today)
    by_id = {m.id: m for m in facts.members}
    assert set(by_id) == {coordinator.id, physio.id, gp.id}  # active members of this network only
    assert by_id[physio.id].discipline_codes == {"fysiotherapeut", "oedeemtherapeut"}
    assert by_id[physio.id].is_listed and by_id[physio.id].in_verwijsgids_scope
    assert not by_id[gp.id].in_verwijsgids_scope and not by_id[coordinator.id].in_verwijsgids_scope
    assert facts.contacts_by_kind == {"hospital": 1}
    assert facts.evidence_by_code == {"2b": 1}  # removed evidence and other networks' evidence do not count
    assert facts.postcode_areas == 10
    attended = {key: count for key, count in facts.attended_last_year.items() if count}
    assert attended == {physio.id: 2, gp.id: 1} and facts.meetings_last_year == 2


def test_gather_facts_uses_a_fixed_number_of_queries(noord):
    network, _coordinator = noord
    counts = []
    for round_ in range(2):
        for i in range(6):
            add_member(network, f"m{round_}-{i}@example.nl", disciplines=("fysiotherapeut", "dietist"))
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            with network_context(network.id):
                gather_facts(db.session.get(type(network), network.id))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 10, counts


def test_results_without_member_lists_what_the_only_dietician_breaks(noord):
    network, _coordinator = noord
    # casemanager (the coordinator), physiotherapist, psychologist, GP and dietician: 5 disciplines.
    for email, code in [("f@x.nl", "fysiotherapeut"), ("p@x.nl", "psycholoog"), ("h@x.nl", "huisarts")]:
        add_member(network, email, disciplines=(code,))
    dietician = add_member(network, "d@x.nl", disciplines=("dietist",))
    second_physio = add_member(network, "f2@x.nl", disciplines=("fysiotherapeut",))
    with network_context(network.id):
        live = db.session.get(type(network), network.id)
        codes = [b.criterion.code for b in results_without_member(live, dietician.id)]
        assert codes == ["1a", "1b"]  # 4 disciplines left, and no dietician
        assert results_without_member(live, second_physio.id) == []
        before = {row.criterion.code: row.result.status for row in run_checks(live, current_criteria_set())}
    assert before["1b"] is Status.MET
