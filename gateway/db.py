"""The gateway's database layer: engine, sessions, schema migrations.

``ledger/db.py`` did not exist when the gateway was written, so the gateway owns its
declarative base here. Every gateway table is prefixed ``gw_`` so it can share the one
off-chain database (``GRIDLEDGER_DATABASE_URL``) with the other role apps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from ledger.db import engine_for_url
from ledger.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Alembic's version table of the gateway (its own, so other apps may run their own Alembic).
VERSION_TABLE = "gw_alembic_version"


class Base(DeclarativeBase):
    """Declarative base of every gateway table."""


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (the shared core's: SQLite gets WAL and a busy timeout)."""
    return engine_for_url(url)


def engine_from_settings(settings: Settings) -> Engine:
    """The engine of the configured database (a SQLite file in the data dir by default)."""
    return make_engine(settings.database_url)


def session_factory(engine: Engine) -> sessionmaker[Any]:
    """Sessions bound to ``engine`` that keep objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration built in code (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = engine.url.render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the gateway schema to the newest migration (a no-op when it is current)."""
    command.upgrade(alembic_config(engine), "head")
