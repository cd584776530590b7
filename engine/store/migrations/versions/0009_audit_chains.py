"""a chain per case and per named stream, sealed heads and events, and sealed checkpoints

Events recorded before this revision keep their hashes: they stay one chain, `legacy`, whose
head is the old `audit_head` row. Their seals and the head's are made here with the audit key
(engine/audit/seal.py), so an upgraded database verifies; with events present and no key
configured the upgrade stops rather than leave them unsealed.

Revision ID: 0009_audit_chains
Revises: 0008_idempotency_key
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from engine.audit.seal import audit_key, event_seal, head_seal

revision = '0009_audit_chains'
down_revision = '0008_idempotency_key'
branch_labels = None
depends_on = None

LEGACY = 'legacy'


def upgrade() -> None:
    with op.batch_alter_table('event') as batch:
        batch.add_column(sa.Column('chain', sa.String(length=80), nullable=False, server_default=LEGACY))
        batch.add_column(sa.Column('seal', sa.String(length=64), nullable=True))
    op.create_index('ix_event_chain', 'event', ['chain', 'id'])
    op.create_table('audit_chain',
    sa.Column('chain', sa.String(length=80), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('seal', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain')
    )
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('chains', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('seal', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('audit_anchor',
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.String(length=80), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['audit_checkpoint.id']),
    sa.PrimaryKeyConstraint('checkpoint_id', 'chain')
    )
    op.create_index('ix_audit_anchor_chain', 'audit_anchor', ['chain', 'checkpoint_id'])
    _seal_legacy_chain(op.get_bind())
    op.drop_table('audit_head')


def _seal_legacy_chain(conn, batch: int = 5000) -> None:
    """Seal every existing event and the old head as the `legacy` chain's head."""
    head = conn.execute(sa.text('SELECT last_event_id, last_hash FROM audit_head WHERE id = 1')).first()
    length = conn.execute(sa.text('SELECT count(*) FROM event')).scalar()
    if not length and (head is None or not head.last_event_id):
        return  # a new database: nothing recorded yet
    key = audit_key()
    last_id = 0
    while True:
        rows = conn.execute(sa.text('SELECT id, hash FROM event WHERE id > :after ORDER BY id LIMIT :n'),
                            {'after': last_id, 'n': batch}).all()
        if not rows:
            break
        conn.execute(sa.text('UPDATE event SET seal = :seal WHERE id = :id'),
                     [{'id': r.id, 'seal': event_seal(key, LEGACY, r.hash)} for r in rows])
        last_id = rows[-1].id
    last_event_id, last_hash = (head.last_event_id, head.last_hash) if head else (0, '0' * 64)
    conn.execute(sa.text('INSERT INTO audit_chain (chain, last_event_id, last_hash, length, seal) '
                         'VALUES (:chain, :id, :hash, :length, :seal)'),
                 {'chain': LEGACY, 'id': last_event_id, 'hash': last_hash, 'length': length,
                  'seal': head_seal(key, LEGACY, last_event_id, last_hash, length)})


def downgrade() -> None:
    # Only the legacy chain fits the single head; chains begun since no longer verify after this.
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO audit_head (id, last_event_id, last_hash) SELECT 1, last_event_id, last_hash "
               "FROM audit_chain WHERE chain = 'legacy'")
    op.execute("INSERT INTO audit_head (id, last_event_id, last_hash) SELECT 1, 0, '" + '0' * 64 + "' "
               "WHERE NOT EXISTS (SELECT 1 FROM audit_head)")
    op.drop_index('ix_audit_anchor_chain', table_name='audit_anchor')
    op.drop_table('audit_anchor')
    op.drop_table('audit_checkpoint')
    op.drop_table('audit_chain')
    op.drop_index('ix_event_chain', table_name='event')
    with op.batch_alter_table('event') as batch:
        batch.drop_column('seal')
        batch.drop_column('chain')
