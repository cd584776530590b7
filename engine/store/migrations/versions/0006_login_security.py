"""login throttling and server-side login sessions

Revision ID: 0006_login_security
Revises: 0006_notification_delivery
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_login_security'
down_revision = '0006_notification_delivery'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_login_failure_username', 'login_failure', ['username', 'at'])
    op.create_index('ix_login_failure_address', 'login_failure', ['address', 'at'])
    op.create_table('login_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_login_session_user_id'), 'login_session', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_login_session_user_id'), table_name='login_session')
    op.drop_table('login_session')
    op.drop_index('ix_login_failure_address', table_name='login_failure')
    op.drop_index('ix_login_failure_username', table_name='login_failure')
    op.drop_table('login_failure')
