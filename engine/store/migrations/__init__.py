"""Alembic migrations, run programmatically so no alembic.ini is needed at run time."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine, revision: str = "head") -> None:
    """Upgrade the database behind `engine` to `revision`."""
    command.upgrade(alembic_config(engine), revision)
