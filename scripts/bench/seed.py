"""Bulk seeder for the benchmark: networks, members, GPs, referrals, patients, cases, notes and a
chained audit log, at a fraction (`scale`) of the full size.

Rows go in with COPY on PostgreSQL and with Core executemany on SQLite, in one transaction, with
explicit ids. Every child row takes its network_id from its parent (the composite foreign keys
check it), and the audit rows are chained with the audit module's own payload and hash rule
(AuditEvent.payload, sha256 of prev_hash + payload), each after the last row of its network's chain, so
app.core.audit.verify_chain stays valid.
"""
from __future__ import annotations

import enum
import hashlib
import json
import random
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import JSON, Enum, func, insert, select, text

import app.models  # noqa: F401 - every table in the metadata
from app.core.audit import AuditAction, AuditEvent, AuditOutcome
from app.core.security import hash_password
from app.extensions import db
from app.patients.models import match_key

FULL = {"networks": 1000, "big_members": 500, "gps": 200, "referrals": 20_000, "cases": 5_000,
        "notes": 200_000, "notes_case": 2_000, "audit": 1_000_000}
OTHER_MEMBERS = 3  # per small network: a coordinator and two members, at every scale
PASSWORD = "bench: correct horse battery staple"  # noqa: S105 - throwaway benchmark database only
COORDINATOR_EMAIL = "coordinator@bench.example"
GP_EMAIL = "gp@bench.example"
BIG_SLUG = "bench-groot"
SEARCH_POSTCODE = "2011 AB"  # inside the big network's service area
# Every measured list shows a full page at any scale (the lists show 25 rows, the audit log 50), so the server
# times at 1% and at 100% compare the same page over a hundred times the data, not 5 rows against 25.
PAGE_FLOOR = 60


def plan(scale: float) -> dict[str, int]:
    """Row counts at *scale* (1.0 = the full size); small scales keep a minimum so every page has data."""
    minimum = {"networks": 2, "big_members": PAGE_FLOOR, "gps": 2, "referrals": 2 * PAGE_FLOOR, "cases": PAGE_FLOOR,
               "notes": 2 * PAGE_FLOOR, "notes_case": PAGE_FLOOR, "audit": 10 * PAGE_FLOOR}
    counts = {key: max(minimum[key], round(value * scale)) for key, value in FULL.items()}
    counts["notes_case"] = min(counts["notes_case"], counts["notes"])
    return counts


@dataclass
class SeedResult:
    scale: float
    counts: Counter = field(default_factory=Counter)
    big_network_id: int = 0
    notes_case_id: int = 0
    case_id: int = 0
    coordinator_totp: str = ""
    gp_totp: str = ""
    slug: str = BIG_SLUG
    password: str = PASSWORD
    coordinator_email: str = COORDINATOR_EMAIL
    gp_email: str = GP_EMAIL
    search_postcode: str = SEARCH_POSTCODE


class _Writer:
    """Writes rows (dicts) to a table: column defaults filled in, COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, conn, counts: Counter):
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self.counts = counts

    def write(self, table_name: str, rows: Iterable[dict], chunk: int = 20_000) -> None:
        table = db.metadata.tables[table_name]
        columns = None
        buffer: list[dict] = []
        for row in rows:
            if columns is None:
                columns = self._columns(table, row)
            for name, make in columns["fill"]:
                row[name] = make()
            buffer.append(row)
            if len(buffer) >= chunk:
                self._flush(table, columns, buffer)
                buffer = []
        if buffer:
            self._flush(table, columns, buffer)

    @staticmethod
    def _columns(table, row: dict) -> dict:
        fill = []
        for column in table.columns:
            if column.name in row:
                continue
            default = column.default
            if default is not None and default.is_scalar:
                fill.append((column.name, lambda v=default.arg: v))
            elif default is not None and default.is_callable:
                fill.append((column.name, lambda f=default.arg: f(None)))
            elif not column.nullable and column.server_default is None:
                raise ValueError(f"seeder gives no value for {table.name}.{column.name}")
        names = [c.name for c in table.columns if c.name in row or any(n == c.name for n, _ in fill)]

        def convert(column):
            if isinstance(column.type, JSON):
                return lambda v: None if v is None else json.dumps(v)
            if isinstance(column.type, Enum):
                return lambda v: v.value if isinstance(v, enum.Enum) else v
            return None
        converters = [convert(table.columns[name]) for name in names]
        return {"fill": fill, "names": names, "converters": converters}

    def _flush(self, table, columns: dict, rows: list[dict]) -> None:
        self.counts[table.name] += len(rows)
        if not self.pg:
            self.conn.execute(insert(table), rows)
            return
        names, converters = columns["names"], columns["converters"]
        cursor = self.conn.connection.dbapi_connection.cursor()
        quoted = ", ".join(f'"{n}"' for n in names)
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([c(row[n]) if c else row[n] for n, c in zip(names, converters, strict=True)])


def seed(engine, scale: float = 1.0, *, log=print) -> SeedResult:
    """Seed an empty (migrated) database at *scale*; refuses a database that has networks already."""
    counts = plan(scale)
    rng = random.Random(7513)
    result = SeedResult(scale=scale)
    now = datetime.now(UTC).replace(microsecond=0)
    year_ago = now - timedelta(days=365)
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM networks")).scalar():
            raise RuntimeError("the benchmark seeds an empty database only")
        w = _Writer(conn, result.counts)
        disciplines = list(conn.execute(text("SELECT id FROM disciplines ORDER BY sort_order, id")).scalars())
        password_hash = hash_password(PASSWORD)
        result.coordinator_totp = _b32()
        result.gp_totp = _b32()

        # networks (id 1 is the big one) with a service area each
        n_networks = counts["networks"]
        w.write("networks", ({
            "id": i, "slug": BIG_SLUG if i == 1 else f"bench-{i}", "name": f"Netwerk Bench {i}", "region": "Bench",
            "status": "active", "is_public": True, "approved_at": year_ago,
            "service_area": f"{_area(i)}-{_area(i) + 40}", "referral_seq_year": now.year,
        } for i in range(1, n_networks + 1)))
        w.write("service_area_ranges", ({"id": i, "network_id": i, "first": _area(i), "last": _area(i) + 40}
                                        for i in range(1, n_networks + 1)))
        result.big_network_id = 1

        # users and memberships: the big network's members, three per other network, then the GPs
        users: list[dict] = []
        memberships: list[dict] = []
        members_of: dict[int, list[dict]] = defaultdict(list)
        for network_id in range(1, n_networks + 1):
            size = counts["big_members"] if network_id == 1 else OTHER_MEMBERS
            for k in range(size):
                uid = len(users) + 1
                is_bench = network_id == 1 and k == 0
                users.append({"id": uid, "email": COORDINATOR_EMAIL if is_bench else f"m{network_id}.{k}@bench.example",
                              "full_name": f"Lid {network_id}.{k}", "password_hash": password_hash,
                              "totp_secret": result.coordinator_totp if is_bench else None,
                              "mfa_enabled_at": year_ago if is_bench else None, "email_verified_at": year_ago})
                membership = {"id": len(memberships) + 1, "network_id": network_id, "user_id": uid,
                              "role": "coordinator" if k == 0 else "member", "practice_name": f"Praktijk {k}",
                              "city": "Haarlem", "postcode": "2011 AB", "is_listed_in_verwijsgids": True}
                memberships.append(membership)
                members_of[network_id].append(membership)
        gp_users = []
        for k in range(counts["gps"]):
            uid = len(users) + 1
            users.append({"id": uid, "email": GP_EMAIL if k == 0 else f"gp{k}@bench.example",
                          "full_name": f"Huisarts {k}", "password_hash": password_hash,
                          "totp_secret": result.gp_totp if k == 0 else None,
                          "mfa_enabled_at": year_ago if k == 0 else None, "email_verified_at": year_ago})
            gp_users.append(uid)
        w.write("users", users)
        w.write("memberships", memberships)
        w.write("membership_disciplines", ({"network_id": m["network_id"], "membership_id": m["id"],
                                            "discipline_id": disciplines[m["id"] % len(disciplines)]}
                                           for m in memberships))
        w.write("gp_profiles", ({"id": k + 1, "user_id": uid, "agb_code": f"{10_000_000 + k}",
                                 "practice_name": f"Huisartsenpraktijk {k}", "city": "Haarlem", "kind": "gp"}
                                for k, uid in enumerate(gp_users)))

        # referrals: a tenth in the big network, the rest round the others; one in a hundred by the bench GP
        n_refs = counts["referrals"]
        big_refs = max(PAGE_FLOOR, n_refs // 10)
        bench_gp_every = max(1, min(100, n_refs // PAGE_FLOOR))  # at least a page of the GP's own referrals
        ref_network = [1 if r < big_refs else 2 + (r - big_refs) % (n_networks - 1) for r in range(n_refs)]
        n_cases = counts["cases"]
        big_cases = max(PAGE_FLOOR // 2, n_cases // 10)
        others = list(range(big_refs, n_refs))
        step = max(1, len(others) // max(1, n_cases - big_cases))
        case_refs = list(range(big_cases)) + others[::step][:n_cases - big_cases]
        case_of_ref = {r: c for c, r in enumerate(case_refs)}
        statuses = ("submitted", "acknowledged", "accepted", "closed")
        referrals, patients, ref_events = [], [], []
        seq = Counter()
        span = (now - year_ago) / n_refs
        for r in range(n_refs):
            network_id = ref_network[r]
            seq[network_id] += 1
            status = "in_care" if r in case_of_ref else statuses[r % 4]
            gp_index = 0 if r % bench_gp_every == 0 else 1 + r % max(1, counts["gps"] - 1)
            submitted = year_ago + span * r
            patient_id = None
            given, family, born = f"Pat{r}", f"Bench{r % 977}", date(1940 + r % 50, 1 + r % 12, 1 + r % 28)
            if status not in ("submitted", "acknowledged"):
                patient_id = len(patients) + 1
                patients.append({"id": patient_id, "network_id": network_id, "given_name": given,
                                 "family_name": family, "date_of_birth": born, "postcode": "2011 AB",
                                 "created_by_id": members_of[network_id][0]["user_id"],
                                 "match_key": match_key(given, family, born, "2011 AB"), "created_at": submitted})
            referrals.append({
                "id": r + 1, "network_id": network_id, "submission_key": secrets.token_hex(16),
                "number": f"R-{now.year}-{seq[network_id]:05d}", "status": status,
                "gp_profile_id": gp_index + 1, "submitted_by_id": gp_users[gp_index], "patient_id": patient_id,
                "created_at": submitted, "updated_at": submitted, "submitted_at": submitted,
                "ack_due_at": submitted + timedelta(days=2),
                "acknowledged_at": None if status == "submitted" else submitted + timedelta(hours=5),
                "given_name": given, "family_name": family, "date_of_birth": born, "sex": "female",
                "postcode": "2011 AB", "city": "Haarlem", "tumour_type": "breast", "question": "Begeleiding.",
                "urgency": "routine", "consent_confirmed_at": submitted})
            ref_events.append({"id": r + 1, "network_id": network_id, "referral_id": r + 1, "occurred_at": submitted,
                               "actor_id": gp_users[gp_index], "from_status": None, "to_status": "submitted"})
        w.write("patients", patients)
        w.write("referrals", referrals)
        w.write("referral_events", ref_events)
        conn.execute(text("UPDATE networks SET referral_seq = :s WHERE id = :n"),
                     [{"s": s, "n": n} for n, s in seq.items()])

        # cases (the big network's first is the notes case), their opening events
        cases = []
        for c, r in enumerate(case_refs):
            ref = referrals[r]
            network_id = ref["network_id"]
            cases.append({"id": c + 1, "network_id": network_id, "referral_id": ref["id"],
                          "patient_id": ref["patient_id"], "status": "active" if c % 10 else "closed",
                          "opened_at": ref["submitted_at"] + timedelta(days=3),
                          "opened_by_id": members_of[network_id][0]["user_id"],
                          "central_membership_id": members_of[network_id][-1]["id"],
                          "closed_at": None if c % 10 else now - timedelta(days=1),
                          "created_at": ref["submitted_at"] + timedelta(days=3)})
        result.notes_case_id, result.case_id = 1, 2
        w.write("cases", cases)
        w.write("case_events", ({"id": c["id"], "network_id": c["network_id"], "case_id": c["id"],
                                 "occurred_at": c["opened_at"], "actor_id": c["opened_by_id"], "kind": "opened"}
                                for c in cases))

        # notes: notes_case many on case 1, the rest round every case; one in ten for the author's discipline
        n_notes = counts["notes"]
        note_span = (now - year_ago) / n_notes
        discipline_of = {m["id"]: disciplines[m["id"] % len(disciplines)] for m in memberships}
        note_disciplines: list[dict] = []

        def notes():
            for i in range(n_notes):
                case = cases[0] if i < counts["notes_case"] else cases[i % len(cases)]
                author = rng.choice(members_of[case["network_id"]])
                visibility = "discipline" if i % 10 == 9 else "team"
                dids = [discipline_of[author["id"]]]
                if visibility == "discipline":
                    note_disciplines.append({"network_id": case["network_id"], "note_id": i + 1,
                                             "discipline_id": dids[0]})
                yield {"id": i + 1, "network_id": case["network_id"], "case_id": case["id"],
                       "author_membership_id": author["id"], "visibility": visibility, "discipline_ids": dids,
                       "body": f"Notitie {i}: gesprek gehad, afspraken gemaakt over de volgende stap.",
                       "version": 1, "created_at": year_ago + note_span * i}
        w.write("notes", notes())
        w.write("note_disciplines", note_disciplines)

        _seed_audit(conn, w, counts["audit"], rng, cases, members_of, n_networks, year_ago, now)
        if w.pg:
            for table in db.metadata.sorted_tables:
                if "id" in table.columns and table.columns["id"].primary_key and result.counts[table.name]:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                      f"(SELECT max(id) FROM \"{table.name}\"))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # As a database in steady state is: the visibility map set (index-only counts read no heap) and
            # no autovacuum of the fresh bulk load running during the measurement.
            conn.execute(text("VACUUM (ANALYZE)"))
    log(f"seeded scale {scale}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))
    return result


def _seed_audit(conn, w: _Writer, n_audit: int, rng: random.Random, cases: list[dict],
                members_of: dict[int, list[dict]], n_networks: int, start: datetime, end: datetime) -> None:
    """n_audit rows, a tenth in the big network, each chained after the last row of its network's chain."""
    last_id = conn.execute(select(func.max(AuditEvent.id))).scalar()
    first_id = (last_id or 0) + 1
    # The chains' heads before the seeded block (read up front: the COPY below holds the connection).
    newest = select(func.max(AuditEvent.id).label("id")).group_by(AuditEvent.network_id).subquery()
    heads: dict[int | None, str] = dict(conn.execute(select(AuditEvent.network_id, AuditEvent.hash)
                                                     .join(newest, AuditEvent.id == newest.c.id)).all())
    cases_of: dict[int, list[dict]] = defaultdict(list)
    for case in cases:
        cases_of[case["network_id"]].append(case)
    span = (end - start) / (n_audit + 1)

    def rows():
        for i in range(n_audit):
            network_id = 1 if i % 10 == 0 else 1 + rng.randrange(n_networks)
            member = rng.choice(members_of[network_id])
            network_cases = cases_of.get(network_id)
            fields = {"occurred_at": start + span * i, "action": AuditAction.READ, "outcome": AuditOutcome.SUCCESS,
                      "user_id": member["user_id"], "user_role": member["role"], "on_behalf_of_user_id": None,
                      "network_id": network_id, "patient_id": None, "object_type": "", "object_id": None,
                      "basis": "", "reason": "", "ip_address": "127.0.0.1", "api_client_id": None}
            if network_cases and i % 4:
                case = rng.choice(network_cases)
                fields.update(event="case.detail_viewed", patient_id=case["patient_id"], object_type="case",
                              object_id=case["id"], basis="coordinator" if member["role"] == "coordinator" else "team")
            else:
                fields.update(event="user.login", action=AuditAction.LOGIN, reason="totp")
            prev = heads.get(network_id, "")
            payload = AuditEvent.payload(SimpleNamespace(**fields))  # the module's own rule
            digest = hashlib.sha256((prev + payload).encode()).hexdigest()
            yield {"id": first_id + i, **fields, "user_agent": "bench", "prev_hash": prev, "hash": digest}
            heads[network_id] = digest
    w.write("audit_events", rows(), chunk=50_000)


def _area(network_id: int) -> int:
    """A 4-digit postcode start for the network's area: the big one serves 2000-2040."""
    return 2000 if network_id == 1 else 1000 + (network_id * 37) % 8900


def _b32() -> str:
    import pyotp
    return pyotp.random_base32()


def check(engine) -> dict:
    """Counts per table and the tenancy rule: a child row's network_id is its parent's (0 mismatches)."""
    joins = {
        "memberships/users": None,
        "referrals/patients": "SELECT count(*) FROM referrals r JOIN patients p ON p.id = r.patient_id "
                              "WHERE p.network_id <> r.network_id",
        "cases/referrals": "SELECT count(*) FROM cases c JOIN referrals r ON r.id = c.referral_id "
                           "WHERE r.network_id <> c.network_id OR r.patient_id <> c.patient_id",
        "cases/patients": "SELECT count(*) FROM cases c JOIN patients p ON p.id = c.patient_id "
                          "WHERE p.network_id <> c.network_id",
        "notes/cases": "SELECT count(*) FROM notes n JOIN cases c ON c.id = n.case_id "
                       "WHERE c.network_id <> n.network_id",
        "notes/authors": "SELECT count(*) FROM notes n JOIN memberships m ON m.id = n.author_membership_id "
                         "WHERE m.network_id <> n.network_id",
        "note_disciplines/notes": "SELECT count(*) FROM note_disciplines d JOIN notes n ON n.id = d.note_id "
                                  "WHERE n.network_id <> d.network_id",
        "audit/cases": "SELECT count(*) FROM audit_events a JOIN cases c ON c.id = a.object_id "
                       "WHERE a.object_type = 'case' "
                       "AND (c.network_id <> a.network_id OR c.patient_id <> a.patient_id)",
    }
    tables = ("networks", "memberships", "users", "gp_profiles", "referrals", "patients", "cases", "notes",
              "note_disciplines", "audit_events")
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
        mismatches = {name: conn.execute(text(sql)).scalar() for name, sql in joins.items() if sql}
        notes_case = conn.execute(text("SELECT count(*) FROM notes WHERE case_id = 1")).scalar()
        big_members = conn.execute(text("SELECT count(*) FROM memberships WHERE network_id = 1")).scalar()
    return {"counts": counts, "mismatches": mismatches, "notes_case": notes_case, "big_members": big_members}
