"""operations: each worker's heartbeat, and the request id on audit events

Revision ID: 0011_operations
Revises: 0010_site_scope
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_operations'
down_revision = '0010_site_scope'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('worker_heartbeat',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('event') as batch:
        batch.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('event') as batch:
        batch.drop_column('request_id')
    op.drop_table('worker_heartbeat')
