"""fhir: API clients and tokens, and the API client as audit actor

Revision ID: 0012_fhir
Revises: 0011_palliative
Create Date: 2026-12-06 12:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0012_fhir"
down_revision = "0011_palliative"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("registered_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(network_id IS NULL) <> (owner_user_id IS NULL)", name="ck_api_clients_one_owner"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], name="fk_api_clients_network_id_networks"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], name="fk_api_clients_owner_user_id_users"),
        sa.ForeignKeyConstraint(["registered_by_id"], ["users.id"], name="fk_api_clients_registered_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_api_clients"),
        sa.UniqueConstraint("client_id", name="uq_api_clients_client_id"),
    )
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.create_index("ix_api_clients_network_id", ["network_id"], unique=False)
        batch_op.create_index("ix_api_clients_owner_user_id", ["owner_user_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_client_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("issued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["api_client_id"], ["api_clients.id"], name="fk_api_tokens_api_client_id_api_clients"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_api_tokens_api_client_id", ["api_client_id"], unique=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_client_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("api_client_id")
    op.drop_table("api_tokens")
    op.drop_table("api_clients")
