"""Database fixtures: the database-touching tests run on SQLite and on PostgreSQL.

``database_url`` is parametrised over both (test ids ``[sqlite]`` / ``[postgresql]``; the
PostgreSQL variants carry the ``postgresql`` marker, so ``-m "not postgresql"`` leaves them
out). Each test gets a fresh, empty database: a SQLite file in its ``tmp_path``, or a new
database on one throwaway PostgreSQL server per session (``scripts/pgserver.py``: Debian's
``postgresql``, started and stopped here), dropped after the test.
``GRIDLEDGER_TEST_DATABASE_URL`` points at an existing server instead. Without
PostgreSQL installed the variants are skipped, unless ``GRIDLEDGER_REQUIRE_POSTGRESQL=1``
(CI) makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.pgserver import Databases, PostgresServer, find_bindir

DATABASES = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql))


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Databases]:
    """Database maker on the session's PostgreSQL server (started on first use)."""
    external = os.environ.get("GRIDLEDGER_TEST_DATABASE_URL")
    if external:
        dbs = Databases(external)
        yield dbs
        dbs.dispose()
        return
    if find_bindir() is None:
        reason = "PostgreSQL is not installed (no initdb): apt-get install postgresql"
        if os.environ.get("GRIDLEDGER_REQUIRE_POSTGRESQL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with PostgresServer() as server:
        dbs = Databases(server.url)
        yield dbs
        dbs.dispose()


def fresh_database(request: pytest.FixtureRequest, kind: str, path: Path) -> Iterator[str]:
    """The URL of a new empty database of ``kind`` (SQLite at ``path``), dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{path}"
        return
    dbs: Databases = request.getfixturevalue("pg_databases")
    url = dbs.create("t")
    yield url
    dbs.drop(url)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database, once on SQLite and once on PostgreSQL."""
    yield from fresh_database(request, request.param, tmp_path / "gridledger.db")


@pytest.fixture
def other_database_url(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[str]:
    """A second fresh empty database on the same kind of database as ``database_url``."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    yield from fresh_database(request, kind, tmp_path / "other.db")
