"""Making the trail append-only for the app's database role (PostgreSQL).

The app inserts events, anchors and checkpoints and moves chain heads; it never updates or
deletes events, anchors or checkpoints. Revoking those rights from the role it connects as
means a hijacked app (or a leaked app password) cannot rewrite history even before verify
runs. The role must not own the tables: an owner may grant itself the rights back.
"""

from __future__ import annotations

from sqlalchemy import Connection

APPEND_ONLY_TABLES = ("event", "audit_anchor", "audit_checkpoint")


def lock_down_statements(conn: Connection, role: str) -> list[str]:
    quote = conn.dialect.identifier_preparer.quote
    return [f"REVOKE UPDATE, DELETE, TRUNCATE ON {quote(table)} FROM {quote(role)}" for table in APPEND_ONLY_TABLES]


def lock_down(conn: Connection, role: str) -> list[str]:
    """Revoke the rewriting rights from `role` (in the caller's transaction); return the SQL run."""
    if conn.dialect.name != "postgresql":
        raise ValueError("append-only grants are PostgreSQL's; SQLite has no roles")
    statements = lock_down_statements(conn, role)
    for statement in statements:
        conn.exec_driver_sql(statement)
    return statements
