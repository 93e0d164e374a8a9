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
from sqlalchemy import Engine, select

from gateway.app import create_app
from gateway.db import make_engine, upgrade
from gateway.indexer import Indexer
from gateway.models import Base
from ledger.chain import free_port
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.keystore import demo_account
from ledger.settings import Settings

KEYS = {"audit-key": "auditor", "reg-key": "regulator", "pub-key": "public"}
AUDITOR = {"X-API-Key": "audit-key"}
REGULATOR = {"X-API-Key": "reg-key"}


@pytest.fixture
def gw_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/gateway.db")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def indexer(ctx: LedgerContext, gw_engine: Engine) -> Indexer:
    return Indexer(ctx, gw_engine, confirmations=0, chunk_blocks=50)


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
