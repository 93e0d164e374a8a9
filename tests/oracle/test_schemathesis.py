"""Schemathesis against the live oracle: no 5xx, no response violating the OpenAPI schema.

Mirrors ``tests/gateway/test_schemathesis.py`` (schemathesis' pytest integration fails on
pytest 9.2, so the test drives one Hypothesis run per API operation itself). Meters are
registered so that well-formed readings reach the signature and plausibility checks.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from ledger.context import LedgerContext
from oracle.app import create_app
from oracle.service import OracleService
from scripts.meter_sim import SimMeter
from tests.gateway.conftest import LiveServer

#: Examples per operation: 6 operations x 60 keeps the run well under a minute.
EXAMPLES = 60


def test_oracle_api_has_no_5xx_and_follows_its_schema(
    ctx: LedgerContext, service: OracleService, meters: list[SimMeter]
) -> None:
    app = create_app(ctx, sessions=service.sessions, account=service.account, service=service)
    with LiveServer(app) as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {
            "/readings",
            "/dispatch/results",
            "/proofs/{node}/{period}",
        }
        calls = 0
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(
                    base_url=server.url,
                    checks=[not_a_server_error, response_schema_conformance],
                )

            run()
        assert calls >= len(operations)
