"""The norms between the care lines as clocks: each norm that starts on a case (or on its referral, before the
case exists) is one row with its due moment, and is met, still open, or stopped (the case closed first).

Rows are only added and moved forward (open -> met / stopped), never deleted: the dashboard's share within the
norm is counted from them.
"""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import NetworkScopedMixin, utcnow
from app.core.types import enum_type
from app.extensions import db


class NormKind(enum.StrEnum):
    INTAKE = "intake"                  # the intake held within N working days of acceptance
    INTAKE_LETTER = "intake_letter"    # a letter to the GP within N working days after the intake
    CHANGE_LETTER = "change_letter"    # ... after a significant change (marking, central care provider, stop)
    MDO_LETTER = "mdo_letter"          # the MDO report to the GP within N working days of the meeting's conclusion
    GP_PALLIATIVE = "gp_palliative"    # the GP told the same day the palliative phase is marked

    @property
    def label(self) -> str:
        return str({"intake": _l("Intake held after acceptance"),
                    "intake_letter": _l("Letter to the GP after the intake"),
                    "change_letter": _l("Letter to the GP after a significant change"),
                    "mdo_letter": _l("MDO report to the GP"),
                    "gp_palliative": _l("GP told of the palliative phase the same day")}[self.value])


class NormTrigger(enum.StrEnum):
    """What started a clock (shown next to a change letter's norm)."""

    ACCEPTED = "accepted"
    INTAKE = "intake"
    MARKED = "marked"
    CENTRAL_CHANGED = "central_changed"
    TREATMENT_STOPPED = "treatment_stopped"
    MDO = "mdo"

    @property
    def label(self) -> str:
        return str({"accepted": _l("Referral accepted"), "intake": _l("Intake completed"),
                    "marked": _l("Palliative phase marked"), "central_changed": _l("New central care provider"),
                    "treatment_stopped": _l("Treatment stopped"),
                    "mdo": _l("Multidisciplinary meeting concluded")}[self.value])


class NormState(enum.StrEnum):
    OPEN = "open"
    MET = "met"
    STOPPED = "stopped"  # the case or referral ended before the norm could be met: not counted


class NormClock(NetworkScopedMixin, db.Model):
    __tablename__ = "norm_clocks"
    __table_args__ = (
        UniqueConstraint("network_id", "id"),
        ForeignKeyConstraint(["network_id", "referral_id"], ["referrals.network_id", "referrals.id"],
                             name="fk_norm_clocks_network_referral"),
        # The overdue list (open clocks by due moment) and the reminder job.
        Index("ix_norm_clocks_network_id_state_due_at_id", "network_id", "state", "due_at", "id"),
        # A case's clocks, and the dashboard's count of the last 12 months.
        Index("ix_norm_clocks_network_id_referral_id", "network_id", "referral_id"),
        Index("ix_norm_clocks_network_id_started_at", "network_id", "started_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int]
    case_id: Mapped[int | None]  # set once the case exists (the intake clock starts before it)
    kind: Mapped[NormKind] = mapped_column(enum_type(NormKind))
    started_by: Mapped[NormTrigger] = mapped_column(enum_type(NormTrigger))
    norm_days: Mapped[int]  # the norm in working days when it started (0: the same day)
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    state: Mapped[NormState] = mapped_column(enum_type(NormState), default=NormState.OPEN)
    met_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(String(100), default="")

    @property
    def met_within(self) -> bool | None:
        """True / False once met; None while open or stopped."""
        return None if self.met_at is None else self.met_at <= self.due_at

    @property
    def is_overdue(self) -> bool:
        return self.state is NormState.OPEN and self.due_at < utcnow()
