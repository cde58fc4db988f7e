"""One small check per NVPO criterion code, registered in CHECKS; facts in, CheckResult out.

A check reads only the NetworkFacts gathered once per run (services.gather_facts) and the
criterion's params, so a new criteria version is a data change plus, at most, a new check.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.core.dates import shift_months
from app.quality.models import Criterion


class Status(enum.StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NEEDS_EVIDENCE = "needs_evidence"
    WARNING = "warning"

    @property
    def label(self) -> str:
        return str({"met": _l("Met"), "not_met": _l("Not met"), "needs_evidence": _l("Needs evidence"),
                    "warning": _l("Warning")}[self.value])


@dataclass(frozen=True)
class CheckResult:
    status: Status
    reason: str
    fix: str = ""
    fix_endpoint: str | None = None  # resolved by the view; a missing endpoint falls back to networks.home
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberFacts:
    id: int
    discipline_codes: frozenset[str]
    is_listed: bool
    in_verwijsgids_scope: bool


@dataclass(frozen=True)
class NetworkProfile:
    """The Network columns the checks read (a plain copy: results_without_member must not touch the row)."""

    is_public: bool
    service_area: str
    contact_name: str
    contact_phone: str
    contact_email: str
    website_url: str
    website_updated_on: date | None
    legal_form: str
    kvk_number: str
    is_not_for_profit: bool
    vision_text: str
    participation_text: str
    participation_min_meetings: int | None
    local_attested: bool


@dataclass(frozen=True)
class NetworkFacts:
    profile: NetworkProfile
    members: tuple[MemberFacts, ...]                 # active memberships only
    contacts_by_kind: dict[str, int]                 # NetworkContact.kind -> count
    evidence_by_code: dict[str, int]                 # criterion code -> evidence items not removed
    postcode_areas: int                              # distinct 4-digit areas in the service area
    attended_last_year: dict[int, int] = field(default_factory=dict)  # membership id -> meetings
    meetings_last_year: int = 0
    today: date = field(default_factory=date.today)

    def without_member(self, membership_id: int) -> NetworkFacts:
        return replace(self, members=tuple(m for m in self.members if m.id != membership_id))


CheckFunction = Callable[[NetworkFacts, Criterion], CheckResult]
CHECKS: dict[str, CheckFunction] = {}
SETTINGS = "networks.settings"   # built by a colleague; the view falls back to networks.home
CONTACTS = "networks.contacts"   # likewise
INVITE = "networks.invite_member"
EVIDENCE = "quality.index"

REQUIRED_GROUP_LABELS = {"physiotherapist": _l("physiotherapist"), "dietician": _l("dietician"),
                         "psychosocial": _l("psychosocial care provider")}


def check(code: str):
    """Register the check for criterion *code*."""
    def register(func: CheckFunction) -> CheckFunction:
        CHECKS[code] = func
        return func
    return register


def run_check(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    func = CHECKS.get(criterion.code)
    if func is None:  # a new code in the data without its check: say so, never crash the page
        return CheckResult(Status.NEEDS_EVIDENCE, _("This criterion is not checked automatically."),
                           _("Add evidence for it."), EVIDENCE)
    return func(facts, criterion)


def _evidence(facts: NetworkFacts, code: str) -> int:
    return facts.evidence_by_code.get(code, 0)


def _evidence_result(facts: NetworkFacts, code: str, fix: str) -> CheckResult:
    count = _evidence(facts, code)
    if count:
        return CheckResult(Status.MET, ngettext("%(num)d evidence item added.", "%(num)d evidence items added.", count))
    return CheckResult(Status.NEEDS_EVIDENCE, _("No evidence yet."), fix, EVIDENCE)


@check("1a")
def multidisciplinary(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    minimum = int(criterion.params.get("min_disciplines", 5))
    codes = {code for member in facts.members for code in member.discipline_codes}
    reason = _("%(n)d different disciplines among %(members)d active members; at least %(min)d needed.",
               n=len(codes), members=len(facts.members), min=minimum)
    if len(codes) >= minimum:
        return CheckResult(Status.MET, reason)
    return CheckResult(Status.NOT_MET, reason,
                       ngettext("Invite members of %(num)d more discipline.",
                                "Invite members of %(num)d more disciplines.", minimum - len(codes)), INVITE)


@check("1b")
def required_disciplines(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    required: dict[str, list[str]] = criterion.params.get("required", {})
    present = {code for member in facts.members for code in member.discipline_codes}
    missing = [str(REQUIRED_GROUP_LABELS.get(group, group)) for group, codes in required.items()
               if not present & set(codes)]
    if not missing:
        return CheckResult(Status.MET, _("A member of every required group is active: %(groups)s.",
                                         groups=", ".join(str(REQUIRED_GROUP_LABELS.get(g, g)) for g in required)))
    return CheckResult(Status.NOT_MET, _("No active member who is a %(missing)s.", missing=", ".join(missing)),
                       _("Add a %(missing)s to the network.", missing=", ".join(missing)), INVITE)


@check("2a")
def verwijsgids_share(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    threshold = int(criterion.params.get("threshold_percent") or 0)
    in_scope = [m for m in facts.members if m.in_verwijsgids_scope]
    listed = sum(1 for m in in_scope if m.is_listed)
    short = Status.WARNING if criterion.is_warning_level else Status.NOT_MET
    if not in_scope:
        return CheckResult(short, _("No active members in professions that the Verwijsgids Kanker covers."),
                           _("Invite members of those professions."), INVITE)
    percent = listed * 100 // len(in_scope)  # rounded down: never shows 60% for 59.6%
    if listed * 100 >= threshold * len(in_scope):  # exact comparison, no rounding
        return CheckResult(Status.MET, _("%(listed)d of %(total)d members listed: %(pct)d%% ≥ %(min)d%%",
                                         listed=listed, total=len(in_scope), pct=percent, min=threshold))
    return CheckResult(short, _("%(listed)d of %(total)d members listed: %(pct)d%% < %(min)d%%",
                                listed=listed, total=len(in_scope), pct=percent, min=threshold),
                       _("Mark the members who are listed in the Verwijsgids Kanker in their profiles, "
                         "or help more members get listed."), "networks.members")


@check("2b")
def verwijsgids_shown(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    if facts.profile.is_public:
        return CheckResult(Status.MET, _("The network's public page shows a Verwijsgids badge per member."))
    return _evidence_result(facts, criterion.code,
                            _("Publish the network's public page, or add the URL of your own page as evidence."))


@check("3")
def participation(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    profile = facts.profile
    rule = profile.participation_min_meetings
    details: tuple[str, ...] = ()
    if rule and facts.meetings_last_year:
        meeting = sum(1 for m in facts.members if facts.attended_last_year.get(m.id, 0) >= rule)
        details = (_("%(meeting)d of %(total)d active members attended at least %(rule)d meetings in the "
                     "last 12 months.", meeting=meeting, total=len(facts.members), rule=rule),)
    if rule:
        return CheckResult(Status.MET, _("Rule: at least %(n)d meetings a year.", n=rule), details=details)
    if profile.participation_text.strip():
        return CheckResult(Status.MET, _("The participation agreement is written down."))
    result = _evidence_result(facts, criterion.code,
                              _("Write down the participation agreement in the network settings, or add it "
                                "as evidence."))
    return replace(result, fix_endpoint=SETTINGS) if result.status is Status.NEEDS_EVIDENCE else result


@check("4")
def vision(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    if facts.profile.vision_text.strip():
        return CheckResult(Status.MET, _("The vision is written down in the network settings."))
    return _evidence_result(facts, criterion.code,
                            _("Write the vision in the network settings, or add a document as evidence."))


@check("5")
def not_for_profit(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    profile = facts.profile
    missing = []
    if not profile.is_not_for_profit:
        missing.append(_("the not-for-profit attestation"))
    if not profile.legal_form.strip():
        missing.append(_("the legal form"))
    if not re.fullmatch(r"\d{8}", profile.kvk_number or ""):
        missing.append(_("an 8-digit KvK number"))
    if not missing:
        return CheckResult(Status.MET, _("Not-for-profit %(form)s, KvK %(kvk)s.", form=profile.legal_form,
                                         kvk=profile.kvk_number))
    return CheckResult(Status.NOT_MET, _("Missing: %(what)s.", what=", ".join(missing)),
                       _("Fill in the legal details in the network settings."), SETTINGS)


@check("6")
def local(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    profile = facts.profile
    maximum = int(criterion.params.get("max_postcode_areas", 60))
    if not (profile.service_area.strip() or facts.postcode_areas):
        return CheckResult(Status.NOT_MET, _("No service area is registered."),
                           _("Register the service area (postcodes) in the network settings."), SETTINGS)
    if not profile.local_attested:
        return CheckResult(Status.NOT_MET, _("The coordinator has not attested that the network is local."),
                           _("Attest it in the network settings."), SETTINGS)
    if facts.postcode_areas > maximum:
        return CheckResult(Status.WARNING, _("The service area covers %(n)d postcode areas (more than %(max)d): "
                                             "is the network still local?", n=facts.postcode_areas, max=maximum),
                           _("Check the service area in the network settings."), SETTINGS)
    return CheckResult(Status.MET, _("Local service area of %(n)d postcode areas, attested.",
                                     n=facts.postcode_areas))


def months_before(day: date, months: int) -> date:
    """The same day *months* earlier (the month's last day when it is shorter)."""
    return shift_months(day, -months)


@check("7")
def website(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    profile = facts.profile
    max_age = int(criterion.params.get("max_age_months", 12))
    if profile.is_public:
        return CheckResult(Status.MET, _("The network's public page in Netwerkzorg is its website."))
    if not profile.website_url.strip():
        return CheckResult(Status.NOT_MET, _("No website address is set."),
                           _("Add the website address in the network settings, or publish the network's "
                             "public page."), SETTINGS)
    updated = profile.website_updated_on
    if updated is None or updated < months_before(facts.today, max_age):
        when = updated.isoformat() if updated else _("unknown")
        return CheckResult(Status.NOT_MET, _("The website was last updated on %(date)s, more than %(n)d months "
                                             "ago.", date=when, n=max_age),
                           _("Update the website and record the date in the network settings."), SETTINGS)
    return CheckResult(Status.MET, _("%(url)s, updated on %(date)s.", url=profile.website_url,
                                     date=updated.isoformat()))


def _contacts(facts: NetworkFacts, criterion: Criterion, fix: str) -> CheckResult:
    count = facts.contacts_by_kind.get(str(criterion.params.get("contact_kind", "")), 0)
    if count:
        return CheckResult(Status.MET, ngettext("%(num)d structural contact registered.",
                                                "%(num)d structural contacts registered.", count))
    result = _evidence_result(facts, criterion.code, fix)
    return replace(result, fix_endpoint=CONTACTS) if result.status is Status.NEEDS_EVIDENCE else result


@check("8")
def hospital_contacts(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    return _contacts(facts, criterion, _("Register a partner hospital with its contact person, or add evidence."))


@check("9")
def gp_contacts(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    return _contacts(facts, criterion, _("Register a GP practice or cooperative with its contact person, "
                                         "or add evidence."))


@check("10")
def contact_point(facts: NetworkFacts, criterion: Criterion) -> CheckResult:
    profile = facts.profile
    if profile.contact_name.strip() and (profile.contact_phone.strip() or profile.contact_email.strip()):
        return CheckResult(Status.MET, _("Contact point: %(name)s.", name=profile.contact_name))
    return CheckResult(Status.NOT_MET, _("No contact person with a phone number or email address is set."),
                       _("Set the contact point in the network settings."), SETTINGS)


def result_as_dict(criterion: Criterion, result: CheckResult, locale: str) -> dict[str, Any]:
    """The JSON form kept in a snapshot: everything needed to show it again without the live data."""
    return {"code": criterion.code, "title": criterion.title(locale), "title_nl": criterion.title_nl,
            "title_en": criterion.title_en, "status": str(result.status), "reason": result.reason,
            "fix": result.fix, "details": list(result.details), "warning_level": criterion.is_warning_level}
