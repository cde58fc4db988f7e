"""Two database roles on PostgreSQL: the owner runs the migrations and owns every table; the application connects as
a role that does not own them, so that row-level security (migration 0016) applies to it and the audit log's
append-only rule is a grant as well as a trigger. `flask db-grant-app-role ROLE`, run with the owner's
DATABASE_URL after every `flask db upgrade`, gives ROLE what the application needs and nothing more.
"""
from __future__ import annotations

import re

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_statements(role: str) -> list[str]:
    """The GRANT/REVOKE statements for *role* (a plain lower-case identifier; anything else is refused)."""
    if not _ROLE.match(role or ""):
        raise ValueError("the role must be a plain lower-case identifier (letters, digits, underscores)")
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # NEN 7513: rows are only added to the audit log; purging the old ones is the owner's (flask audit-purge).
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_purge_permits FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
    ]
