"""the first answer to each API request sent with an Idempotency-Key

Revision ID: 0008_idempotency_key
Revises: 0007_database_setting
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_idempotency_key'
down_revision = '0007_database_setting'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username', 'key')
    )
    op.create_index('ix_idempotency_key_created_at', 'idempotency_key', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_idempotency_key_created_at', table_name='idempotency_key')
    op.drop_table('idempotency_key')
