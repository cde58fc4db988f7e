"""The GP's own list: an index its count reads alone (the referrer's rule on status and typist)

Revision ID: 0022_gp_list_count_index
Revises: 0021_audit_chain_head_function
Create Date: 2026-12-07 21:20:00

"""
from alembic import op

revision = '0022_gp_list_count_index'
down_revision = '0021_audit_chain_head_function'
branch_labels = None
depends_on = None

NAME = 'ix_referrals_gp_profile_id_status_submitted_by_id'


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(NAME, ['gp_profile_id', 'status', 'submitted_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(NAME)
