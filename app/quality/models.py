"""NVPO criteria as versioned data, evidence per criterion, and frozen self-check snapshots."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import NetworkScopedMixin, TimestampMixin
from app.core.storage import StoredFileMixin
from app.core.types import enum_type
from app.extensions import db


class CriterionKind(enum.StrEnum):
    AUTOMATIC = "automatic"      # computed from the network's data
    EVIDENCE = "evidence"        # needs a text or document
    SEMI = "semi"                # computed, with evidence or attestation behind it
    ATTESTATION = "attestation"  # the coordinator attests, with details


class CriteriaSet(db.Model):
    """One version of the NVPO criteria, valid from its effective date (global, seeded by migration)."""

    __tablename__ = "criteria_sets"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(20), unique=True)
    effective_from: Mapped[date] = mapped_column(Date)
    criteria: Mapped[list[Criterion]] = relationship(order_by="Criterion.sort_order", lazy="selectin")


class Criterion(db.Model):
    __tablename__ = "criteria"
    __table_args__ = (UniqueConstraint("criteria_set_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    criteria_set_id: Mapped[int] = mapped_column(ForeignKey("criteria_sets.id"))
    code: Mapped[str] = mapped_column(String(10))      # "1a", "2a", ... registered check per code
    kind: Mapped[CriterionKind] = mapped_column(enum_type(CriterionKind))
    is_warning_level: Mapped[bool] = mapped_column(default=False)  # 2a "aims for": a warning, not a fail
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    title_nl: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_nl


class Evidence(StoredFileMixin, NetworkScopedMixin, TimestampMixin, db.Model):
    """A text or an uploaded file for one criterion code; files live outside the web root."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("network_id", "id"),
                      Index("ix_evidence_network_id_criterion_code", "network_id", "criterion_code"))
    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_code: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str | None] = mapped_column(String(200))      # as uploaded, for display only
    storage_name: Mapped[str | None] = mapped_column(String(80))    # server-made
    content_type: Mapped[str | None] = mapped_column(String(60))
    size_bytes: Mapped[int | None]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None]


class SnapshotPdfStatus(enum.StrEnum):
    NONE = "none"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class SelfCheckSnapshot(StoredFileMixin, NetworkScopedMixin, db.Model):
    """A frozen self-check: results and evidence list never change after creation (flush guard)."""

    stored_file_column = "pdf_storage_name"  # the PDF report (core.storage)

    __tablename__ = "self_check_snapshots"
    __table_args__ = (UniqueConstraint("network_id", "id"),
                      Index("ix_self_check_snapshots_network_id_taken_at", "network_id", "taken_at"))
    FROZEN = ("criteria_set_id", "taken_at", "taken_by_id", "results", "evidence")
    id: Mapped[int] = mapped_column(primary_key=True)
    criteria_set_id: Mapped[int] = mapped_column(ForeignKey("criteria_sets.id"))
    taken_at: Mapped[datetime]
    taken_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    pdf_status: Mapped[SnapshotPdfStatus] = mapped_column(enum_type(SnapshotPdfStatus),
                                                          default=SnapshotPdfStatus.NONE)
    pdf_progress: Mapped[int] = mapped_column(default=0)
    pdf_storage_name: Mapped[str | None] = mapped_column(String(80))

    criteria_set: Mapped[CriteriaSet] = relationship(lazy="joined")
