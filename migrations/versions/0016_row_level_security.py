"""row-level security: on PostgreSQL every network-owned table lets a role that does not own it see and write
only the rows of the network named in the setting netwerkzorg.network_id (the named bypass: netwerkzorg.all_networks
for reading across networks)

Revision ID: 0016_row_level_security
Revises: 0015_palliative_path
Create Date: 2026-12-07 01:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_row_level_security"
down_revision = "0015_palliative_path"
branch_labels = None
depends_on = None

# Every table of a NetworkScopedMixin model at this revision (tests/test_row_level_security.py checks that every
# scoped table has the policy, so a later table needs its own migration line).
TABLES = (
    "attendances",
    "care_contacts",
    "care_team_members",
    "case_actions",
    "case_events",
    "case_messages",
    "cases",
    "central_provider_changes",
    "consent_members",
    "consents",
    "evidence",
    "hospital_roles",
    "intakes",
    "letters",
    "meetings",
    "membership_disciplines",
    "memberships",
    "network_contacts",
    "note_disciplines",
    "note_versions",
    "notes",
    "outside_central_providers",
    "palliative_events",
    "patient_questionnaires",
    "patients",
    "portal_accounts",
    "portal_messages",
    "prom_measurements",
    "record_section_versions",
    "record_sections",
    "referral_attachments",
    "referral_disciplines",
    "referral_events",
    "referral_medications",
    "referral_messages",
    "referrals",
    "self_check_snapshots",
    "service_area_ranges",
    "training_records",
)
CURRENT = "NULLIF(current_setting('netwerkzorg.network_id', true), '')::integer"
BYPASS = "current_setting('netwerkzorg.all_networks', true) = 'on'"


def policy_sql(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_read ON {table} FOR SELECT USING (network_id = {CURRENT} OR {BYPASS})",
        f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK (network_id = {CURRENT})",
        f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING (network_id = {CURRENT}) "
        f"WITH CHECK (network_id = {CURRENT})",
        f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING (network_id = {CURRENT})",
    ]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no row-level security; the ORM's scope and flush guard are its walls
    for table in TABLES:
        for statement in policy_sql(table):
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for name in ("tenant_read", "tenant_insert", "tenant_update", "tenant_delete"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
