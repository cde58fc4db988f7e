"""The head of an audit chain, locked and read in one round trip (PostgreSQL)

audit_chain_head(key, network) takes the chain's advisory locks (7513 shared, 7514 + key exclusive, as
app.core.audit.lock_chain) and then reads the chain's last hash, or the checkpoint's head of the chain when every
row of it was purged, or ''. It is VOLATILE and written in PL/pgSQL, so its reads take a snapshot after the lock
is granted: the writer before has committed, and the INSERT that calls it links after that writer's row. Nothing
on SQLite, where app.core.audit keeps the Python path.

Revision ID: 0021_audit_chain_head_function
Revises: 0020_audit_chain_per_network
Create Date: 2026-12-07 20:45:00

"""
from alembic import op

revision = '0021_audit_chain_head_function'
down_revision = '0020_audit_chain_per_network'
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_chain_head(chain_key integer, chain_network integer) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head text;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7513), pg_advisory_xact_lock(7514, chain_key);
    -- Two branches, not IS NOT DISTINCT FROM: each uses the (network_id, id) order of the index.
    IF chain_network IS NULL THEN
        SELECT hash INTO head FROM audit_events WHERE network_id IS NULL ORDER BY id DESC LIMIT 1;
    ELSE
        SELECT hash INTO head FROM audit_events WHERE network_id = chain_network ORDER BY id DESC LIMIT 1;
    END IF;
    IF head IS NULL THEN
        SELECT chain_heads::json ->> chain_key::text INTO head FROM audit_checkpoints ORDER BY id DESC LIMIT 1;
    END IF;
    RETURN coalesce(head, '');
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head(integer, integer)")
