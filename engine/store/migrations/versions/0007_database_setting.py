"""settings of the database itself: whether it has the demo accounts

Revision ID: 0007_database_setting
Revises: 0006_login_security
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_database_setting'
down_revision = '0006_login_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    setting = op.create_table('database_setting',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    # A database `estatedesk init` already set up (its library is deployed) had the demo
    # accounts exactly when it has accounts at all: before this, only they existed.
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT 1 FROM process_version LIMIT 1")).first() is not None:
        has_accounts = connection.execute(sa.text("SELECT 1 FROM user_account LIMIT 1")).first() is not None
        op.bulk_insert(setting, [{"name": "demo_accounts", "value": "yes" if has_accounts else "no"}])


def downgrade() -> None:
    op.drop_table('database_setting')
