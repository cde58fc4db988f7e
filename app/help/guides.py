"""The role guides (docs/guides/<locale>/<role>.md): their sections, and which section belongs to which page.

A guide is Markdown. Each section that a page of the app links to starts with an anchor line and a level-2
heading, the same anchor in both languages:

    <a id="referral-inbox"></a>
    ## A referral came in: what now

Images are referenced relative to the guide (``../img/<name>.png``); in the app they are served by
help.image. The guides hold no patient data (the screenshots show the demo data of app/demo.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GUIDES_DIR = Path(__file__).resolve().parents[2] / "docs" / "guides"
IMAGE_DIR = GUIDES_DIR / "img"
ROLES = ("coordinator", "member", "gp", "patient", "admin")
LOCALES = ("nl", "en")
IMAGE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\.png")
_ANCHOR = re.compile(r'^<a id="([a-z0-9-]+)"></a>\s*$')
_ANCHORED_HEADING = re.compile(r'^<a id="([a-z0-9-]+)"></a>\s*\n(#{1,2}) (.+)$', re.MULTILINE)
_IMAGE_LINK = re.compile(r"\]\(\.\./img/([^)\s]+)\)")

# Which section of the role's guide a page opens (endpoint, or "blueprint.*" for the rest of a blueprint).
# A page that is not listed opens the guide at its top.
PAGE_SECTIONS: dict[str, dict[str, str]] = {
    "coordinator": {
        "main.index": "start", "networks.home": "start",
        "referrals.*": "referral-inbox", "referrals.dashboard": "referral-figures",
        "cases.intake": "intake", "cases.intake_correct": "intake", "cases.index": "intake",
        "cases.*": "shared-case", "palliative.path": "shared-case", "palliative.roles": "shared-case",
        "cases.consents": "consent", "cases.consent_overview": "consent", "cases.consent_withdraw": "consent",
        "portal_network.*": "patient-portal",
        "networks.members": "members", "networks.member_detail": "members", "networks.member_edit": "members",
        "networks.invite_member": "members", "networks.members_import": "members",
        "networks.members_import_confirm": "members", "networks.training_add": "members",
        "meetings.*": "meetings",
        "quality.*": "self-check", "networks.settings": "self-check",
        "networks.audit_log": "audit-log", "patients.*": "patients",
    },
    "member": {
        "main.index": "start", "networks.home": "start",
        "cases.index": "my-cases", "cases.proposal": "join-team",
        "cases.*": "shared-case", "cases.notes": "notes", "cases.note_edit": "notes",
        "cases.team_propose": "involve-colleague",
        "networks.members": "directory", "networks.member_detail": "directory", "networks.member_edit": "directory",
        "meetings.*": "meetings",
    },
    "gp": {
        "main.index": "start", "directory.*": "referring", "gp_portal.new": "referring",
        "gp_portal.edit_draft": "referring", "gp_portal.confirmation": "referring",
        "gp_portal.index": "following", "gp_portal.detail": "following", "gp_portal.answer": "following",
        "gp_portal.withdraw": "following",
        "gp_portal.case_letter": "shared-care", "gp_portal.case_question": "shared-care",
        "gp_portal.case_mdo_input": "shared-care",
        "gp_portal.practice": "practice", "gp_portal.systems": "systems",
    },
    "patient": {
        "patient_portal.index": "record", "patient_portal.record": "record", "patient_portal.letter": "record",
        "patient_portal.consents": "consent", "patient_portal.withdraw": "consent",
        "patient_portal.proposal": "consent",
        "patient_portal.access_log": "who-looked", "patient_portal.relatives": "relatives",
        "patient_portal.messages": "messages", "patient_portal.questionnaire": "questionnaire",
        "patient_portal.my_data": "my-data",
    },
    "admin": {
        "admin.networks": "networks", "admin.create_network": "adding-network",
        "admin.approve_network": "approving", "admin.users": "users", "admin.user_operation": "users",
        "admin.jobs": "jobs", "admin.erase_patient": "erasure",
    },
}


@dataclass(frozen=True)
class Section:
    anchor: str  # "" for the guide's top (its title and introduction)
    title: str
    markdown: str


def guide_path(role: str, locale: str) -> Path:
    return GUIDES_DIR / locale / f"{role}.md"


def sections(role: str, locale: str) -> list[Section]:
    """The guide as its top and its level-2 sections, in order. A section without an anchor line gets none."""
    lines = guide_path(role, locale).read_text(encoding="utf-8").splitlines()
    parts: list[Section] = []
    anchor, title, body = "", "", []
    pending = ""
    for line in lines:
        match = _ANCHOR.match(line)
        if match:
            pending = match.group(1)
            continue
        if line.startswith("## "):
            parts.append(Section(anchor, title, "\n".join(body)))
            anchor, title = pending, line[3:].strip()
            body = [f'<a id="{pending}"></a>', line] if pending else [line]
            pending = ""
            continue
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        body.append(line)
    parts.append(Section(anchor, title, "\n".join(body)))
    return parts


def section_for(role: str, endpoint: str) -> str:
    """The anchor of *role*'s guide for the page *endpoint* ("" when the page has none: the guide's top)."""
    pages = PAGE_SECTIONS.get(role, {})
    if endpoint in pages:
        return pages[endpoint]
    return pages.get(endpoint.split(".", 1)[0] + ".*", "")


def app_markdown(text: str, image_url, section_url) -> str:
    """Guide Markdown made ready for the app: image links to the image route, in-guide links to the section
    pages, and each anchor line made the id of its heading. *image_url(name)* and *section_url(anchor)* build
    the URLs."""
    text = _ANCHORED_HEADING.sub(lambda m: f"{m.group(2)} {m.group(3)} {{: #{m.group(1)} }}", text)  # attr_list
    text = _IMAGE_LINK.sub(lambda m: f"]({image_url(m.group(1))})", text)
    return re.sub(r"\]\(#([a-z0-9-]+)\)", lambda m: f"]({section_url(m.group(1))})", text)
