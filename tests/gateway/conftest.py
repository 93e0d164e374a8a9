"""Gateway fixtures: a fresh gateway database, an indexer, a live explorer over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from eth_account.signers.local import LocalAccount
from sqlalchemy import Connection, Engine, func, select

from gateway import summary
from gateway.app import create_app
from gateway.db import make_engine, upgrade
from gateway.indexer import Indexer
from gateway.projections import counted_tables
from gateway.queries import COUNTED, counts, event_counts, market_series
from gateway.tables import Base, Event, EventCount, MarketStat, RowCount, Trade, table_of
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.engines.local import free_port
from ledger.keystore import demo_account
from ledger.settings import Settings
from tests import webaccess

KEYS = {"audit-key": "auditor", "reg-key": "regulator", "pub-key": "public", **webaccess.KEYS}
AUDITOR = {"X-API-Key": "audit-key"}
REGULATOR = {"X-API-Key": "reg-key"}


@pytest.fixture
def gw_engine(database_url: str) -> Iterator[Engine]:
    """A migrated gateway database, on SQLite and on PostgreSQL."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def indexer(ctx: LedgerContext, gw_engine: Engine) -> Indexer:
    return Indexer(ctx, gw_engine, confirmations=0, chunk_blocks=50)


@pytest.fixture
def indexed(indexer: Indexer, access: MarketAccessClient, gw_engine: Engine) -> dict[str, str]:
    """Real role events on chain, indexed, plus the synthetic market of the later domains."""
    from tests.gateway.synthetic import market_events, store  # imports this module

    granted = access.grant_role("VERIFIER", node(1))
    access.grant_role("OPERATOR", node(2))
    access.revoke_role("OPERATOR", node(2))
    indexer.run_once()
    store(indexer, gw_engine, market_events())
    return {
        "tx": granted["transactionHash"].to_0x_hex(),
        "block": str(granted["blockNumber"]),
    }


@pytest.fixture
def access(ctx: LedgerContext, admin: LocalAccount) -> MarketAccessClient:
    return ctx.client(MarketAccessClient, admin)


def node(n: int) -> str:
    """Address of the demo market node ``node-<n>``."""
    return demo_account(1000 + n).address


def dump(engine: Engine, *, skip: tuple[str, ...] = ("id", "event_id", "updated_at")) -> Any:
    """Every gateway table's rows, without surrogate keys, sorted: for equality checks."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, table in sorted(Base.metadata.tables.items()):
            cols = [c for c in table.columns if c.name not in skip]
            rows = conn.execute(select(*cols)).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


SUMMARY_TABLES = tuple(table_of(m) for m in (RowCount, EventCount, MarketStat))


def real_counts(conn: Connection) -> dict[str, int]:
    """The overview's counts as ``COUNT(*)`` of each table finds them (the truth)."""
    return {
        name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in COUNTED.items()
    }


def real_event_counts(conn: Connection) -> list[tuple[str, int]]:
    """Events per type as ``GROUP BY`` over ``gw_events`` finds them, most frequent first."""
    e = table_of(Event)
    rows = conn.execute(
        select(e.c.contract, e.c.event, func.count())
        .group_by(e.c.contract, e.c.event)
        .order_by(func.count().desc(), e.c.contract, e.c.event)
    ).all()
    return [(f"{c}.{n}", int(k)) for c, n, k in rows]


def real_market(conn: Connection) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """Volumes and prices by period and region as ``GROUP BY`` over ``gw_trades`` finds
    them (the overview's query before the summaries)."""
    t = table_of(Trade)
    rows = conn.execute(
        select(
            t.c.period,
            t.c.region,
            func.sum(t.c.energy_wh),
            func.sum(t.c.energy_wh * t.c.price_fen_per_mwh),
        )
        .where(t.c.period.is_not(None), t.c.energy_wh.is_not(None))
        .group_by(t.c.period, t.c.region)
        .order_by(t.c.period, t.c.region)
    ).all()
    volume: dict[str, list[tuple[str, float]]] = {}
    price: dict[str, list[tuple[str, float]]] = {}
    for period, region, energy, value in rows:
        name = region or "?"
        volume.setdefault(name, []).append((str(period), float(energy or 0) / 1e6))
        if energy:
            price.setdefault(name, []).append((str(period), float(value or 0) / float(energy)))
    return {"volume_mwh": volume, "price": price}


def summary_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """The summary tables' rows (without surrogate ids), sorted."""
    out = {}
    for t in SUMMARY_TABLES:
        cols = [c for c in t.columns if c.name != "id"]
        out[t.name] = sorted((tuple(r) for r in conn.execute(select(*cols))), key=repr)
    return out


def assert_summaries_exact(engine: Engine) -> dict[str, int]:
    """The overview's figures (read from the summaries) equal what counting the tables
    finds, and recomputing the summaries from scratch changes none of their rows; returns
    the counts."""
    with engine.connect() as conn:
        shown = counts(conn)
        assert shown == real_counts(conn)
        assert event_counts(conn) == real_event_counts(conn)
        series = market_series(conn)
        assert {k: series[k] for k in ("volume_mwh", "price")} == real_market(conn)
        assert shown["events"] == sum(n for _name, n in event_counts(conn))
        every = {
            name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for name, t in Base.metadata.tables.items()
            if name in counted_tables()
        }
        assert summary.row_counts(conn) == {name: n for name, n in every.items() if n}
        kept = summary_rows(conn)
    with engine.connect() as conn:
        summary.rebuild(conn, counted_tables())
        assert summary_rows(conn) == kept
        conn.rollback()
    return shown


class LiveServer:
    """A uvicorn server in a thread serving the gateway app."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("gateway server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(KEYS))
    return path


@pytest.fixture
def gw_settings(ctx: LedgerContext, keys_file: Path) -> Settings:
    return ctx.settings.model_copy(
        update={
            "gateway_api_keys_file": keys_file,
            "gateway_rate_limit_per_s": 10_000.0,
            "gateway_rate_limit_burst": 10_000,
            "gateway_max_page_size": 50,
        }
    )


@pytest.fixture
def live(
    ctx: LedgerContext, gw_engine: Engine, gw_settings: Settings
) -> Iterator[tuple[str, httpx.Client]]:
    app = create_app(gw_settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield server.url, client
