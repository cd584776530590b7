"""notifications that reach people: kinds, emergencies and one delivery row per channel

Revision ID: 0006_notification_delivery
Revises: 0005_case_fact
Create Date: 2026-11-24

A notification no longer carries one send attempt of its own: the worker fans it out
into `notification_delivery` rows, each retried, dead-lettered or sent on its own.
Messages already sent keep their time as the fan-out time; unsent ones are fanned out
by the next worker pass.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_notification_delivery'
down_revision = '0005_case_fact'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=30), nullable=False, server_default='escalation'))
        batch_op.add_column(sa.Column('emergency', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('link', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('fanned_out_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE notification SET fanned_out_at = sent_at")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
        batch_op.alter_column('emergency', server_default=None)
        batch_op.drop_index('ix_notification_unsent')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('last_error')
        batch_op.create_index('ix_notification_fanout', ['fanned_out_at', 'id'], unique=False)

    op.create_table('notification_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=False),
    sa.Column('channel_type', sa.String(length=20), nullable=False),
    sa.Column('recipient_key', sa.String(length=100), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'dead', 'unconfirmed', name='deliverystate',
                               native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notification_id', 'channel', 'recipient_key')
    )
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_notification_delivery_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_delivery_notification_id'), ['notification_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_delivery_notification_id'))
        batch_op.drop_index('ix_notification_delivery_due')
    op.drop_table('notification_delivery')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_fanout')
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE notification SET sent_at = fanned_out_at")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('attempts', server_default=None)
        batch_op.create_index('ix_notification_unsent', ['sent_at', 'id'], unique=False)
        batch_op.drop_column('fanned_out_at')
        batch_op.drop_column('link')
        batch_op.drop_column('due_at')
        batch_op.drop_column('emergency')
        batch_op.drop_column('kind')
