"""the duty desk: rosters, shifts, leave and swap requests, duty jobs done once (004 4.1)

Revision ID: 0012_duty_desk
Revises: 0008_idempotency_key
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_duty_desk'
down_revision = '0011_operations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_event_element', 'event', ['element_id', 'id'])
    op.create_table('duty_roster',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site', sa.String(length=50), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', name='rosterstatus', native_enum=False, length=16),
              nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.String(length=100), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site', 'month')
    )
    op.create_table('duty_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roster_id', sa.Integer(), nullable=False),
    sa.Column('site', sa.String(length=50), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('post', sa.String(length=40), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['roster_id'], ['duty_roster.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site', 'post', 'starts_at')
    )
    op.create_index('ix_duty_shift_span', 'duty_shift', ['site', 'starts_at', 'ends_at'])
    op.create_table('duty_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'refused', 'done', name='requeststatus',
                                native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('substitute', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shift.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('duty_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('site', sa.String(length=50), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'site', 'key')
    )


def downgrade() -> None:
    op.drop_index('ix_event_element', table_name='event')
    op.drop_table('duty_job')
    op.drop_table('duty_request')
    op.drop_index('ix_duty_shift_span', table_name='duty_shift')
    op.drop_table('duty_shift')
    op.drop_table('duty_roster')
