"""statistics: one projected fact row per case

Revision ID: 0005_case_fact
Revises: 0004
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_case_fact'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_fact',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('process_id', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('site', sa.String(length=50), nullable=True),
    sa.Column('category', sa.String(length=50), nullable=True),
    sa.Column('department', sa.String(length=50), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_month', sa.String(length=7), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_seconds', sa.Float(), nullable=True),
    sa.Column('arrival_seconds', sa.Float(), nullable=True),
    sa.Column('resolution_seconds', sa.Float(), nullable=True),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('complaint_class', sa.String(length=16), nullable=True),
    sa.Column('repair', sa.JSON(), nullable=False),
    sa.Column('charge', sa.Float(), nullable=True),
    sa.Column('fee_collected', sa.Boolean(), nullable=False),
    sa.Column('followup_decided', sa.Boolean(), nullable=False),
    sa.Column('followup_rate', sa.Float(), nullable=True),
    sa.Column('followup_sampled', sa.Boolean(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('satisfied_visits', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.PrimaryKeyConstraint('instance_id')
    )
    op.create_index('ix_case_fact_site_month', 'case_fact', ['site', 'opened_month', 'state'])
    op.create_index('ix_case_fact_site_closed', 'case_fact', ['site', 'closed_at'])
    op.create_index('ix_case_fact_month', 'case_fact', ['opened_month', 'state'])


def downgrade() -> None:
    op.drop_index('ix_case_fact_month', table_name='case_fact')
    op.drop_index('ix_case_fact_site_closed', table_name='case_fact')
    op.drop_index('ix_case_fact_site_month', table_name='case_fact')
    op.drop_table('case_fact')
