"""Contract guarantees: substitution (taken / not taken), FTR compensation, deviations
(formulas 2 and 3), the bond fallback and debt, roles, the census.

Base trade: 10 MWh at 350,000 fen/MWh North -> City, route [0, 2, 3] (6,000 fen/MWh),
prepayment 3,560,000 fen. The storage node sits in Coast (2): its route to City is
[2, 3] (1,000 + 2,000 = 3,000 fen/MWh).
"""

from __future__ import annotations

import pytest

from ledger.clients.access import role_id
from ledger.clients.registry import code
from ledger.clients.settlement import deviation, ftr_compensation, substitution_taken
from ledger.clients.token import SettlementTokenClient
from ledger.errors import ContractRevertError
from node.registry.participant import Bank
from tests.conftest import role_account
from tests.settlement.conftest import Flow, advance_time, block_time, refund_of

E = 10_000_000
PRICE = 350_000
ESCROW = 3_560_000
DOWN = 40_000  # a, fen/MWh
UP = 60_000  # a', fen/MWh


def _curtailed_trade(flow: Flow, *, reason: int = 1) -> int:
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, 6_000_000, 4_000_000, reason)
    return tid


def test_substitution_taken_serves_the_buyer(flow: Flow) -> None:
    storage = flow.party("storage")
    (ev,) = flow.engine.events(
        storage.engine.declare_spare_capacity(flow.period, 5_000_000, 300_000),
        "SpareCapacityDeclared",
    )
    assert dict(ev["args"]) == {
        "node": storage.address,
        "period": flow.period,
        "energyWh": 5_000_000,
        "priceFenPerMwh": 300_000,
    }
    flow.open_taking()
    tid = _curtailed_trade(flow)
    (nom,) = flow.engine.events(
        flow.dispatcher.nominate_substitute(tid, storage.address), "SubstituteNominated"
    )
    assert nom["args"]["substitute"] == storage.address
    buyer_before = flow.token.balance_of(flow.party("buyer").address)
    flow.meter({"seller": (0, 6_000_000), "buyer": (E, 0), "storage": (0, 4_000_000)})
    flow.open_settlement()
    receipt = flow.engine.settle(tid)
    (taken,) = flow.engine.events(receipt, "SubstitutionTaken")
    # 4 MWh x 300,000 = 1,200,000; fee 4 MWh x 3,000 = 12,000
    assert dict(taken["args"]) == {
        "tradeId": tid,
        "substitute": storage.address,
        "buyer": flow.party("buyer").address,
        "energyWh": 4_000_000,
        "priceFenPerMwh": 300_000,
        "amountFen": 1_200_000,
        "sumRateFenPerMwh": 3_000,
        "feeFen": 12_000,
    }
    assert substitution_taken(4_000_000, 300_000, 3_000, PRICE, 6_000)
    fees = [
        (e["args"]["region"], e["args"]["amountFen"], e["args"]["substitution"])
        for e in flow.engine.events(receipt, "TransmissionFeePaid")
    ]
    assert fees == [(0, 18_000, False), (2, 6_000, False), (3, 12_000, False),
                    (2, 4_000, True), (3, 8_000, True)]  # fmt: skip
    # 3,560,000 - 2,100,000 - 36,000 - 1,200,000 - 12,000 = 212,000
    assert refund_of(flow.engine, receipt) == (0, 212_000)
    assert flow.token.balance_of(flow.party("buyer").address) == buyer_before + 212_000
    assert flow.engine.claimable_of(storage.address) == 1_200_000
    assert flow.engine.claimable_of(flow.party("seller").address) == 2_100_000
    assert flow.engine.spare_capacity_of(storage.address, flow.period).remaining_wh == 1_000_000
    npb = flow.engine.node_period(flow.party("buyer").address, flow.period)
    nps = flow.engine.node_period(storage.address, flow.period)
    assert (npb.import_wh, nps.export_wh) == (E, 4_000_000)
    supply, held = flow.conservation()
    assert supply == held
    # the substitute's deviation: contracted export 4 MWh, metered 4 MWh -> zero
    flow.dispatcher.set_deviation_rates(flow.period, DOWN, UP)
    (dev,) = flow.engine.events(
        flow.engine.settle_deviation(storage.address, flow.period), "DeviationSettled"
    )
    assert (dev["args"]["deviationWh"], dev["args"]["amountFen"]) == (0, 0)


def test_substitution_not_taken_refunds_the_buyer(flow: Flow) -> None:
    storage = flow.party("storage")
    storage.engine.declare_spare_capacity(flow.period, 5_000_000, 400_000)
    flow.open_taking()
    tid = _curtailed_trade(flow)
    flow.dispatcher.nominate_substitute(tid, storage.address)
    flow.meter({"seller": (0, 6_000_000), "buyer": (6_000_000, 0)})
    flow.open_settlement()
    receipt = flow.engine.settle(tid)
    (declined,) = flow.engine.events(receipt, "SubstitutionDeclined")
    # cost 4 x 400,000 + 4 x 3,000 = 1,612,000 > value 4 x 350,000 + 4 x 6,000 = 1,424,000
    assert dict(declined["args"]) == {
        "tradeId": tid,
        "substitute": storage.address,
        "reason": 1,
        "energyWh": 4_000_000,
        "costFen": 1_612_000,
        "contractValueFen": 1_424_000,
    }
    assert not substitution_taken(4_000_000, 400_000, 3_000, PRICE, 6_000)
    assert flow.engine.events(receipt, "SubstitutionTaken") == []
    assert refund_of(flow.engine, receipt) == (4_000_000, 1_424_000)
    assert flow.engine.spare_capacity_of(storage.address, flow.period).remaining_wh == 5_000_000
    assert flow.engine.claimable_of(storage.address) == 0


def test_declaration_and_nomination_rules(flow: Flow) -> None:
    buyer, storage = flow.party("buyer"), flow.party("storage")
    with pytest.raises(ContractRevertError) as err:
        buyer.engine.declare_spare_capacity(flow.period, 1, 1)
    assert (err.value.name, err.value.arguments) == ("NotASeller", {"node": buyer.address})
    flow.open_taking()
    tid = _curtailed_trade(flow)
    with pytest.raises(ContractRevertError) as err:
        flow.dispatcher.nominate_substitute(tid, storage.address)
    assert (err.value.name, err.value.arguments) == (
        "NoSpareCapacity",
        {"substitute": storage.address, "period": flow.period},
    )
    with pytest.raises(ContractRevertError) as err:
        flow.dispatcher.nominate_substitute(tid, flow.party("seller").address)
    assert err.value.name == "InvalidSubstitute"
    with pytest.raises(ContractRevertError) as err:
        flow.engine.nominate_substitute(tid, storage.address)
    assert err.value.name == "AccessControlUnauthorizedAccount"
    assert err.value.arguments["neededRole"] == role_id("DISPATCH")
    storage.engine.declare_spare_capacity(flow.period, 1_000, 1)
    flow.open_settlement()
    with pytest.raises(ContractRevertError) as err:
        flow.dispatcher.nominate_substitute(tid, storage.address)
    assert err.value.name == "SettlementAlreadyOpen"
    with pytest.raises(ContractRevertError) as err:
        storage.engine.declare_spare_capacity(flow.period, 1_000, 1)
    assert err.value.name == "DeliveryStarted"


def test_ftr_compensates_congestion_curtailment_from_the_fund(flow: Flow) -> None:
    buyer = flow.party("buyer")
    receipt = flow.operator.sell_ftr(0, 3, flow.period, 3_000_000, 50_000, 100_000)
    ftr_id = flow.operator.offered_ftr_id(receipt)
    buyer.actor.token.approve(flow.engine.address, 100_000)
    (bought,) = flow.engine.events(buyer.engine.buy_ftr(ftr_id), "FtrBought")
    assert dict(bought["args"]) == {
        "ftrId": ftr_id,
        "holder": buyer.address,
        "priceFen": 100_000,
        "fundFen": 100_000,
    }
    assert flow.engine.ftr_of(buyer.address, flow.period, 0, 3) == ftr_id
    with pytest.raises(ContractRevertError) as err:
        flow.party("buyer2").engine.buy_ftr(ftr_id)
    assert err.value.name == "FtrAlreadySold"
    # top up the fund by 30,000 from the balancing account
    flow.ctx.client(type(flow.engine), flow.balancing).fund_ftr(30_000)
    assert flow.engine.ftr_fund_fen() == 130_000
    flow.open_taking()
    other = _curtailed_trade(flow, reason=3)  # not congestion: no compensation
    tid = _curtailed_trade(flow, reason=1)
    flow.meter({"seller": (0, 12_000_000), "buyer": (12_000_000, 0)})
    flow.open_settlement()
    assert flow.engine.events(flow.engine.settle(other), "FtrCompensated") == []
    (comp,) = flow.engine.events(flow.engine.settle(tid), "FtrCompensated")
    # eligible min(4 MWh, 3 MWh) = 3 MWh x 50,000 = 150,000; the fund holds 130,000
    assert dict(comp["args"]) == {
        "tradeId": tid,
        "ftrId": ftr_id,
        "holder": buyer.address,
        "curtailedWh": 4_000_000,
        "eligibleWh": 3_000_000,
        "rateFenPerMwh": 50_000,
        "amountFen": 130_000,
        "unpaidFen": 20_000,
    }
    assert ftr_compensation(4_000_000, 3_000_000, 50_000, 130_000) == (3_000_000, 130_000, 20_000)
    assert flow.engine.ftr_fund_fen() == 0
    assert flow.engine.claimable_of(buyer.address) == 130_000
    assert flow.engine.ftr(ftr_id).used_wh == 3_000_000
    supply, held = flow.conservation()
    assert supply == held


def _delivered(flow: Flow, buyer_import: int, seller_export: int) -> int:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, E)
    flow.dispatcher.set_deviation_rates(flow.period, DOWN, UP)
    flow.meter({"seller": (0, seller_export), "buyer": (buyer_import, 0)})
    flow.open_settlement()
    flow.engine.settle(tid)
    return tid


def test_ramp_down_cases_receive_formula_2(flow: Flow) -> None:
    _delivered(flow, buyer_import=9_500_000, seller_export=10_200_000)
    balancing_before = flow.token.balance_of(flow.balancing.address)
    buyer, seller = flow.party("buyer"), flow.party("seller")
    (ev,) = flow.engine.events(
        flow.engine.settle_deviation(buyer.address, flow.period), "DeviationSettled"
    )
    # buyer consumed less: dQ = 9.5 - 10 MWh = -0.5 MWh -> 0.5 x 40,000 = 20,000 received
    assert dict(ev["args"]) == {
        "node": buyer.address,
        "period": flow.period,
        "meteredNetWh": 9_500_000,
        "contractedNetWh": E,
        "deviationWh": -500_000,
        "rampUp": False,
        "rateFenPerMwh": DOWN,
        "amountFen": 20_000,
    }
    assert deviation(9_500_000, E, 0, DOWN, UP).amount_fen == 20_000
    (ev,) = flow.engine.events(
        flow.engine.settle_deviation(seller.address, flow.period), "DeviationSettled"
    )
    # seller supplied more: -10.2 - (-10) = -0.2 MWh -> 8,000 received
    assert (ev["args"]["deviationWh"], ev["args"]["rampUp"], ev["args"]["amountFen"]) == (
        -200_000,
        False,
        8_000,
    )
    assert flow.engine.claimable_of(buyer.address) == 20_000
    assert flow.engine.claimable_of(seller.address) == 3_500_000 + 8_000
    assert flow.token.balance_of(flow.balancing.address) == balancing_before - 28_000
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle_deviation(buyer.address, flow.period)
    assert err.value.name == "DeviationAlreadySettled"
    with pytest.raises(ContractRevertError) as err:
        flow.dispatcher.set_deviation_rates(flow.period, 1, 1)
    assert (err.value.name, err.value.arguments) == (
        "DeviationRatesLocked",
        {"period": flow.period},
    )
    supply, held = flow.conservation()
    assert supply == held


def test_ramp_up_cases_pay_formula_3(flow: Flow) -> None:
    _delivered(flow, buyer_import=10_300_000, seller_export=9_900_000)
    buyer, seller = flow.party("buyer"), flow.party("seller")
    balancing_before = flow.token.balance_of(flow.balancing.address)
    buyer.actor.token.approve(flow.engine.address, 5_000)
    bond_before = flow.registry.bond_of(buyer.address)
    receipt = flow.engine.settle_deviation(buyer.address, flow.period)
    (ev,) = flow.engine.events(receipt, "DeviationSettled")
    # buyer consumed more: +0.3 MWh x 60,000 = 18,000 owed
    assert (ev["args"]["deviationWh"], ev["args"]["rampUp"], ev["args"]["amountFen"]) == (
        300_000,
        True,
        18_000,
    )
    (col,) = flow.engine.events(receipt, "DeviationCollected")
    assert dict(col["args"]) == {
        "node": buyer.address,
        "period": flow.period,
        "fromCreditFen": 0,
        "fromWalletFen": 5_000,
        "fromBondFen": 13_000,
        "debtFen": 0,
    }
    assert flow.registry.bond_of(buyer.address) == bond_before - 13_000
    # seller supplied less: -9.9 - (-10) = +0.1 MWh x 60,000 = 6,000 from its credit
    receipt = flow.engine.settle_deviation(seller.address, flow.period)
    (col,) = flow.engine.events(receipt, "DeviationCollected")
    assert (col["args"]["fromCreditFen"], col["args"]["fromWalletFen"]) == (6_000, 0)
    assert flow.engine.claimable_of(seller.address) == 3_500_000 - 6_000
    assert flow.token.balance_of(flow.balancing.address) == balancing_before + 24_000
    assert deviation(-9_900_000, 0, E, DOWN, UP).model_dump() == {
        "metered_net_wh": -9_900_000,
        "contracted_net_wh": -E,
        "deviation_wh": 100_000,
        "ramp_up": True,
        "rate_fen_per_mwh": UP,
        "amount_fen": 6_000,
    }
    # rounding: 333 Wh x 60,000 fen/MWh = 19.98 -> 19 fen
    assert deviation(333, 0, 0, DOWN, UP).amount_fen == 19
    supply, held = flow.conservation()
    assert supply == held


def test_bond_fallback_then_debt_blocks_trading_until_repaid(flow: Flow) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, E)
    flow.dispatcher.set_deviation_rates(flow.period, DOWN, 200_000_000)
    flow.meter({"seller": (0, E), "buyer": (11_000_000, 0)})
    flow.open_settlement()
    flow.engine.settle(tid)
    buyer = flow.party("buyer")
    buyer.actor.token.approve(flow.engine.address, 1_000_000)
    bond = flow.registry.bond_of(buyer.address)
    receipt = flow.engine.settle_deviation(buyer.address, flow.period)
    # 1 MWh x 200,000,000 fen/MWh = 200,000,000 fen owed
    debt = 200_000_000 - 1_000_000 - bond
    (col,) = flow.engine.events(receipt, "DeviationCollected")
    assert dict(col["args"]) == {
        "node": buyer.address,
        "period": flow.period,
        "fromCreditFen": 0,
        "fromWalletFen": 1_000_000,
        "fromBondFen": bond,
        "debtFen": debt,
    }
    assert flow.engine.debt_of(buyer.address) == debt
    assert flow.registry.bond_of(buyer.address) == 0
    assert code("SETTLEMENT_DEBT") in flow.registry.block_reasons_of(buyer.address)
    assert not flow.registry.can_trade(buyer.address)
    # repay: partly, then the rest; the block lifts with the last fen
    payer = flow.balancing
    flow.ctx.client(SettlementTokenClient, payer).approve(flow.engine.address, debt)
    Bank(flow.ctx, role_account("CLEARING_BANK")).mint(payer.address, debt, "REPAY")
    payer_engine = flow.ctx.client(type(flow.engine), payer)
    (rep,) = flow.engine.events(payer_engine.repay_debt(buyer.address, 1_000), "DebtRepaid")
    assert dict(rep["args"]) == {
        "node": buyer.address,
        "payer": payer.address,
        "amountFen": 1_000,
        "debtFen": debt - 1_000,
    }
    assert code("SETTLEMENT_DEBT") in flow.registry.block_reasons_of(buyer.address)
    payer_engine.repay_debt(buyer.address, 2**200)
    assert flow.engine.debt_of(buyer.address) == 0
    assert code("SETTLEMENT_DEBT") not in flow.registry.block_reasons_of(buyer.address)
    with pytest.raises(ContractRevertError) as err:
        payer_engine.repay_debt(buyer.address, 1)
    assert (err.value.name, err.value.arguments) == ("NoDebt", {"node": buyer.address})
    supply, held = flow.conservation()
    assert supply == held


def test_deviation_gating(flow: Flow) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    buyer = flow.party("buyer").address
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle_deviation(buyer, flow.period)
    assert err.value.name == "TakingNotClosed"
    flow.dispatch(tid, E)
    flow.meter({"seller": (0, E), "buyer": (E, 0)})
    flow.open_settlement()
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle_deviation(buyer, flow.period)
    assert (err.value.name, err.value.arguments) == (
        "DeviationRatesNotSet",
        {"period": flow.period},
    )
    flow.dispatcher.set_deviation_rates(flow.period, DOWN, UP)
    with pytest.raises(ContractRevertError) as err:
        flow.engine.settle_deviation(buyer, flow.period)
    assert (err.value.name, err.value.arguments) == (
        "TradesUnsettled",
        {"node": buyer, "period": flow.period, "trades": 1, "settled": 0},
    )
    flow.engine.settle(tid)
    flow.engine.settle_deviation(buyer, flow.period)


def test_trades_are_counted_per_node_and_period(flow: Flow) -> None:
    flow.open_taking()
    for _ in range(3):
        flow.trade("seller", "buyer", 1_000_000, PRICE)
    buyer = flow.party("buyer").address
    assert flow.market.operator.trade_count_in(buyer, flow.period) == 3
    assert flow.market.operator.trade_count_in(buyer, flow.period + 1) == 0
    assert flow.engine.node_period(buyer, flow.period).trades == 3


def test_operator_and_dispatch_roles(flow: Flow) -> None:
    stranger = flow.engine
    for call, role in (
        (lambda: stranger.set_grid_account(0, stranger.address), "OPERATOR"),
        (lambda: stranger.set_balancing_account(stranger.address), "OPERATOR"),
        (lambda: stranger.set_remainder_account(stranger.address), "OPERATOR"),
        (lambda: stranger.sell_ftr(0, 3, flow.period, 1, 1, 1), "OPERATOR"),
        (lambda: stranger.set_deviation_rates(flow.period, 1, 1), "DISPATCH"),
        (lambda: flow.operator.set_deviation_rates(flow.period, 1, 1), "DISPATCH"),
        (lambda: flow.dispatcher.set_grid_account(0, stranger.address), "OPERATOR"),
    ):
        with pytest.raises(ContractRevertError) as err:
            call()
        assert err.value.name == "AccessControlUnauthorizedAccount"
        assert err.value.arguments["neededRole"] == role_id(role)
    (ev,) = flow.operator.events(
        flow.operator.set_grid_account(5, stranger.address), "GridAccountSet"
    )
    assert dict(ev["args"]) == {
        "region": 5,
        "account": stranger.address,
        "operator": flow.operator.sender.address,
    }
    assert flow.engine.grid_account_of(5) == stranger.address


def test_gas_of_settle_deviation(flow: Flow) -> None:
    _delivered(flow, buyer_import=10_300_000, seller_export=E)
    gas = flow.engine.settle_deviation(flow.party("seller").address, flow.period)["gasUsed"]
    print(f"settleDeviation gas (no deviation): {gas}")
    buyer = flow.party("buyer")
    buyer.actor.token.approve(flow.engine.address, 10**9)
    gas_up = flow.engine.settle_deviation(buyer.address, flow.period)["gasUsed"]
    print(f"settleDeviation gas (ramp up, paid from wallet): {gas_up}")
    assert gas < 200_000
    assert gas_up < 250_000
    assert advance_time(flow.ctx, 1) > block_time(flow.ctx) - 2
