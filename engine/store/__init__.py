"""Persistence: the database connection, the SQLAlchemy tables and their Alembic migrations.

May import: the foundation (errors, clock) only.
"""
