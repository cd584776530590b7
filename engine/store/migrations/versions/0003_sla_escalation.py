"""SLA clocks, escalation levels and the notification outbox

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002_api_token'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sla_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('budget_seconds', sa.Float(), nullable=False),
    sa.Column('worked_seconds', sa.Float(), nullable=False),
    sa.Column('running_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Enum('met', 'breached', 'cancelled', name='slaoutcome', native_enum=False, length=16), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id')
    )
    with op.batch_alter_table('sla_clock', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clock_open', ['instance_id', 'stopped_at'], unique=False)

    op.create_table('sla_escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clock_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('fire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clock_id'], ['sla_clock.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('clock_id', 'level')
    )
    with op.batch_alter_table('sla_escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_escalation_fire_at'), ['fire_at'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('to_role', sa.String(length=50), nullable=True),
    sa.Column('to_user', sa.String(length=100), nullable=True),
    sa.Column('site', sa.String(length=50), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_role', ['to_role', 'id'], unique=False)
        batch_op.create_index('ix_notification_unsent', ['sent_at', 'id'], unique=False)
        batch_op.create_index('ix_notification_user', ['to_user', 'id'], unique=False)

    op.create_table('notification_read',
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], ),
    sa.PrimaryKeyConstraint('notification_id', 'username')
    )


def downgrade() -> None:
    op.drop_table('notification_read')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user')
        batch_op.drop_index('ix_notification_unsent')
        batch_op.drop_index('ix_notification_role')

    op.drop_table('notification')
    with op.batch_alter_table('sla_escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_escalation_fire_at'))

    op.drop_table('sla_escalation')
    with op.batch_alter_table('sla_clock', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clock_open')

    op.drop_table('sla_clock')
