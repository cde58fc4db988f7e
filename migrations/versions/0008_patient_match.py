"""patient match: a normalised identity key and BSN index on patients, merged patients, and the
coordinator's decision on a referral's possible match

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import app.core.db
# The same key the application keeps (a pure function of plain values).
from app.patients.models import match_key

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_key', sa.String(length=240), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('merged_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.alter_column('match_key', server_default=None)
        batch_op.create_foreign_key('fk_patients_network_merged_into', 'patients', ['network_id', 'merged_into_id'],
                                    ['network_id', 'id'])
        batch_op.create_index('ix_patients_network_id_bsn', ['network_id', 'bsn'], unique=False)
        batch_op.create_index('ix_patients_network_id_match_key', ['network_id', 'match_key'], unique=False)

    patients = sa.table('patients', sa.column('id', sa.Integer()), sa.column('given_name', sa.String()),
                        sa.column('family_name', sa.String()), sa.column('date_of_birth', sa.Date()),
                        sa.column('postcode', sa.String()), sa.column('match_key', sa.String()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(patients.c.id, patients.c.given_name, patients.c.family_name,
                                        patients.c.date_of_birth, patients.c.postcode)).all()
    for row in rows:
        connection.execute(patients.update().where(patients.c.id == row.id).values(
            match_key=match_key(row.given_name, row.family_name, row.date_of_birth, row.postcode)))

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_decision', sa.Enum('linked', 'dismissed', name='matchdecision',
                                                                native_enum=False, length=30), nullable=True))
        batch_op.add_column(sa.Column('match_decided_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('match_decided_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referrals_match_decided_by_id_users'), 'users',
                                    ['match_decided_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referrals_match_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('match_decided_by_id')
        batch_op.drop_column('match_decided_at')
        batch_op.drop_column('match_decision')

    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index('ix_patients_network_id_match_key')
        batch_op.drop_index('ix_patients_network_id_bsn')
        batch_op.drop_constraint('fk_patients_network_merged_into', type_='foreignkey')
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('match_key')
