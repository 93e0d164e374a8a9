"""``gridledger dispatch report``: the DISPATCH key signs one trade's execution result, the
oracle checks it and relays it on chain; bad input is one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import node.dispatch.cli as dispatch_cli
from ledger.cli import run
from ledger.clients.oracle import DispatchResultsClient, StoredDispatchResult
from ledger.clients.trading import ListingSide, Trade, TradeStatus
from ledger.context import LedgerContext
from ledger.errors import GridLedgerError
from node.dispatch import report as reports
from oracle.app import create_app
from oracle.schemas import DispatchResult, DispatchSubmission
from oracle.service import OracleService
from scripts.dispatch_sim import sign_batch
from tests.conftest import role_account
from tests.oracle.conftest import TestClient, sessions  # noqa: F401  (fixture)
from tests.trading.conftest import Market, market  # noqa: F401  (fixture)

PRICE = 350_000  # fen/MWh


def _trade(**fields: Any) -> Trade:
    base: dict[str, Any] = {
        "id": 7,
        "listing_id": 1,
        "buyer": "0x" + "11" * 20,
        "seller": "0x" + "22" * 20,
        "period_id": 3,
        "first_interval": 0,
        "last_interval": 3,
        "status": TradeStatus.FORMED,
        "formed_at": 1,
        "energy_wh": 4_000_000,
        "price_fen_per_mwh": PRICE,
        "energy_fen": 1_400_000,
        "route": [0, 1],
        "sum_rate_fen_per_mwh": 0,
        "fee_fen": 0,
        "escrow_fen": 0,
        "exposure_fen": 0,
        "executed_wh": 0,
        "curtailed_wh": 0,
        "paid_out_fen": 0,
    }
    return Trade(**{**base, **fields})


def test_result_of_a_trade_and_its_refusals() -> None:
    assert reports.dispatch_result(_trade(), 4_000_000, None) == (7, 3, 4_000_000, 0, 0)
    assert reports.dispatch_result(_trade(), 3_000_000, None) == (7, 3, 3_000_000, 1_000_000, 1)
    assert reports.dispatch_result(_trade(), 0, 2) == (7, 3, 0, 4_000_000, 2)
    refused = {
        "executed 4000001 Wh exceeds trade 7's 4000000 Wh": (_trade(), 4_000_001, None),
        "reason 0 (executed in full) with 1 Wh curtailed": (_trade(), 3_999_999, 0),
        "trade 7 is settled, not formed": (_trade(status=TradeStatus.SETTLED), 1, None),
        "no such trade": (_trade(id=0, status=TradeStatus.NONE), 1, None),
    }
    for message, (trade, executed_wh, reason) in refused.items():
        with pytest.raises(GridLedgerError) as err:
            reports.dispatch_result(trade, executed_wh, reason)
        assert str(err.value) == message


def test_signature_and_body_are_the_oracles(ctx: LedgerContext) -> None:
    account = role_account("DISPATCH")
    results = ctx.client(DispatchResultsClient, account)
    result = (7, 3, 3_000_000, 1_000_000, 1)
    signature = reports.sign(account, results, result)
    chain_id = int(ctx.w3.eth.chain_id)
    message = DispatchResult(
        trade_id=7, period=3, executed_wh=3_000_000, curtailed_wh=1_000_000, reason_code=1
    )
    # the digest read from the contract signs to the same bytes as the oracle's encoding
    assert signature == sign_batch(account, [message], chain_id, results.address).signature
    body = reports.submission(chain_id, results.address, result, signature)
    parsed = DispatchSubmission.model_validate(body)
    assert parsed.results == [message]
    assert parsed.signature == signature
    assert parsed.verifying_contract == results.address


def test_submit_says_why_the_oracle_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/down"):
            raise httpx.ConnectError("connection refused")
        return httpx.Response(409, json={"reason": "replay", "detail": "trade 7 already has one"})

    with httpx.Client(base_url="https://oracle", transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(reports.OracleRefusedError) as err:
            reports.submit(http, {})
        assert str(err.value) == "the oracle refused the result (replay: trade 7 already has one)"
    down = httpx.Client(base_url="https://oracle/down", transport=httpx.MockTransport(answer))
    with down, pytest.raises(reports.OracleRefusedError) as err:
        reports.submit(down, {})
    assert str(err.value).startswith("the oracle at https://oracle/down/ did not answer:")


def test_wait_recorded_times_out(ctx: LedgerContext) -> None:
    results = ctx.client(DispatchResultsClient, role_account("DISPATCH"))
    with pytest.raises(reports.OracleRefusedError) as err:
        reports.wait_recorded(results, 10**9, 0)
    assert "has not recorded it on chain after 0 s" in str(err.value)


@pytest.fixture
def oracle(
    ctx: LedgerContext,
    sessions: sessionmaker[Session],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> OracleService:
    """An in-process oracle whose trades come from TradingMarket; the command reaches it
    instead of opening HTTPS, with the session chain's settings in the environment."""
    service = OracleService(ctx, sessions=sessions, account=role_account("METER_ORACLE"))
    app = create_app(ctx, sessions=sessions, account=service.account, service=service)

    @contextmanager
    def through_app(*_args: Any, **_kwargs: Any) -> Iterator[TestClient]:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client

    monkeypatch.setattr(dispatch_cli, "http_client", through_app)
    for key in [k for k in os.environ if k.startswith("GRIDLEDGER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(ctx.settings.data_dir))
    monkeypatch.setenv("GRIDLEDGER_RPC_URL", ctx.settings.rpc_url)
    monkeypatch.setenv("GRIDLEDGER_DEMO_KEYS", "1")
    return service


def _report(*args: str) -> tuple[int, str]:
    with CliRunner().isolation() as (out, err, _):
        code = run(["dispatch", "report", *args])
        return code, (out.getvalue() + err.getvalue()).decode()


def test_report_is_relayed_on_chain(market: Market, oracle: OracleService) -> None:  # noqa: F811
    s, b = market.seller, market.buyer
    lid = s.market.posted_listing_id(
        s.market.post(ListingSide.SELL, market.period.id, 0, 3, 4_000_000, PRICE)
    )
    market.open_taking()
    b.allow(b.market.quote(lid, b.region, 4_000_000).escrow_fen)
    trade_id = b.market.created_trade_id(b.market.take(lid, 4_000_000, PRICE))

    code, said = _report(str(trade_id), "--executed-mwh", "5")
    assert (code, said) == (
        1,
        f"error: executed 5000000 Wh exceeds trade {trade_id}'s 4000000 Wh\n",
    )
    code, said = _report(str(trade_id), "--executed-mwh", "4", "--wallet", "node-1")
    assert code == 1
    assert said.startswith("error: the oracle refused the result (not_dispatch_signer: ")

    code, said = _report(str(trade_id), "--executed-mwh", "3.5", "--wait", "0")
    assert code == 0, said
    dispatch = role_account("DISPATCH").address
    assert (
        said.split()
        == (
            f"trade {trade_id} (period {market.period.id}): executed 3.5 MWh, curtailed 0.5 MWh, "
            f"reason 1, signed by {dispatch}; handed to the oracle"
        ).split()
    )
    oracle.relay.run_once()
    stored = oracle.dispatch_results.result_of(trade_id)
    assert stored == StoredDispatchResult(True, market.period.id, 3_500_000, 500_000, 1, dispatch)
    code, said = _report(str(trade_id), "--executed-mwh", "4")
    assert code == 1
    assert said.startswith("error: the oracle refused the result (replay: ")
