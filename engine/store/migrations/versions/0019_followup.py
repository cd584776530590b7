"""the follow-up tally: per site, kind and month, cases decided and sampled (the quota draw, 001/第2篇 1.3-1.5);
the kind of visit on each case's fact (the monthly 客户回访记录 per kind, 2.4)

Revision ID: 0019_followup
Revises: 0013_case_search
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_followup'
down_revision = '0013_case_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('followup_tally',
    sa.Column('site', sa.String(length=50), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('decided', sa.Integer(), nullable=False),
    sa.Column('sampled', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('site', 'category', 'month')
    )
    with op.batch_alter_table('case_fact') as batch:
        batch.add_column(sa.Column('followup_category', sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case_fact') as batch:
        batch.drop_column('followup_category')
    op.drop_table('followup_tally')
