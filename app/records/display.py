"""The shared record as words: section content turned into (label, value) pairs a template prints as is.

Templates never interpret section content themselves: a choice code becomes its label, a list of codes a
list of labels, a date a local date, and rows a small table. What reaches this module was already let
through by the access door (the caller passes only sections the viewer may see).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _

from app.core.dates import show_date
from app.records.models import FieldSpec, SectionSpec


@dataclass(frozen=True)
class ShownField:
    label: str
    kind: str  # "text" (one line or more; shown with line breaks kept), "rows"
    text: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.text and not self.rows


def _choice_label(spec: FieldSpec, code: str) -> str:
    labels = dict(spec.choices or ())
    label = labels.get(code)
    return str(label) if label is not None else code.replace("_", " ")


def _scalar(spec: FieldSpec, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if spec.kind == "choice":
        return _choice_label(spec, str(value))
    if spec.kind == "items":
        return ", ".join(_choice_label(spec, str(code)) for code in value)
    if spec.kind == "date":
        try:
            return show_date(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if spec.kind == "score":
        return _("%(score)d out of 10", score=int(value))
    return str(value)


def shown_fields(spec: SectionSpec, content: Mapping[str, Any] | None) -> list[ShownField]:
    """Every field of *spec* as words, in the spec's order (empty fields included: the template says a dash)."""
    content = content or {}
    shown = []
    for field in spec.fields:
        value = content.get(field.name)
        if field.kind == "rows":
            parts = field.row_fields or ()
            rows = tuple(tuple(_scalar(part, row.get(part.name)) for part in parts) for row in value or ()
                         if isinstance(row, Mapping))
            shown.append(ShownField(str(field.label), "rows", header=tuple(str(p.label) for p in parts),
                                    rows=rows))
        else:
            shown.append(ShownField(str(field.label), "text", text=_scalar(field, value)))
    return shown


def filled_fields(spec: SectionSpec, content: Mapping[str, Any] | None) -> list[ShownField]:
    """Only the fields that say something (the case page shows these; the history shows all)."""
    return [field for field in shown_fields(spec, content) if not field.empty]
