"""note disciplines: the author's disciplines of a note as rows (the notes page filters in SQL), and
indexes matching the notes page's and the audit log's order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 22:45:00.000000

"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'note_disciplines',
        sa.Column('note_id', sa.Integer(), nullable=False),
        sa.Column('discipline_id', sa.Integer(), nullable=False),
        sa.Column('network_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['discipline_id'], ['disciplines.id'],
                                name=op.f('fk_note_disciplines_discipline_id_disciplines')),
        sa.ForeignKeyConstraint(['network_id', 'note_id'], ['notes.network_id', 'notes.id'],
                                name='fk_note_disciplines_network_note'),
        sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_note_disciplines_network_id_networks'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('note_id', 'discipline_id', name=op.f('pk_note_disciplines')),
    )
    with op.batch_alter_table('note_disciplines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_disciplines_network_id'), ['network_id'], unique=False)
        batch_op.create_index('ix_note_disciplines_network_id_discipline_id_note_id',
                              ['network_id', 'discipline_id', 'note_id'], unique=False)
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index('ix_notes_network_id_case_id_created_at_id',
                              ['network_id', 'case_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_network_id_id', ['network_id', 'id'], unique=False)

    # Existing notes: their JSON list of discipline ids becomes rows.
    notes = sa.table('notes', sa.column('id', sa.Integer()), sa.column('network_id', sa.Integer()),
                     sa.column('discipline_ids', sa.JSON()))
    rows = sa.table('note_disciplines', sa.column('note_id', sa.Integer()), sa.column('discipline_id', sa.Integer()),
                    sa.column('network_id', sa.Integer()))
    connection = op.get_bind()
    values = []
    for note in connection.execute(sa.select(notes.c.id, notes.c.network_id, notes.c.discipline_ids)).all():
        ids = note.discipline_ids
        if isinstance(ids, str):
            ids = json.loads(ids)
        values.extend({'note_id': note.id, 'discipline_id': int(i), 'network_id': note.network_id}
                      for i in sorted(set(ids or ())))
    if values:
        connection.execute(rows.insert(), values)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_network_id_id')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index('ix_notes_network_id_case_id_created_at_id')
    with op.batch_alter_table('note_disciplines', schema=None) as batch_op:
        batch_op.drop_index('ix_note_disciplines_network_id_discipline_id_note_id')
        batch_op.drop_index(batch_op.f('ix_note_disciplines_network_id'))
    op.drop_table('note_disciplines')
