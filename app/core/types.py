"""Shared column helpers and enums."""
from __future__ import annotations

import enum

from sqlalchemy import Enum


def enum_type(enum_cls: type[enum.Enum]) -> Enum:
    """Store an enum by its value as a checked VARCHAR, identical on PostgreSQL and SQLite."""
    return Enum(enum_cls, native_enum=False, length=30, validate_strings=True,
                values_callable=lambda members: [m.value for m in members],
                name=enum_cls.__name__.lower())
