"""accounts declared company-wide in staff.yaml: they work on every site's cases

Revision ID: 0010_site_scope
Revises: 0008_idempotency_key
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_site_scope'
down_revision = '0009_audit_chains'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('company_wide', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('company_wide')
