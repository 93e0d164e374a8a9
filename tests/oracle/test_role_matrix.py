"""The oracle's role matrix: every route x no key, every role's key and an unknown key;
the README's "Web access" table is the app's route table."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ledger.context import LedgerContext
from ledger.errors import ConfigError
from ledger.keystore import demo_account
from ledger.webauth import ApiKeys, Role
from oracle.app import create_app
from oracle.dispatch import MemoryTradeSource
from oracle.schemas import ReadingBatch
from oracle.service import OracleService
from scripts.meter_sim import SimMeter
from tests.conftest import role_account
from tests.oracle.conftest import Clock, TestClient
from tests.oracle.test_anchor import _feed
from tests.oracle.test_dispatch import _results, _submission, _trade
from tests.webaccess import KEYS, Target, assert_readme_table, check_matrix


def _refusal(response: httpx.Response, _path: str, status: int) -> None:
    reason = "unknown_api_key" if status == 401 else "role_not_admitted"
    assert response.json()["reason"] == reason, response.text


def _proved_period(service: OracleService, meters: list[SimMeter], clock: Clock) -> int:
    """A period with every meter's readings, anchored and its totals posted."""
    period_s = service.period_s
    period = (int(clock()) - 3 * period_s) // period_s
    _feed(service, meters, period * period_s, period_s // 900)
    service.close_batches(force=True)
    service.relay.run_once()
    service.close_period(period, force=True)
    service.relay.run_once()
    return period


def test_every_route_with_every_role(
    api: TestClient,
    service: OracleService,
    meters: list[SimMeter],
    clock: Clock,
    trades: MemoryTradeSource,
) -> None:
    period = _proved_period(service, meters, clock)
    trades.add([_trade(1, "north", "south", 40_000), _trade(2, "north", "south", 60_000)])
    later = (period + 1) * service.period_s
    readings = ReadingBatch(
        readings=[
            m.sign(m.reading(later), service.chain_id, service.meter_oracle.address) for m in meters
        ]
    ).model_dump(mode="json", by_alias=True)
    node = demo_account(1001).address
    targets = {
        ("GET", "/openapi.json"): Target("/openapi.json"),
        ("GET", "/docs"): Target("/docs"),
        ("GET", "/docs/oauth2-redirect"): Target("/docs/oauth2-redirect"),
        ("GET", "/redoc"): Target("/redoc"),
        ("GET", "/health"): Target("/health"),
        # The first admitted caller's readings are accepted, the others' are duplicates (200).
        ("POST", "/readings"): Target("/readings", body=readings),
        ("GET", "/dispatch/trades"): Target("/dispatch/trades?period=7"),
        # The first admitted caller's results are relayed (202), the others' are replays.
        ("POST", "/dispatch/results"): Target(
            "/dispatch/results",
            ok=(202, 409),
            body=_submission(service, role_account("DISPATCH"), _results()),
        ),
        ("GET", "/review/pending"): Target("/review/pending"),
        ("GET", "/review/tamper"): Target("/review/tamper"),
        ("GET", "/proofs/{node}/{period}"): Target(f"/proofs/{node}/{period}"),
    }
    routes, callers = check_matrix(api, api.app, targets, _refusal)  # type: ignore[arg-type]
    assert (routes, callers) == (11, 8)
    assert targets[("POST", "/dispatch/results")].seen == [202] + [409] * 6
    assert api.get("/dispatch/trades?period=7", headers={"X-API-Key": "dispatch-key"}).json()
    proof = api.get(f"/proofs/{node}/{period}", headers={"X-API-Key": "auditor-key"}).json()
    assert proof["readingCount"] == service.period_s // 900


def test_an_in_process_caller_may_trust_its_requests(
    ctx: LedgerContext, service: OracleService, trades: MemoryTradeSource
) -> None:
    trades.add([_trade(1, "north", "south", 40_000)])
    app = create_app(
        ctx,
        sessions=service.sessions,
        account=service.account,
        service=service,
        anonymous_role="dispatch",
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        assert [t["tradeId"] for t in client.get("/dispatch/trades?period=7").json()] == [1]
        assert client.get("/review/pending").status_code == 403
        assert (
            client.get("/dispatch/trades?period=7", headers={"X-API-Key": "x"}).status_code == 401
        )


def test_keys_file_is_read_and_checked(
    ctx: LedgerContext, service: OracleService, tmp_path: Path
) -> None:
    path = tmp_path / "oracle-keys.json"
    path.write_text(json.dumps(KEYS))
    keys = ApiKeys.load(path, setting="GRIDLEDGER_ORACLE_API_KEYS_FILE")
    assert [keys.role(f"{r}-key") for r in Role] == list(Role)
    assert (keys.role(None), keys.role(""), keys.role("nope")) == (Role.public, Role.public, None)
    path.write_text(json.dumps({"k": "superuser"}))
    with pytest.raises(ConfigError, match="GRIDLEDGER_ORACLE_API_KEYS_FILE"):
        ApiKeys.load(path, setting="GRIDLEDGER_ORACLE_API_KEYS_FILE")
    settings = ctx.settings.model_copy(update={"oracle_api_keys_file": tmp_path / "missing.json"})
    bad = LedgerContext(settings, w3=ctx.w3, store=ctx.store, manifest=ctx.manifest)
    with pytest.raises(ConfigError, match=r"missing\.json"):
        create_app(bad, sessions=service.sessions, account=service.account, service=service)


def test_readme_web_access_table_is_the_oracles(ctx: LedgerContext, service: OracleService) -> None:
    app = create_app(ctx, sessions=service.sessions, account=service.account, service=service)
    assert_readme_table("Oracle", app)
