"""Pure functions on plain data: the normal form of section content, and what a referral and an intake
contribute to the record. They take mappings (an ORM object turned into a dict, or a database row), so the
services and migration 0007 share them; nothing here touches the database.

The referral as a mapping: its columns by name, plus
  "medications": [{"name", "dose", "since"}, ...] in the GP's order,
  "gp": {"name", "practice_name", "city", "phone"} (the referring GP's profile), and
  "submitted_at" (a datetime or the database's ISO text).
The intake as a mapping: its columns by name (story, sharing_wishes, problems, practical, distress_score,
distress_problems, goals, partner_situation, held_on).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from app.core.dates import NETWORK_TZ
from app.records.models import CODE_MAX, MAX_ROWS, FieldSpec, SectionKey, section_spec

DIMENSIONS = ("physical", "psychological", "social", "spiritual")
PRACTICAL = ("work", "finances", "housing", "transport", "household")
MAX_ITEMS = 100


# --- the normal form -----------------------------------------------------------------------------------

def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value).strip()[:limit]


def _date(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return date.fromisoformat(str(value).strip()[:10]).isoformat()  # ValueError for anything else


def _score(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a score is a whole number from 0 to 10")
    score = int(value)
    if score != value and str(score) != str(value).strip():
        raise ValueError("a score is a whole number from 0 to 10")
    if not 0 <= score <= 10:
        raise ValueError("a score is a whole number from 0 to 10")
    return score


def _items(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        value = [value]
    codes: list[str] = []
    for item in value:
        code = _text(item, CODE_MAX)
        if code and code not in codes:
            codes.append(code)
    return codes[:MAX_ITEMS]


def _rows(value: Any, spec: FieldSpec) -> list[dict[str, Any]]:
    rows = []
    for row in value or []:
        if not isinstance(row, Mapping):
            raise ValueError(f"{spec.name}: a row is a mapping")
        clean = {part.name: _value(row.get(part.name), part) for part in spec.row_fields or ()}
        if any(clean.values()):
            rows.append(clean)
    return rows[:MAX_ROWS]


def _value(value: Any, spec: FieldSpec) -> Any:
    if spec.kind in ("text", "textarea", "choice"):
        # A choice code outside the list is kept as given (an older or newer code), like the referral pages do.
        return _text(value, spec.limit)
    if spec.kind == "date":
        return _date(value)
    if spec.kind == "score":
        return _score(value)
    if spec.kind == "items":
        return _items(value)
    if spec.kind == "rows":
        return _rows(value, spec)
    raise ValueError(f"unknown field kind {spec.kind}")


def normalise(key: SectionKey | str, content: Mapping[str, Any] | None) -> dict[str, Any]:
    """The content in normal form: every field of the section present (empty when not given), unknown keys
    dropped, texts stripped and bounded, dates as ISO text, scores 0-10. Raises ValueError for a score or
    a date that is not one."""
    spec = section_spec(key)
    content = content or {}
    return {field.name: _value(content.get(field.name), field) for field in spec.fields}


def empty(key: SectionKey | str) -> dict[str, Any]:
    return {field.name: field.empty for field in section_spec(key).fields}


def is_empty(key: SectionKey | str, content: Mapping[str, Any]) -> bool:
    return normalise(key, content) == empty(key)


def _given(value: Any) -> bool:
    return value not in (None, "", [], {})


def merge(current: Mapping[str, Any] | None, given: Mapping[str, Any]) -> dict[str, Any]:
    """*given* over *current*: a value given (not empty) wins, the rest of *current* is kept."""
    merged = dict(current or {})
    merged.update({name: value for name, value in given.items() if _given(value)})
    return merged


# --- from the referral --------------------------------------------------------------------------------

def local_date(value: Any) -> date | None:
    """The date in the networks' zone of a UTC moment (aware, naive UTC or the database's ISO text)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(NETWORK_TZ).date()


def _joined(*parts: Any, sep: str = ", ") -> str:
    return sep.join(str(part).strip() for part in parts if part and str(part).strip())


def referral_content(referral: Mapping[str, Any]) -> dict[SectionKey, dict[str, Any]]:
    """What a submitted referral says, per section (sections it says nothing about are left out)."""
    get = referral.get
    complaints = get("complaints") or {}
    problems: dict[str, Any] = {"referral_question": get("question"), "urgency": get("urgency")}
    for dimension in DIMENSIONS:
        entry = complaints.get(dimension) or {}
        problems[f"{dimension}_items"] = entry.get("items") or []
        text = entry.get("text") or ""
        if dimension == "social":  # the GP's social situation and care problems belong here
            text = _joined(text, get("social_situation"), sep="\n\n")
        problems[f"{dimension}_text"] = text
    medications = [{"name": row.get("name"), "dose": row.get("dose"), "since": row.get("since")}
                   for row in get("medications") or []]
    gp = get("gp") or {}
    relative = _joined(get("relative_name"), f"({get('relative_relation')})" if get("relative_relation") else "",
                       sep=" ")
    content = {
        SectionKey.DIAGNOSIS: {"tumour_type": get("tumour_type"), "treatment_goal": get("treatment_goal"),
                               "treatment_phase": get("treatment_phase"), "history": get("history")},
        SectionKey.MEDICATION: {"rows": medications,
                                "list_attached": "yes" if get("medication_list_attached") else "no"},
        SectionKey.WISHES: {name: get(name) for name in (
            "resuscitation", "resuscitation_text", "euthanasia", "euthanasia_text", "advance_directive",
            "advance_directive_text")},
        SectionKey.PROBLEMS: problems,
        SectionKey.PEOPLE: {
            "gp": _joined(gp.get("name"), gp.get("practice_name"), gp.get("city"), gp.get("phone")),
            "specialist": get("specialist"), "hospital": get("hospital"),
            "informal_carers": _joined(relative, get("relative_phone"))},
        SectionKey.CONTACT: {"phone": get("phone"), "preferred_language": get("preferred_language")},
    }
    if get("distress_score") is not None:
        content[SectionKey.DISTRESS] = {"score": get("distress_score"), "problems": [],
                                        "measured_on": local_date(get("submitted_at"))}
    normal = {key: normalise(key, value) for key, value in content.items()}
    return {key: value for key, value in normal.items() if value != empty(key)}


# --- from the intake ----------------------------------------------------------------------------------

def intake_content(intake: Mapping[str, Any],
                   current: Mapping[SectionKey, Mapping[str, Any]] | None = None) -> dict[SectionKey, dict[str, Any]]:
    """What a completed intake says, per section, merged over the *current* content of those sections (the
    intake's values win where given, the rest is kept). Sections the intake says nothing about are left out."""
    get = intake.get
    problems_given = get("problems") or {}
    practical = get("practical") or {}
    problems: dict[str, Any] = {}
    for dimension in DIMENSIONS:
        entry = problems_given.get(dimension) or {}
        problems[f"{dimension}_items"] = entry.get("items") or []
        problems[f"{dimension}_text"] = entry.get("text") or ""
    problems.update({domain: practical.get(domain) for domain in PRACTICAL})
    distress_problems = get("distress_problems") or []
    distress: dict[str, Any] = {"score": get("distress_score"), "problems": distress_problems}
    if get("distress_score") is not None or distress_problems:
        distress["measured_on"] = get("held_on")
    given = {
        SectionKey.STORY: {"story": get("story"), "sharing_wishes": get("sharing_wishes")},
        SectionKey.PROBLEMS: problems,
        SectionKey.DISTRESS: distress,
        SectionKey.CARE_PLAN: {"goals": get("goals")},
        SectionKey.PEOPLE: {"informal_carers": get("partner_situation")},
    }
    current = current or {}
    merged = {}
    for key, values in given.items():
        values = normalise(key, values)
        if values == empty(key):
            continue
        merged[key] = normalise(key, merge(current.get(key), values))
    return merged


def as_mapping(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named attributes of an ORM object as a dict (for the functions above)."""
    return {name: getattr(obj, name) for name in names}
