"""SQLite and PostgreSQL hold the same gateway, row for row; migrations go down and up on
PostgreSQL; the gateway never prints a database password."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import Engine, inspect
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.db import alembic_config, make_engine, upgrade
from gateway.indexer import Indexer
from gateway.verify import verify
from ledger.cli import app as cli_app
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.db import masked_url
from ledger.settings import Settings
from scripts.pgserver import Databases
from tests.gateway.conftest import AUDITOR, LiveServer, dump, node
from tests.gateway.synthetic import market_events, store

#: GET endpoints whose JSON must be equal on both databases (with ``{trade}``/``{node}``).
API_PATHS = (
    "/api/v1/status",
    "/api/v1/events?limit=50",
    "/api/v1/events?contract=MarketAccess&limit=3",
    "/api/v1/roles",
    "/api/v1/participants",
    "/api/v1/participants/{node}",
    "/api/v1/trades",
    "/api/v1/trades/7",
    "/api/v1/verify",
)


@pytest.fixture
def both(tmp_path: Path, pg_databases: Databases) -> Iterator[dict[str, Engine]]:
    """A migrated gateway database on SQLite and one on PostgreSQL."""
    url = pg_databases.create("rows")
    engines = {
        "sqlite": make_engine(f"sqlite:///{tmp_path}/gateway.db"),
        "postgresql": make_engine(url),
    }
    for engine in engines.values():
        upgrade(engine)
    yield engines
    for engine in engines.values():
        engine.dispose()
    pg_databases.drop(url)


@pytest.mark.postgresql
def test_the_same_chain_indexes_into_the_same_rows(
    ctx: LedgerContext,
    access: MarketAccessClient,
    both: dict[str, Engine],
    gw_settings: Settings,
) -> None:
    access.grant_role("VERIFIER", node(1))
    access.grant_role("OPERATOR", node(2))
    access.revoke_role("OPERATOR", node(2))
    synthetic = market_events()  # the later domains (tx hashes count up: make them once)
    answers: dict[str, list[object]] = {}
    for name, engine in both.items():
        indexer = Indexer(ctx, engine, confirmations=0, chunk_blocks=7)
        assert indexer.run_once().events >= 3
        store(indexer, engine, synthetic)
        assert verify(indexer).ok, name
        app = create_app(gw_settings, engine=engine, ctx=ctx)
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            answers[name] = [_get(client, path) for path in API_PATHS]
    # every table, surrogate keys included (only the wall-clock ``updated_at`` differs)
    sqlite_rows, pg_rows = (dump(e, skip=("updated_at",)) for e in both.values())
    assert sum(map(len, pg_rows.values())) > 100
    assert pg_rows.keys() == sqlite_rows.keys()
    for table, rows in sqlite_rows.items():
        differing = [(a, b) for a, b in zip(rows, pg_rows[table], strict=False) if a != b]
        assert (len(pg_rows[table]), differing[:2]) == (len(rows), []), table
    assert answers["postgresql"] == answers["sqlite"]


def _get(client: httpx.Client, path: str) -> object:
    r = client.get(path.format(node=node(1)), headers=AUDITOR)
    assert r.status_code == 200, (path, r.text)
    body = r.json()
    if isinstance(body, dict):
        body.pop("elapsed_s", None)
    return body


def test_migrations_go_down_to_base_and_up_again(gw_engine: Engine) -> None:
    tables = set(inspect(gw_engine).get_table_names())
    assert {"gw_events", "gw_trades", "gw_row_counts", "gw_alembic_version"} <= tables
    command.downgrade(alembic_config(gw_engine), "base")
    assert set(inspect(gw_engine).get_table_names()) == {"gw_alembic_version"}
    upgrade(gw_engine)
    assert set(inspect(gw_engine).get_table_names()) == tables


@pytest.mark.postgresql
def test_info_and_the_follow_mode_mask_the_password(
    ctx: LedgerContext, pg_databases: Databases, tmp_path: Path
) -> None:
    url = pg_databases.create("info")
    password = str(pg_databases.admin_url.password)
    assert password in url
    env = {
        "GRIDLEDGER_RPC_URL": ctx.settings.rpc_url,
        "GRIDLEDGER_DATA_DIR": str(ctx.settings.data_dir),
        "GRIDLEDGER_DATABASE_URL": url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    try:
        for args in (["gateway", "info"], ["gateway", "info", "--json"]):
            result = CliRunner().invoke(cli_app, args, env=env)
            assert result.exit_code == 0, result.output
            assert "***" in result.output
            assert password not in result.output
        out = _follow_output({**os.environ, **env, "GRIDLEDGER_GATEWAY_POLL_INTERVAL_S": "0.1"})
        assert "following" in out
        assert "***" in out
        assert password not in out
    finally:
        pg_databases.drop(url)


def _follow_output(env: dict[str, str]) -> str:
    """What ``gridledger gateway index`` (follow mode) prints before a SIGTERM."""
    gridledger = str(Path(sys.executable).with_name("gridledger"))
    lines = []
    with subprocess.Popen(
        [gridledger, "gateway", "index"],
        env={**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("following" in x for x in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        proc.send_signal(signal.SIGTERM)
        lines.append(proc.stdout.read())  # (not communicate(): it would skip what is buffered)
        proc.wait(timeout=30)
    return "".join(lines)


def test_masked_url_hides_only_the_password() -> None:
    url = "postgresql+psycopg://gl:s3cr%40t@db.example:5432/gridledger"
    assert masked_url(url) == "postgresql+psycopg://gl:***@db.example:5432/gridledger"
    assert (
        masked_url("sqlite:////var/lib/gl/gridledger.db") == "sqlite:////var/lib/gl/gridledger.db"
    )
    assert "s3cr" not in masked_url("not a url gl:s3cr@host")
