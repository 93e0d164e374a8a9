"""Schemathesis against the live oracle: no 5xx, no response violating the OpenAPI schema
(driven by :mod:`tests.fuzz`, as the gateway's). Meters are registered so that well-formed
readings reach the signature and plausibility checks."""

from __future__ import annotations

import schemathesis

from ledger.context import LedgerContext
from ledger.webauth import ApiKeys, Role
from oracle.app import create_app
from oracle.service import OracleService
from scripts.meter_sim import SimMeter
from tests import webaccess
from tests.fuzz import fuzz, operations
from tests.gateway.conftest import LiveServer

#: Examples per operation: 6 operations x 100 runs in well under a minute per database.
EXAMPLES = 100


#: The key each keyed route admits (README "Web access"); the others need none.
ROUTE_ROLES = {
    "/proofs/{node}/{period}": Role.auditor,
    "/review/pending": Role.operator,
    "/review/tamper": Role.operator,
    "/dispatch/trades": Role.dispatch,
}


def _key(case: schemathesis.Case) -> dict[str, str] | None:
    role = ROUTE_ROLES.get(case.operation.path)
    return None if role is None else webaccess.key_of(role)


def test_oracle_api_has_no_5xx_and_follows_its_schema(
    ctx: LedgerContext, service: OracleService, meters: list[SimMeter]
) -> None:
    keys = ApiKeys({k: Role(r) for k, r in webaccess.KEYS.items()})
    app = create_app(
        ctx, sessions=service.sessions, account=service.account, service=service, api_keys=keys
    )
    with LiveServer(app) as server:
        ops = operations(f"{server.url}/openapi.json")
        assert {op.path for op in ops} >= {
            "/readings",
            "/dispatch/results",
            "/proofs/{node}/{period}",
        }
        calls = fuzz(server.url, ops, EXAMPLES, _key)
        assert calls >= len(ops)
