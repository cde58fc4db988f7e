"""Referrers: a practice nurse (POH) works on behalf of GPs of the same practice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import GPProfile
from app.core.db import UTCDateTime, utcnow
from app.extensions import db


class PracticeNurseLink(db.Model):
    """A POH asked to refer for a GP; it counts only once the GP confirmed it (confirmed_at)."""

    __tablename__ = "practice_nurse_links"
    __table_args__ = (UniqueConstraint("poh_profile_id", "gp_profile_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    poh_profile_id: Mapped[int] = mapped_column(ForeignKey("gp_profiles.id"), index=True)
    gp_profile_id: Mapped[int] = mapped_column(ForeignKey("gp_profiles.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    confirmed_at: Mapped[datetime | None]

    poh: Mapped[GPProfile] = relationship(foreign_keys=[poh_profile_id], lazy="joined", innerjoin=True)
    gp: Mapped[GPProfile] = relationship(foreign_keys=[gp_profile_id], lazy="joined", innerjoin=True)
