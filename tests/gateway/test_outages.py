"""Outages: the follow-mode indexer outlives a database outage and an RPC node outage
(capped back-off, one log line per outage, resumes from its checkpoint, indexes each event
exactly once); meanwhile the API answers 503 with the reason, never 500. Also the /verify
block-range cap and the search box with non-ASCII digits."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError
from web3 import Web3

from gateway.app import create_app
from gateway.indexer import Indexer, retry_until_up
from gateway.tables import Event, table_of
from gateway.verify import verify
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.engines.local import free_port
from ledger.settings import Settings
from tests.gateway.conftest import AUDITOR, LiveServer, node

LOGGER = "gateway.indexer"


class DatabaseSwitch:
    """Makes every statement on ``engine`` fail like an unreachable database while down."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.down = threading.Event()
        self.failures = 0
        event.listen(engine, "before_cursor_execute", self._check)

    def _check(self, *_args: Any) -> None:
        if self.down.is_set():
            self.failures += 1
            raise OperationalError("statement", {}, sqlite3.OperationalError("disk I/O error"))

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._check)


@contextmanager
def following(indexer: Indexer) -> Iterator[threading.Thread]:
    """``indexer.follow`` in a thread (poll 0.05 s, back-off capped at 0.4 s)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=indexer.follow, args=(0.05, stop), kwargs={"retry_max_s": 0.4}, daemon=True
    )
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=10)


def wait_for(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def caught_up(indexer: Indexer, ctx: LedgerContext) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with indexer.engine.connect() as conn:
                cp = indexer.checkpoint(conn)
        except OperationalError:
            return False
        return cp is not None and cp[0] >= int(ctx.w3.eth.block_number)

    return check


def assert_indexed_exactly_once(indexer: Indexer) -> None:
    report = verify(indexer)
    assert report.ok, report
    with indexer.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(table_of(Event))).scalar_one()
    assert rows == report.chain_events == report.indexed_events > 0


@pytest.fixture
def indexer_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The indexer's log records (INFO and above)."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and "unavailable" in r.msg]


def test_follower_survives_a_database_outage_and_the_api_answers_503(
    ctx: LedgerContext,
    indexer: Indexer,
    gw_engine: Engine,
    gw_settings: Settings,
    access: MarketAccessClient,
    indexer_log: pytest.LogCaptureFixture,
) -> None:
    switch = DatabaseSwitch(gw_engine)
    app = create_app(gw_settings, engine=gw_engine, ctx=ctx)
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
        following(indexer) as thread,
    ):
        access.grant_role("VERIFIER", node(1))
        wait_for(caught_up(indexer, ctx))
        switch.down.set()  # the database goes away for ~4 s ...
        access.grant_role("OPERATOR", node(2))
        access.grant_role("OPERATOR", node(3))
        api = client.get("/api/v1/events", headers=AUDITOR)
        assert api.status_code == 503, api.text
        assert api.json()["detail"].startswith("the gateway database is unavailable: ")
        assert "disk I/O error" in api.json()["detail"]
        assert api.headers["Retry-After"] == "5"
        page = client.get("/")
        assert page.status_code == 503
        assert "the gateway database is unavailable" in page.text
        time.sleep(4.0)
        assert thread.is_alive()
        failures = switch.failures
        assert failures >= 3  # it kept retrying ...
        assert failures < 60  # ... backing off (0.05 s doubling up to 0.4 s), not spinning
        switch.down.clear()  # ... and comes back
        wait_for(caught_up(indexer, ctx))
        assert thread.is_alive()
        assert client.get("/api/v1/events", headers=AUDITOR).status_code == 200
    switch.remove()
    assert_indexed_exactly_once(indexer)
    lines = outage_lines(indexer_log)
    assert len(lines) == 1, lines  # one line per outage, not one per retry
    assert lines[0].startswith("the database is unavailable (OperationalError")
    back = [r.getMessage() for r in indexer_log.records if r.getMessage().startswith("back after")]
    assert len(back) == 1


def test_follower_survives_an_rpc_outage_and_chain_routes_answer_503(
    ctx: LedgerContext,
    indexer: Indexer,
    gw_engine: Engine,
    gw_settings: Settings,
    access: MarketAccessClient,
    indexer_log: pytest.LogCaptureFixture,
) -> None:
    live_w3 = indexer.w3
    dead_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    with following(indexer) as thread:
        access.grant_role("VERIFIER", node(4))
        wait_for(caught_up(indexer, ctx))
        indexer.w3 = Web3(Web3.HTTPProvider(dead_url))  # the node goes away ...
        access.grant_role("OPERATOR", node(5))
        time.sleep(1.5)
        assert thread.is_alive()
        indexer.w3 = live_w3  # ... and comes back
        wait_for(caught_up(indexer, ctx))
        assert thread.is_alive()
    assert_indexed_exactly_once(indexer)
    lines = outage_lines(indexer_log)
    assert len(lines) == 1, lines
    assert lines[0].startswith("the RPC node is unavailable (ConnectionError")

    # a route that needs the chain answers 503 while the node is down
    dead_ctx = LedgerContext(
        ctx.settings.model_copy(update={"rpc_url_override": dead_url}), manifest=ctx.manifest
    )
    app = create_app(gw_settings, engine=gw_engine, ctx=dead_ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.get("/api/v1/verify", headers=AUDITOR, params={"from_block": 0})
        assert r.status_code == 503, r.text
        assert r.json()["detail"].startswith(f"no chain answers at {dead_url}")
        assert client.get("/api/v1/events", headers=AUDITOR).status_code == 200


def test_start_waits_for_the_database_and_the_node(
    ctx: LedgerContext, indexer: Indexer, indexer_log: pytest.LogCaptureFixture
) -> None:
    """The CLI's follow mode builds its indexer with ``retry_until_up``."""
    tries: list[int] = []

    def make() -> Indexer:
        tries.append(1)
        if len(tries) < 3:
            raise OperationalError("select 1", {}, sqlite3.OperationalError("unable to open"))
        return indexer

    assert retry_until_up(make, threading.Event(), 0.01, 0.05) is indexer
    assert len(tries) == 3
    assert len(outage_lines(indexer_log)) == 1
    stopped = threading.Event()
    stopped.set()
    assert retry_until_up(make, stopped, 0.01, 0.05) is None


def test_verify_is_capped_with_a_400_naming_the_cap(
    ctx: LedgerContext, indexer: Indexer, gw_engine: Engine, gw_settings: Settings
) -> None:
    indexer.run_once()
    settings = gw_settings.model_copy(update={"gateway_verify_max_blocks": 5})
    app = create_app(settings, engine=gw_engine, ctx=ctx)
    head = int(ctx.w3.eth.block_number)
    assert head - indexer.start_block + 1 > 5
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.get("/api/v1/verify", headers=AUDITOR)
        assert r.status_code == 400, r.text
        detail = r.json()["detail"]
        assert "more than the cap of 5 (GRIDLEDGER_GATEWAY_VERIFY_MAX_BLOCKS)" in detail
        assert "pass from_block and to_block" in detail
        ok = client.get(
            "/api/v1/verify", headers=AUDITOR, params={"from_block": head - 4, "to_block": head}
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["ok"] is True
        assert (ok.json()["from_block"], ok.json()["to_block"]) == (head - 4, head)


@pytest.mark.parametrize("q", ["٣", "²", "１２", "3٣"])
def test_search_with_non_ascii_digits_is_no_error(
    ctx: LedgerContext, gw_engine: Engine, gw_settings: Settings, q: str
) -> None:
    app = create_app(gw_settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.get("/search", params={"q": q})
        assert r.status_code == 200, r.text
        assert 'href="/blocks/3"' not in r.text  # not read as the number 3
