"""The norms between the care lines, tracked (domain.md section 5): clocks that start, are met and stop on what
happens to a referral and its case, the overdue list, and the share within the norm for the dashboard.

The clocks follow the referral and case domains through their signals (referral_transitioned, case_event_added),
so nothing below this package knows the norms exist. Every function runs in the current network (tenancy scope);
the listeners run inside the request or job that changed the referral or case, and flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case

from app.cases.models import Case, CaseEvent, CaseEventKind, LetterKind
from app.cases.services import _base as case_base
from app.cases.services import current_intake
from app.core.db import utcnow
from app.core.workdays import DEFAULT_TZ, END_OF_DAY, add_working_days
from app.extensions import db
from app.networks.models import Network
from app.norms.models import NormClock, NormKind, NormState, NormTrigger
from app.referrals import services as referral_services
from app.referrals.models import Referral
from app.referrals.services import Action

TZ = ZoneInfo(DEFAULT_TZ)
LETTER_KINDS = (NormKind.INTAKE_LETTER, NormKind.CHANGE_LETTER, NormKind.MDO_LETTER)
INTAKE_NORM_RANGE = (1, 30)   # working days, the network's setting
LETTER_NORM_RANGE = (1, 10)
DUE_SOON = 2                  # working days: the overdue list's "due soon" tab
CASE_CLOCKS_LIMIT = 50        # a case has few clocks; its panel shows at most this many


def norm_days(network: Network, kind: NormKind) -> int:
    """The network's norm for *kind*, in working days (0: the same calendar day)."""
    return {NormKind.INTAKE: network.intake_norm_days, NormKind.INTAKE_LETTER: network.gp_letter_norm_days,
            NormKind.CHANGE_LETTER: network.gp_letter_norm_days, NormKind.MDO_LETTER: network.mdo_report_norm_days,
            NormKind.GP_PALLIATIVE: 0}[kind]


def due_at(kind: NormKind, started_at: datetime, days: int) -> datetime:
    """The due moment: *days* working days after the start (Dutch holidays and weekends skipped), the end of that
    day; the same-day norm ends at the end of the start's own calendar day, working day or not."""
    if kind is NormKind.GP_PALLIATIVE:
        return datetime.combine(started_at.astimezone(TZ).date(), END_OF_DAY, tzinfo=TZ).astimezone(UTC)
    return add_working_days(started_at, days)


def start_clock(*, network: Network, referral_id: int, case_id: int | None, kind: NormKind, started_by: NormTrigger,
                started_at: datetime | None = None, detail: str = "") -> NormClock:
    started_at = started_at or utcnow()
    days = norm_days(network, kind)
    clock = NormClock(network_id=network.id, referral_id=referral_id, case_id=case_id, kind=kind,
                      started_by=started_by, norm_days=days, started_at=started_at,
                      due_at=due_at(kind, started_at, days), state=NormState.OPEN, detail=detail[:100])
    db.session.add(clock)
    db.session.flush()
    return clock


def _open_clocks(*conditions) -> list[NormClock]:
    return list(db.session.scalars(select(NormClock).where(NormClock.state == NormState.OPEN, *conditions)
                                   .order_by(NormClock.id)))


def meet(clocks: list[NormClock], at: datetime) -> None:
    for clock in clocks:
        clock.state, clock.met_at = NormState.MET, at
    db.session.flush()


def stop(clocks: list[NormClock], at: datetime) -> None:
    for clock in clocks:
        clock.state, clock.stopped_at = NormState.STOPPED, at
    db.session.flush()


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TZ).astimezone(UTC)


# --- the listeners ---------------------------------------------------------------------------------------------

@referral_services.referral_transitioned.connect
def _on_transition(referral: Referral, *, actor, action, from_status) -> None:
    now = utcnow()
    if action is Action.ACCEPT:
        network = db.session.get(Network, referral.network_id)
        start_clock(network=network, referral_id=referral.id, case_id=None, kind=NormKind.INTAKE,
                    started_by=NormTrigger.ACCEPTED, started_at=now)
    elif action is Action.CARE_WITHOUT_INTAKE:  # no intake will be held: its norm does not apply
        stop(_open_clocks(NormClock.referral_id == referral.id, NormClock.kind == NormKind.INTAKE), now)
    elif action in (Action.CLOSE, Action.DECLINE, Action.FORWARD, Action.WITHDRAW):
        stop(_open_clocks(NormClock.referral_id == referral.id), now)


@case_base.case_event_added.connect
def _on_case_event(case: Case, *, event: CaseEvent, actor) -> None:
    kind, now = event.kind, event.occurred_at
    network = None

    def begin(norm: NormKind, trigger: NormTrigger, *, started_at: datetime | None = None, detail: str = ""):
        nonlocal network
        network = network or db.session.get(Network, case.network_id)
        return start_clock(network=network, referral_id=case.referral_id, case_id=case.id, kind=norm,
                           started_by=trigger, started_at=started_at or now, detail=detail)

    if kind is CaseEventKind.OPENED:
        clocks = list(db.session.scalars(select(NormClock).where(NormClock.referral_id == case.referral_id)))
        for clock in clocks:
            clock.case_id = case.id
        intake = current_intake(case.referral_id)
        if intake is not None:
            meet([c for c in clocks if c.kind is NormKind.INTAKE and c.state is NormState.OPEN], now)
            begin(NormKind.INTAKE_LETTER, NormTrigger.INTAKE)
    elif kind is CaseEventKind.CENTRAL_CHANGED:
        settings = db.session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == CaseEventKind.CENTRAL_CHANGED))
        if settings > 1:  # the first is the case's opening, which the intake letter reports
            begin(NormKind.CHANGE_LETTER, NormTrigger.CENTRAL_CHANGED)
    elif kind is CaseEventKind.CENTRAL_OUTSIDE:
        begin(NormKind.CHANGE_LETTER, NormTrigger.CENTRAL_CHANGED)
    elif kind is CaseEventKind.TREATMENT_STOPPED:
        begin(NormKind.CHANGE_LETTER, NormTrigger.TREATMENT_STOPPED)
    elif kind is CaseEventKind.PALLIATIVE_MARKED:
        begin(NormKind.CHANGE_LETTER, NormTrigger.MARKED)
        marked_on = date.fromisoformat(event.detail) if event.detail else now.astimezone(TZ).date()
        told = begin(NormKind.GP_PALLIATIVE, NormTrigger.MARKED, started_at=min(_local_start(marked_on), now),
                     detail=marked_on.isoformat())
        # The marking is on the GP's timeline at once; met when the GP can read it (an active account, mailed).
        referral = db.session.get(Referral, case.referral_id)
        gp = referral.gp_profile.user if referral is not None and referral.gp_profile is not None else None
        if gp is not None and gp.active:
            meet([told], now)
    elif kind is CaseEventKind.MDO_CONCLUDED:
        held_on = date.fromisoformat(event.detail) if event.detail else now.astimezone(TZ).date()
        begin(NormKind.MDO_LETTER, NormTrigger.MDO, started_at=min(_local_start(held_on), now),
              detail=held_on.isoformat())
    elif kind is CaseEventKind.LETTER_SENT:
        kinds = [NormKind.INTAKE_LETTER, NormKind.CHANGE_LETTER]
        if event.detail == LetterKind.MDO.value:
            kinds.append(NormKind.MDO_LETTER)
        meet(_open_clocks(NormClock.case_id == case.id, NormClock.kind.in_(kinds), NormClock.started_at <= now), now)
    elif kind is CaseEventKind.CLOSED:
        stop(_open_clocks(NormClock.referral_id == case.referral_id), now)


# --- reading ------------------------------------------------------------------------------------------------------

def clocks_of_case(case: Case) -> list[NormClock]:
    """The case's clocks (its referral's intake clock included), open first, then newest."""
    return list(db.session.scalars(
        select(NormClock).where(NormClock.referral_id == case.referral_id)
        .order_by(case_order(), NormClock.due_at.desc(), NormClock.id.desc()).limit(CASE_CLOCKS_LIMIT)))


def case_order():
    return sql_case((NormClock.state == NormState.OPEN, 0), else_=1)


def overdue_query(now: datetime | None = None):
    """Open clocks past their due moment, most overdue first; on the index (network_id, state, due_at, id)."""
    now = now or utcnow()
    return (select(NormClock).where(NormClock.state == NormState.OPEN, NormClock.due_at < now)
            .order_by(NormClock.due_at, NormClock.id))


def due_soon_query(now: datetime | None = None):
    """Open clocks due from now up to DUE_SOON working days ahead, soonest first."""
    now = now or utcnow()
    return (select(NormClock).where(NormClock.state == NormState.OPEN, NormClock.due_at >= now,
                   NormClock.due_at <= add_working_days(now, DUE_SOON))
            .order_by(NormClock.due_at, NormClock.id))


@dataclass(frozen=True)
class ClockReferral:
    number: str
    patient_name: str
    patient_id: int
    case_id: int | None


def referrals_of(clocks: list[NormClock]) -> dict[int, ClockReferral]:
    """The referral (number, patient's name) and case of each clock, for a page of the list: one query."""
    ids = {clock.referral_id for clock in clocks}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Referral.id, Referral.number, Referral.given_name, Referral.family_name, Referral.patient_id, Case.id)
        .outerjoin(Case, and_(Case.referral_id == Referral.id, Case.network_id == Referral.network_id))
        .where(Referral.id.in_(ids)))
    return {rid: ClockReferral(number, f"{given} {family}".strip(), patient_id, case_id)
            for rid, number, given, family, patient_id, case_id in rows}


def overdue_count(now: datetime | None = None) -> int:
    now = now or utcnow()
    return db.session.scalar(select(func.count()).select_from(NormClock).where(
        NormClock.state == NormState.OPEN, NormClock.due_at < now))


def overdue_count_column(network_id: int, now: datetime | None = None):
    """overdue_count() of *network_id* as a scalar subquery, for a page that reads its counts in one statement."""
    return (select(func.count()).select_from(NormClock)
            .where(NormClock.network_id == network_id, NormClock.state == NormState.OPEN,
                   NormClock.due_at < (now or utcnow())).scalar_subquery())


@dataclass(frozen=True)
class NormFigure:
    kind: NormKind
    within: int      # met by the due moment
    outside: int     # met late, or still open past the due moment
    pending: int     # open, not due yet (not judged)

    @property
    def share(self) -> float | None:
        judged = self.within + self.outside
        return self.within / judged if judged else None


def norm_figures(*, since: datetime, now: datetime | None = None) -> list[NormFigure]:
    """Per norm, for the clocks started since *since*: within, outside and pending (stopped clocks do not count).
    One GROUP BY query."""
    now = now or utcnow()
    met, open_ = NormClock.state == NormState.MET, NormClock.state == NormState.OPEN
    rows = db.session.execute(
        select(NormClock.kind,
               func.sum(sql_case((and_(met, NormClock.met_at <= NormClock.due_at), 1), else_=0)),
               func.sum(sql_case((or_(and_(met, NormClock.met_at > NormClock.due_at),
                                  and_(open_, NormClock.due_at < now)), 1), else_=0)),
               func.sum(sql_case((and_(open_, NormClock.due_at >= now), 1), else_=0)))
        .where(NormClock.started_at >= since).group_by(NormClock.kind)).all()
    found = {kind: (int(within or 0), int(outside or 0), int(pending or 0)) for kind, within, outside, pending in rows}
    return [NormFigure(kind, *found.get(kind, (0, 0, 0))) for kind in NormKind]


def save_settings(network: Network, *, intake_days: int, letter_days: int, mdo_days: int) -> list[str]:
    """The network's norms (a change applies to clocks that start after it). Returns the changed settings."""
    values = {"intake_norm_days": intake_days, "gp_letter_norm_days": letter_days, "mdo_report_norm_days": mdo_days}
    low, high = INTAKE_NORM_RANGE
    if not low <= intake_days <= high:
        raise ValueError(f"intake_norm_days out of range: {intake_days}")
    low, high = LETTER_NORM_RANGE
    if not (low <= letter_days <= high and low <= mdo_days <= high):
        raise ValueError("letter norm out of range")
    changed = [name for name, value in values.items() if getattr(network, name) != value]
    for name in changed:
        setattr(network, name, values[name])
    db.session.flush()
    return changed


def overdue_since(clock: NormClock, now: datetime) -> timedelta:
    return now - clock.due_at
