"""the case list: one site's cases in a status, newest first, from one index; callers found by index

Revision ID: 0013_case_search
Revises: 0012_duty_desk
Create Date: 2026-12-07
"""
from alembic import op

revision = '0013_case_search'
down_revision = '0012_duty_desk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_instance_site_status_id', 'instance', ['site', 'status', 'id'])
    op.create_index('ix_instance_caller', 'instance', ['caller'])


def downgrade() -> None:
    op.drop_index('ix_instance_caller', table_name='instance')
    op.drop_index('ix_instance_site_status_id', table_name='instance')
