"""Schemathesis against the live oracle: no 5xx, no response violating the OpenAPI schema
(driven by :mod:`tests.fuzz`, as the gateway's). Meters are registered so that well-formed
readings reach the signature and plausibility checks."""

from __future__ import annotations

from ledger.context import LedgerContext
from oracle.app import create_app
from oracle.service import OracleService
from scripts.meter_sim import SimMeter
from tests.fuzz import fuzz, operations
from tests.gateway.conftest import LiveServer

#: Examples per operation: 6 operations x 150 runs in well under a minute.
EXAMPLES = 150


def test_oracle_api_has_no_5xx_and_follows_its_schema(
    ctx: LedgerContext, service: OracleService, meters: list[SimMeter]
) -> None:
    app = create_app(ctx, sessions=service.sessions, account=service.account, service=service)
    with LiveServer(app) as server:
        ops = operations(f"{server.url}/openapi.json")
        assert {op.path for op in ops} >= {
            "/readings",
            "/dispatch/results",
            "/proofs/{node}/{period}",
        }
        calls = fuzz(server.url, ops, EXAMPLES)
        assert calls >= len(ops)
