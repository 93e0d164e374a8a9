from __future__ import annotations

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from ledger.clients.oracle import DispatchResultsClient
from ledger.clients.trading import TradeStatus
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError
from oracle import eip712
from oracle.dispatch import MemoryTradeSource
from oracle.schemas import DispatchResult, Trade
from oracle.service import OracleService
from scripts.dispatch_sim import (
    REASON_CORRIDOR,
    REASON_EXECUTED,
    REASON_NO_PATH,
    security_check,
    sign_batch,
    sign_result,
)
from tests.conftest import role_account
from tests.oracle.conftest import DISPATCH_KEY
from tests.settlement.conftest import (  # noqa: F401  (the `flow` and `market` fixtures)
    Flow,
    flow,
    market,
)

SELLER = "0x" + "11" * 20
BUYER = "0x" + "22" * 20


def _trade(trade_id: int, src: str, dst: str, energy_wh: int, period: int = 7) -> Trade:
    return Trade(
        trade_id=trade_id,
        period=period,
        seller=SELLER,
        buyer=BUYER,
        from_region=src,
        to_region=dst,
        energy_wh=energy_wh,
        interval_start=1_000_800,
        interval_seconds=900,
    )


def test_corridor_over_its_limit_is_curtailed_pro_rata() -> None:
    # 100 MWh in 15 min = 400 MW... use MW directly: energy_wh = MW * 1e6 / 4.
    corridors = {("north", "south"): 300.0, ("south", "east"): 1000.0}
    trades = [
        _trade(1, "north", "south", 200 * 250_000),  # 200 MW
        _trade(2, "north", "east", 200 * 250_000),  # 200 MW via south
        _trade(3, "south", "east", 100 * 250_000),  # not over its corridor
        _trade(4, "north", "west", 1_000),  # no path
    ]
    results = {r.trade_id: r for r in security_check(trades, corridors)}
    # 400 MW over a 300 MW corridor: both trades keep 75 %.
    assert results[1].executed_wh == results[2].executed_wh == 150 * 250_000
    assert results[1].curtailed_wh == 50 * 250_000
    assert results[1].reason_code == results[2].reason_code == REASON_CORRIDOR
    assert (results[3].executed_wh, results[3].reason_code) == (100 * 250_000, REASON_EXECUTED)
    assert (results[4].executed_wh, results[4].reason_code) == (0, REASON_NO_PATH)
    # Counterflow nets out: 400 MW north->south against 200 MW back is 200 MW net.
    back = [*trades[:2], _trade(5, "south", "north", 200 * 250_000)]
    netted = {r.trade_id: r for r in security_check(back, corridors)}
    assert all(r.curtailed_wh == 0 for r in netted.values())


PRICE = 350_000


@pytest.fixture
def onchain(flow: Flow) -> tuple[int, int, int]:  # noqa: F811
    """Two trades on chain (40,000 and 60,000 Wh) in the flow's period: (id1, id2, period)."""
    flow.open_taking()
    t1 = flow.trade("seller", "buyer", 40_000, PRICE)
    t2 = flow.trade("seller2", "buyer2", 60_000, PRICE)
    return t1, t2, flow.period


@pytest.fixture
def dispatch_trades(trades: MemoryTradeSource, onchain: tuple[int, int, int]) -> list[Trade]:
    t1, t2, period = onchain
    items = [
        _trade(t1, "north", "south", 40_000, period),
        _trade(t2, "north", "south", 60_000, period),
    ]
    trades.add(items)
    return items


def _submission(service: OracleService, account: object, results: list[DispatchResult]) -> dict:
    """The POST /dispatch/results body: the results with ``account``'s batch signature."""
    sub = sign_batch(account, results, service.chain_id, service.dispatch_results.address)  # type: ignore[arg-type]
    return sub.model_dump(mode="json", by_alias=True)


def _results(onchain: tuple[int, int, int] = (1, 2, 7)) -> list[DispatchResult]:
    """Results of the two trades (default: off chain, as the role matrix lists them)."""
    t1, t2, period = onchain
    return [
        DispatchResult(
            trade_id=t1, period=period, executed_wh=40_000, curtailed_wh=0, reason_code=0
        ),
        DispatchResult(
            trade_id=t2, period=period, executed_wh=50_000, curtailed_wh=10_000, reason_code=1
        ),
    ]


def _tuples(results: list[DispatchResult]) -> list[tuple[int, int, int, int, int]]:
    return [(r.trade_id, r.period, r.executed_wh, r.curtailed_wh, r.reason_code) for r in results]


def test_dispatch_results_flow_from_trades_to_chain(
    api: TestClient,
    service: OracleService,
    dispatch_trades: list[Trade],
    onchain: tuple[int, int, int],
) -> None:
    t1, t2, period = onchain
    listed = api.get("/dispatch/trades", params={"period": period}, headers=DISPATCH_KEY)
    assert listed.status_code == 200
    assert [t["tradeId"] for t in listed.json()] == [t1, t2]
    dispatch = role_account("DISPATCH")
    results = _results(onchain)
    resp = api.post("/dispatch/results", json=_submission(service, dispatch, results))
    assert resp.status_code == 202, resp.text
    assert resp.json()["signer"] == dispatch.address
    assert service.relay.run_once() == 1
    stored = service.dispatch_results.result_of(t2)
    assert stored == (True, period, 50_000, 10_000, 1, dispatch.address)
    again = api.post("/dispatch/results", json=_submission(service, dispatch, results[:1]))
    assert again.status_code == 409
    assert again.json()["reason"] == "replay"


def test_results_signed_by_any_other_key_are_rejected(
    ctx: LedgerContext,
    api: TestClient,
    service: OracleService,
    dispatch_trades: list[Trade],
    onchain: tuple[int, int, int],
) -> None:
    for key in (Account.create(), role_account("METER_ORACLE"), role_account("OPERATOR")):
        resp = api.post("/dispatch/results", json=_submission(service, key, _results(onchain)))
        assert resp.status_code == 403
        assert resp.json()["reason"] == "not_dispatch_signer"
    # And the contract refuses them even when relayed directly.
    forger = Account.create()
    r = _results(onchain)[0]
    signed = sign_result(forger, r, service.chain_id, service.dispatch_results.address)
    relayer = ctx.client(DispatchResultsClient, role_account("METER_ORACLE"))
    with pytest.raises(ContractRevertError) as info:
        relayer.submit_results(_tuples([r]), [bytes.fromhex(signed.signature[2:])])
    assert (info.value.name, info.value.arguments) == (
        "NotDispatchSigner",
        {"signer": forger.address, "tradeId": r.trade_id},
    )


def test_contract_accepts_once_per_trade_and_only_before_settlement_opens(
    ctx: LedgerContext, service: OracleService, onchain: tuple[int, int, int]
) -> None:
    t1, _t2, period = onchain
    dispatch = role_account("DISPATCH")
    relayer = ctx.client(DispatchResultsClient, role_account("METER_ORACLE"))
    results = _results(onchain)
    sigs = [
        bytes.fromhex(sign_result(dispatch, r, service.chain_id, relayer.address).signature[2:])
        for r in results
    ]
    tuples = _tuples(results)
    operator = ctx.client(DispatchResultsClient, role_account("OPERATOR"))
    now = int(ctx.w3.eth.get_block("latest")["timestamp"])
    operator.set_settlement_opens_at(period, now + 100)
    receipt = relayer.submit_results(tuples[:1], sigs[:1])
    (event,) = relayer.events(receipt, "DispatchResultRecorded")
    assert dict(event["args"]) == {
        "tradeId": t1,
        "period": period,
        "executedWh": 40_000,
        "curtailedWh": 0,
        "reasonCode": 0,
        "signer": dispatch.address,
    }
    with pytest.raises(ContractRevertError) as info:
        relayer.submit_results(tuples[:1], sigs[:1])
    assert (info.value.name, info.value.arguments) == ("ResultAlreadyRecorded", {"tradeId": t1})
    ctx.w3.provider.make_request("evm_increaseTime", [200])  # type: ignore[arg-type]
    ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    with pytest.raises(ContractRevertError) as info:
        relayer.submit_results(tuples[1:], sigs[1:])
    assert (info.value.name, info.value.arguments) == (
        "SettlementAlreadyOpen",
        {"period": period, "opensAt": now + 100},
    )


def _batch(
    ctx: LedgerContext, service: OracleService, tuples: list[tuple[int, int, int, int, int]]
) -> tuple[DispatchResultsClient, dict, bytes]:
    """The relayer, the batch's typed data and its DISPATCH signature."""
    relayer = ctx.client(DispatchResultsClient, role_account("METER_ORACLE"))
    names = [name for name, _type in eip712.DISPATCH_RESULT_FIELDS]
    messages = [dict(zip(names, t, strict=True)) for t in tuples]
    full = eip712.dispatch_batch_typed_data(messages, service.chain_id, relayer.address)
    return relayer, full, eip712.sign_typed(role_account("DISPATCH"), full)


def test_a_result_is_checked_against_its_trade_at_submission(
    ctx: LedgerContext,
    service: OracleService,
    flow: Flow,  # noqa: F811
    onchain: tuple[int, int, int],
) -> None:
    t1, t2, period = onchain
    cases = [
        ((t1, period, 40_000, 1, 0), "DispatchExceedsTrade",
         {"tradeId": t1, "executedWh": 40_000, "curtailedWh": 1, "energyWh": 40_000}),
        ((t2, period, 0, 60_001, 1), "DispatchExceedsTrade",
         {"tradeId": t2, "executedWh": 0, "curtailedWh": 60_001, "energyWh": 60_000}),
        ((t1, period + 1, 40_000, 0, 0), "DispatchPeriodMismatch",
         {"tradeId": t1, "resultPeriod": period + 1, "tradePeriod": period}),
        ((t2 + 1, period, 1, 0, 0), "UnknownTrade", {"tradeId": t2 + 1}),
    ]  # fmt: skip
    for result, name, arguments in cases:
        relayer, _full, signature = _batch(ctx, service, [result])
        with pytest.raises(ContractRevertError) as info:
            relayer.submit_result_batch([result], signature)
        assert (info.value.name, info.value.arguments) == (name, arguments)
        sig = eip712.sign_typed(
            role_account("DISPATCH"),
            eip712.dispatch_typed_data(
                dict(zip([n for n, _t in eip712.DISPATCH_RESULT_FIELDS], result, strict=True)),
                service.chain_id,
                relayer.address,
            ),
        )
        with pytest.raises(ContractRevertError) as info:
            relayer.submit_results([result], [sig])
        assert (info.value.name, info.value.arguments) == (name, arguments)
    # A closed trade takes no result (here: closed by a MARKET_CONTRACT without one).
    t3 = flow.trade("seller", "buyer", 10_000, PRICE)
    flow.market.settler.close_trade(t3, TradeStatus.FAILED)
    relayer, _full, signature = _batch(ctx, service, [(t3, period, 10_000, 0, 0)])
    with pytest.raises(ContractRevertError) as info:
        relayer.submit_result_batch([(t3, period, 10_000, 0, 0)], signature)
    assert (info.value.name, info.value.arguments) == (
        "TradeNotOpen",
        {"tradeId": t3, "status": int(TradeStatus.FAILED)},
    )
    # The whole energy split into executed and curtailed passes, and settles.
    relayer, _full, signature = _batch(ctx, service, [(t1, period, 30_000, 10_000, 1)])
    relayer.submit_result_batch([(t1, period, 30_000, 10_000, 1)], signature)
    flow.dispatch(t2, 0, 60_000, 2)
    flow.meter({"seller": (0, 30_000), "buyer": (30_000, 0),
                "seller2": (0, 0), "buyer2": (0, 0)})  # fmt: skip
    flow.open_settlement()
    flow.engine.settle_batch([t1, t2])
    trades = flow.market.settler
    assert [trades.trade(t).status for t in (t1, t2)] == [TradeStatus.SETTLED, TradeStatus.FAILED]


def test_a_batch_signed_once_is_recorded_and_checked_like_single_results(
    ctx: LedgerContext, service: OracleService, onchain: tuple[int, int, int]
) -> None:
    t1, t2, period = onchain
    tuples = _tuples(_results(onchain))
    relayer, full, signature = _batch(ctx, service, tuples)
    names = [name for name, _type in eip712.DISPATCH_RESULT_FIELDS]
    messages = [dict(zip(names, t, strict=True)) for t in tuples]
    dispatch = role_account("DISPATCH")
    # the contract's digest is EIP-712's (eth-account) and the fast struct hash's
    digest = relayer.batch_digest(tuples)
    assert digest == eip712.reference_digest(full)
    separator = eip712.domain_separator(
        eip712.DISPATCH_DOMAIN_NAME, service.chain_id, relayer.address
    )
    assert digest == eip712.typed_digest(separator, eip712.dispatch_batch_struct_hash(messages))

    forger = Account.create()
    with pytest.raises(ContractRevertError) as info:
        relayer.submit_result_batch(tuples, eip712.sign_typed(forger, full))
    assert (info.value.name, info.value.arguments) == (
        "NotDispatchSigner",
        {"signer": forger.address, "tradeId": t1},
    )
    with pytest.raises(ContractRevertError) as info:  # a tampered result: another signer
        relayer.submit_result_batch([tuples[0], (t2, period, 60_000, 0, 0)], signature)
    assert info.value.name == "NotDispatchSigner"
    with pytest.raises(ContractRevertError) as info:
        relayer.submit_result_batch(tuples, b"\x01" * 64)
    assert (info.value.name, info.value.arguments) == ("InvalidDispatchSignature", {"tradeId": t1})
    with pytest.raises(ContractRevertError) as info:
        relayer.submit_result_batch([], signature)
    assert info.value.name == "EmptyBatch"
    with pytest.raises(ContractRevertError) as info:  # METER_ORACLE only
        ctx.client(DispatchResultsClient, dispatch).submit_result_batch(tuples, signature)
    assert info.value.name == "AccessControlUnauthorizedAccount"

    receipt = relayer.submit_result_batch(tuples, signature)
    events = relayer.events(receipt, "DispatchResultRecorded")
    assert [dict(e["args"]) for e in events] == [
        {**m, "signer": dispatch.address} for m in messages
    ]
    assert relayer.result_of(t2) == (True, period, 50_000, 10_000, 1, dispatch.address)
    assert relayer.result_of(t1) == (True, period, 40_000, 0, 0, dispatch.address)
    assert relayer.result_of(t2 + 1) == (False, 0, 0, 0, 0, "0x" + "00" * 20)
    with pytest.raises(ContractRevertError) as info:
        relayer.submit_result_batch(tuples, signature)
    assert (info.value.name, info.value.arguments) == ("ResultAlreadyRecorded", {"tradeId": t1})
