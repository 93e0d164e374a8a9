"""Schemathesis against the live gateway: no 5xx, no response violating the OpenAPI schema.

Schemathesis' own pytest integration (``from_fixture``/``parametrize``) fails on pytest 9.2
(``'Function' object has no attribute '_nodeid'``), so the test drives it directly: one
Hypothesis run per API operation over schemathesis' case strategy.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.indexer import Indexer
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.settings import Settings
from tests.gateway.conftest import AUDITOR, LiveServer, node
from tests.gateway.synthetic import market_events, store

EXAMPLES = 30


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
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        api_ops = [op for op in operations if op.path.startswith("/api/")]
        assert len(api_ops) >= 10
        calls = 0
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                headers = None if case.headers and "X-API-Key" in case.headers else dict(AUDITOR)
                case.call_and_validate(
                    base_url=server.url,
                    headers=headers,
                    checks=[not_a_server_error, response_schema_conformance],
                )

            run()
        assert calls >= len(operations)
