"""The off-chain SQL database shared by the services (SQLAlchemy 2).

SQLite (a file in the data directory) by default, PostgreSQL by URL
(``GRIDLEDGER_DATABASE_URL``). Each area declares its tables on :class:`Base` (or its own
``DeclarativeBase`` when it migrates separately) and gets sessions from
:func:`session_factory`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from ledger.settings import Settings


class Base(DeclarativeBase):
    """Declarative base of the shared core's tables."""


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the settings' database URL); see :func:`engine_for_url`."""
    return engine_for_url(url or settings.database_url)


def engine_for_url(url: str) -> Engine:
    """An engine for ``url``.

    SQLite files get their directory created, WAL journaling (with ``synchronous=NORMAL``,
    which survives a process crash), a busy timeout and foreign keys on, so a reader (the
    explorer) and a writer (the indexer, the oracle) can work side by side.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def masked_url(url: str) -> str:
    """``url`` fit to print or log: its password (if any) shown as ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"  # it might hold a password: show nothing


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` (no expiry on commit, so rows stay readable)."""
    return sessionmaker(engine, expire_on_commit=False)
