"""list indexes: the referral inbox's and the GP's own list's orders, and the case list's

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 23:40:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

REFERRALS = (
    ('ix_referrals_network_id_ack_due_at_id', ['network_id', 'ack_due_at', 'id']),
    ('ix_referrals_network_id_status_ack_due_at_id', ['network_id', 'status', 'ack_due_at', 'id']),
    ('ix_referrals_gp_profile_id_updated_at_id', ['gp_profile_id', 'updated_at', 'id']),
    ('ix_referrals_submitted_by_id_updated_at_id', ['submitted_by_id', 'updated_at', 'id']),
)
CASES = (('ix_cases_network_id_status_opened_at_id', ['network_id', 'status', 'opened_at', 'id']),)


def upgrade():
    for table, indexes in (('referrals', REFERRALS), ('cases', CASES)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes:
                batch_op.create_index(name, columns, unique=False)


def downgrade():
    for table, indexes in (('cases', CASES), ('referrals', REFERRALS)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _columns in indexes:
                batch_op.drop_index(name)
