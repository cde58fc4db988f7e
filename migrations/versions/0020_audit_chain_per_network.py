"""One audit chain per network: the checkpoint keeps each chain's last purged hash

Rows written before this revision stay in one global chain, which app.core.audit.verify_chain_report accepts as
the prefix; rows after it link within their network's chain. Nothing in audit_events changes.

Revision ID: 0020_audit_chain_per_network
Revises: 0019_fhir_subscriptions
Create Date: 2026-12-07 11:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0020_audit_chain_per_network'
down_revision = '0019_fhir_subscriptions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_checkpoints') as batch_op:
        batch_op.add_column(sa.Column('chain_heads', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_checkpoints') as batch_op:
        batch_op.drop_column('chain_heads')
