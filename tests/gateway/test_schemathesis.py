"""Schemathesis against the live gateway: no 5xx, no response violating the OpenAPI schema
(driven by :mod:`tests.fuzz`)."""

from __future__ import annotations

import schemathesis
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.indexer import Indexer
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.settings import Settings
from tests.fuzz import fuzz, operations
from tests.gateway.conftest import AUDITOR, LiveServer, node
from tests.gateway.synthetic import market_events, store

EXAMPLES = 30


def _auditor(case: schemathesis.Case) -> dict[str, str] | None:
    return None if case.headers and "X-API-Key" in case.headers else dict(AUDITOR)


def test_api_has_no_5xx_and_follows_its_schema(
    ctx: LedgerContext,
    gw_engine: Engine,
    gw_settings: Settings,
    indexer: Indexer,
    access: MarketAccessClient,
) -> None:
    access.grant_role("VERIFIER", node(1))
    indexer.run_once()
    store(indexer, gw_engine, market_events())
    with LiveServer(create_app(gw_settings, engine=gw_engine, ctx=ctx)) as server:
        ops = operations(f"{server.url}/openapi.json")
        api_ops = [op for op in ops if op.path.startswith("/api/")]
        assert len(api_ops) >= 10
        calls = fuzz(server.url, ops, EXAMPLES, _auditor)
        assert calls >= len(ops)
