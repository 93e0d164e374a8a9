"""SettlementEngine.settle: formula 1 and its split, refunds, failures, ordering errors.

Hand-computed numbers: 10 MWh at 350 CNY/MWh (350,000 fen/MWh) from North (0) to City (3),
route [0, 2, 3] at 3,000 + 1,000 + 2,000 = 6,000 fen/MWh: energy 3,500,000 fen, fee
60,000 fen, prepayment 3,560,000 fen.
"""

from __future__ import annotations

import pytest

from ledger.clients.settlement import split_fee
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.trading import TradeStatus
from ledger.errors import ContractRevertError
from ledger.units import value_fen as amount_fen
from tests.conftest import role_account
from tests.settlement.conftest import Flow, block_time, refund_of

E = 10_000_000
PRICE = 350_000
ESCROW = 3_560_000


def _claims(flow: Flow) -> dict[str, int]:
    out = {name: flow.engine.claimable_of(p.address) for name, p in flow.parties.items()}
    out |= {f"grid{r}": flow.engine.claimable_of(a.address) for r, a in flow.grid.items()}
    out["remainder"] = flow.engine.claimable_of(flow.remainder.address)
    return {k: v for k, v in out.items() if v}


def test_full_delivery_pays_seller_and_each_region(flow: Flow) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    buyer_before = flow.token.balance_of(flow.party("buyer").address)
    flow.dispatch(tid, E)
    flow.meter({"seller": (0, E), "buyer": (E, 0)})
    flow.open_settlement()
    receipt = flow.engine.settle(tid)
    eng = flow.engine
    fees = [dict(e["args"]) for e in eng.events(receipt, "TransmissionFeePaid")]
    assert [
        (
            f["region"],
            f["gridAccount"],
            f["energyWh"],
            f["rateFenPerMwh"],
            f["amountFen"],
            f["substitution"],
        )
        for f in fees
    ] == [
        (0, flow.grid[0].address, E, 3_000, 30_000, False),
        (2, flow.grid[2].address, E, 1_000, 10_000, False),
        (3, flow.grid[3].address, E, 2_000, 20_000, False),
    ]
    assert eng.events(receipt, "RemainderPaid") == []
    (settled,) = eng.events(receipt, "TradeSettled")
    assert dict(settled["args"]) == {
        "tradeId": tid,
        "period": flow.period,
        "buyer": flow.party("buyer").address,
        "seller": flow.party("seller").address,
        "energyWh": E,
        "executedWh": E,
        "curtailedWh": 0,
        "reasonCode": 0,
        "substitutedWh": 0,
        "failed": False,
        "by": eng.sender.address,
        "priceFenPerMwh": PRICE,
        "sellerFen": 3_500_000,
        "refundFen": 0,
    }
    assert _claims(flow) == {"seller": 3_500_000, "grid0": 30_000, "grid2": 10_000, "grid3": 20_000}
    trade = flow.market.settler.trade(tid)
    assert trade.status == TradeStatus.SETTLED
    assert trade.paid_out_fen == ESCROW
    assert flow.token.balance_of(flow.party("buyer").address) == buyer_before
    np = eng.node_period(flow.party("buyer").address, flow.period)
    assert (np.import_wh, np.export_wh, np.settled) == (E, 0, 1)
    assert eng.node_period(flow.party("seller").address, flow.period).export_wh == E
    supply, held = flow.conservation()
    assert supply == held
    # withdraw: pull payment
    seller = flow.party("seller")
    before = flow.token.balance_of(seller.address)
    (w,) = eng.events(seller.engine.withdraw(), "Withdrawn")
    assert dict(w["args"]) == {"account": seller.address, "amountFen": 3_500_000}
    assert flow.token.balance_of(seller.address) == before + 3_500_000
    with pytest.raises(ContractRevertError) as err:
        seller.engine.withdraw()
    assert (err.value.name, err.value.arguments["account"]) == ("NothingToWithdraw", seller.address)


def test_partial_execution_rounds_down_and_remainder_goes_to_remainder_account(
    flow: Flow,
) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", 2_500, 333_333)
    trade = flow.market.settler.trade(tid)
    # floor(2500 x 333333 / 1e6) = 833, floor(2500 x 6000 / 1e6) = 15
    assert (trade.energy_fen, trade.fee_fen, trade.escrow_fen) == (833, 15, 848)
    buyer_before = flow.token.balance_of(flow.party("buyer").address)
    flow.dispatch(tid, 1_500, 1_000, 3)
    flow.meter({"seller": (0, 1_500), "buyer": (1_500, 0)})
    flow.open_settlement()
    receipt = flow.engine.settle(tid)
    # seller floor(1500 x 333333 / 1e6) = floor(499.9995) = 499
    # fee floor(1500 x 6000 / 1e6) = 9; shares 4 (4.5), 1 (1.5), 3 (3.0) = 8; remainder 1
    assert [e["args"]["amountFen"] for e in flow.engine.events(receipt, "TransmissionFeePaid")] == [
        4,
        1,
        3,
    ]
    (rem,) = flow.engine.events(receipt, "RemainderPaid")
    assert dict(rem["args"]) == {
        "tradeId": tid,
        "account": flow.remainder.address,
        "feeFen": 9,
        "sharesFen": 8,
        "amountFen": 1,
    }
    assert split_fee(1_500, [0, 2, 3], [3_000, 1_000, 2_000]).model_dump() == {
        "fee_fen": 9,
        "shares_fen": [(0, 4), (2, 1), (3, 3)],
        "remainder_fen": 1,
    }
    # 848 - 499 - 9 = 340
    assert refund_of(flow.engine, receipt) == (1_000, 340)
    assert flow.token.balance_of(flow.party("buyer").address) == buyer_before + 340
    assert _claims(flow) == {"seller": 499, "grid0": 4, "grid2": 1, "grid3": 3, "remainder": 1}
    assert amount_fen(1_500, 333_333) == 499
    supply, held = flow.conservation()
    assert supply == held


def test_nothing_executed_fails_and_refunds_everything(flow: Flow) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    buyer_before = flow.token.balance_of(flow.party("buyer").address)
    flow.dispatch(tid, 0, E, 2)
    flow.meter({"seller": (0, 0), "buyer": (0, 0)})
    flow.open_settlement()
    receipt = flow.engine.settle(tid)
    assert flow.engine.events(receipt, "TransmissionFeePaid") == []
    (settled,) = flow.engine.events(receipt, "TradeSettled")
    assert (settled["args"]["failed"], settled["args"]["reasonCode"]) == (True, 2)
    assert refund_of(flow.engine, receipt) == (E, ESCROW)
    assert flow.market.settler.trade(tid).status == TradeStatus.FAILED
    assert flow.token.balance_of(flow.party("buyer").address) == buyer_before + ESCROW
    assert _claims(flow) == {}


def test_settlement_order_errors_and_double_settlement(flow: Flow) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle(tid)
    assert (err.value.name, err.value.arguments) == ("DispatchResultMissing", {"tradeId": tid})
    flow.dispatch(tid, E)
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle(tid)
    assert err.value.name == "SettlementNotOpen"
    assert err.value.arguments["period"] == flow.period
    assert err.value.arguments["opensAt"] == 0
    proofs = flow.meter({"seller": (0, E), "buyer": (E, 0)}, submit=["seller"])
    flow.open_settlement()
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle(tid)
    assert (err.value.name, err.value.arguments) == (
        "MeterDataMissing",
        {"node": flow.party("buyer").address, "period": flow.period},
    )
    flow.oracle.submit_node_total(*proofs["buyer"])
    flow.engine.settle(tid)
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle(tid)
    assert (err.value.name, err.value.arguments) == (
        "TradeAlreadySettled",
        {"tradeId": tid, "status": int(TradeStatus.SETTLED)},
    )
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle_batch([tid])
    assert err.value.name == "TradeAlreadySettled"


def test_missing_meter_data_settles_the_others_and_flags_the_node(flow: Flow) -> None:
    flow.open_taking()
    a = flow.trade("seller", "buyer", E, PRICE)
    b = flow.trade("seller2", "buyer2", 2 * E, 300_000)
    flow.dispatch(a, E)
    flow.dispatch(b, 2 * E)
    flow.dispatcher.set_deviation_rates(flow.period, 40_000, 60_000)
    proofs = flow.meter(
        {"seller": (0, E), "buyer": (E, 0), "seller2": (0, 2 * E), "buyer2": (2 * E, 0)},
        submit=["seller", "buyer", "seller2"],
    )
    flow.open_settlement()
    receipt = flow.engine.settle_batch([a, b])
    assert [e["args"]["tradeId"] for e in flow.engine.events(receipt, "TradeSettled")] == [a]
    (flag,) = flow.engine.events(receipt, "MeterDataFlagged")
    assert dict(flag["args"]) == {
        "node": flow.party("buyer2").address,
        "period": flow.period,
        "by": flow.engine.sender.address,
    }
    assert flow.engine.node_period(flow.party("buyer2").address, flow.period).meter_missing
    assert flow.market.settler.trade(b).status == TradeStatus.DISPATCHED or (
        flow.market.settler.trade(b).status == TradeStatus.FORMED
    )
    # the others' deviations settle; the flagged node's and its counterparty's wait
    flow.engine.settle_deviation(flow.party("seller").address, flow.period)
    flow.engine.settle_deviation(flow.party("buyer").address, flow.period)
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle_deviation(flow.party("seller2").address, flow.period)
    assert (err.value.name, err.value.arguments) == (
        "TradesUnsettled",
        {"node": flow.party("seller2").address, "period": flow.period, "trades": 1, "settled": 0},
    )
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle_deviation(flow.party("buyer2").address, flow.period)
    assert err.value.name == "TradesUnsettled"
    with pytest.raises(ContractRevertError) as err:
        flow.engine.flag_missing_meter(flow.party("buyer").address, flow.period)
    assert err.value.name == "MeterDataPresent"
    # the data arrives later: nothing was guessed, it settles now
    flow.oracle.submit_node_total(*proofs["buyer2"])
    flow.engine.settle(b)
    flow.engine.settle_deviation(flow.party("buyer2").address, flow.period)
    supply, held = flow.conservation()
    assert supply == held


def test_gas_of_settle(flow: Flow) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, E)
    flow.meter({"seller": (0, E), "buyer": (E, 0)})
    flow.open_settlement()
    gas = flow.engine.settle(tid)["gasUsed"]
    print(f"settle gas (3-region route, full delivery): {gas}")
    assert gas < 600_000
    assert block_time(flow.ctx) > 0


def test_the_markets_settlement_functions_are_lean_and_for_the_engine_only(flow: Flow) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    settler = flow.market.settler
    full = settler.trade(tid)
    lean = settler.contract.functions.settlementTrade(tid).call()
    route = sum(r << (8 + 5 * k) for k, r in enumerate(full.route)) | len(full.route)
    assert tuple(lean) == (
        int(TradeStatus.FORMED),
        flow.party("buyer").address,
        flow.party("seller").address,
        flow.period,
        E,
        PRICE,
        full.sum_rate_fen_per_mwh,
        full.formed_at,
        route,
    )
    with pytest.raises(ContractRevertError) as err:
        settler.sender.call(settler.address, settler.encode("settlementTrade", 10**6))
    assert (err.value.name, err.value.arguments) == ("UnknownTrade", {"tradeId": 10**6})
    stranger = flow.party("buyer").actor.market
    with pytest.raises(ContractRevertError) as err:
        stranger.sender.call(
            stranger.address, stranger.encode("settleTrade", tid, E, 0, 0, 0, False)
        )
    assert err.value.name == "AccessControlUnauthorizedAccount"
    # the market's events of a settlement, then the engine's (one market call)
    flow.dispatch(tid, E // 2, E // 2, 1)
    flow.meter({"seller": (0, E // 2), "buyer": (E // 2, 0)})
    flow.open_settlement()
    receipt = flow.engine.settle(tid)
    _unexecuted, refund_fen = refund_of(flow.engine, receipt)
    paid = [dict(e["args"]) for e in settler.events(receipt, "EscrowPaidOut")]
    assert [p["to"] for p in paid] == [flow.engine.address, flow.party("buyer").address]
    assert refund_fen == paid[1]["amountFen"] == ESCROW - paid[0]["amountFen"]
    closed = settler.trade(tid)
    assert (closed.status, closed.executed_wh, closed.curtailed_wh, closed.paid_out_fen) == (
        TradeStatus.SETTLED,
        E // 2,
        E // 2,
        ESCROW,
    )


def _later(flow: Flow, seconds: int) -> None:
    flow.ctx.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    flow.ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_a_batch_splits_each_fee_at_the_rates_of_its_trades_formation(flow: Flow) -> None:
    flow.open_taking()
    before = [flow.trade("seller", "buyer", E, PRICE) for _ in range(2)]
    tariff = flow.ctx.client(TransmissionTariffClient, role_account("REGULATOR"))
    _later(flow, 5)
    tariff.schedule_stamp_rate(2, 1_200)  # from now: later trades pay the new rate
    _later(flow, 5)
    after = [flow.trade("seller", "buyer", E, PRICE) for _ in range(2)]
    trades = before + after
    for tid in trades:
        flow.dispatch(tid, E)
    flow.meter({"seller": (0, 4 * E), "buyer": (4 * E, 0)})
    flow.open_settlement()
    receipt = flow.engine.settle_batch(trades)
    paid = [dict(e["args"]) for e in flow.engine.events(receipt, "TransmissionFeePaid")]
    assert flow.engine.events(receipt, "FeeSplitUnavailable") == []
    for tid in trades:
        t = flow.market.settler.trade(tid)
        expected = [(r, tariff.rate_at(r, t.formed_at)) for r in t.route]
        assert [(p["region"], p["rateFenPerMwh"]) for p in paid if p["tradeId"] == tid] == expected
        assert sum(rate for _r, rate in expected) == t.sum_rate_fen_per_mwh
    rates_of = {tid: {p["rateFenPerMwh"] for p in paid if p["tradeId"] == tid} for tid in trades}
    assert all(1_200 not in rates_of[tid] for tid in before)
    supply, held = flow.conservation()
    assert supply == held
