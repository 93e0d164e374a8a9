"""Quota arithmetic, coverage by retirement and by clean trades, compliance and fines."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.clients.access import role_id
from ledger.clients.certificates import (
    QuotaLedgerClient,
    coverage_wh,
    fine_fen,
    obligation_wh,
    token_id,
)
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side
from ledger.errors import ContractRevertError
from tests.certificates.conftest import MWH, CertWorld, advance_time, block_time

P = 400  # compliance period of these tests
WEIGHT_BPS = 2_000  # 20 % of consumption must be renewable
FINE_RATE = 150_000  # fen per MWh of shortfall (1,500 CNY/MWh)


def _setup(world: CertWorld, consumer_import: int = 7_300_000) -> int:
    world.meter(
        P,
        {
            "wind": (0, 5_400_000),
            "solar": (0, 2_000_000),
            "consumer": (consumer_import, 0),
            "retailer": (1_000_000, 0),
        },
    )
    world.cert.issue(world.p("wind").address, P)
    world.cert.issue(world.p("solar").address, P)
    return world.quota_for(P, WEIGHT_BPS, FINE_RATE)


def test_quota_arithmetic_with_type_weights(world: CertWorld) -> None:
    deadline = _setup(world)
    wind, solar, consumer = (world.p(n).address for n in ("wind", "solar", "consumer"))
    c = world.quota.compliance_of(consumer, P)
    assert c.obligation_wh == obligation_wh(7_300_000, WEIGHT_BPS) == 1_460_000
    assert (c.covered_wh, c.shortfall_wh) == (0, 1_460_000)
    assert c.fine_fen == fine_fen(1_460_000, FINE_RATE) == 219_000
    assert (c.quota_set, c.consumption_recorded, c.deadline, c.assessed) == (
        True,
        True,
        deadline,
        False,
    )

    wind_id = token_id(int(NodeKind.WIND), wind, P)
    solar_id = token_id(int(NodeKind.SOLAR), solar, P)
    # The wind generator sells one certificate to the consumer, which retires it.
    world.p("wind").certs.cert.safe_transfer_from(wind, consumer, wind_id, 1)
    receipt = world.p("consumer").certs.quota.retire(wind_id, 1, consumer, P)
    (ev,) = world.quota.events(receipt, "CoverageCredited")
    assert dict(ev["args"]) == {
        "party": consumer,
        "period": P,
        "retirementId": 1,
        "tokenId": wind_id,
        "amount": 1,
        "typeWeightBps": 10_000,
        "coveredWh": 1_000_000,
        "totalCoveredWh": 1_000_000,
    }
    (r,) = world.cert.events(receipt, "CertificatesRetired")
    assert dict(r["args"]) == {
        "retirementId": 1,
        "tokenId": wind_id,
        "beneficiary": consumer,
        "holder": consumer,
        "amount": 1,
        "period": P,
        "tradeId": 0,
        "by": world.quota.address,
    }
    # Solar is worth 9,000 bps now: the solar generator retires one for the consumer.
    world.regulator.set_type_weight(int(NodeKind.SOLAR), 9_000)
    world.p("solar").certs.quota.retire(solar_id, 1, consumer, P)
    c = world.quota.compliance_of(consumer, P)
    assert c.covered_wh == 1_000_000 + coverage_wh(1, 9_000) == 1_900_000
    assert (c.shortfall_wh, c.fine_fen) == (0, 0)
    assert world.quota.covered_wh_of(consumer, P) == 1_900_000
    # The retailer's obligation is untouched.
    assert world.quota.compliance_of(world.p("retailer").address, P).shortfall_wh == 200_000
    rets = world.cert.retirements_of(consumer)
    assert [(x.holder, x.amount, x.period) for x in rets] == [(consumer, 1, P), (solar, 1, P)]


def test_quota_rules_and_roles(world: CertWorld) -> None:
    deadline = _setup(world)
    wind, consumer = world.p("wind").address, world.p("consumer").address
    with pytest.raises(ContractRevertError) as err:
        world.quota.set_quota(P, 1, deadline, 1)
    assert err.value.name == "AccessControlUnauthorizedAccount"
    assert err.value.arguments["neededRole"] == role_id("REGULATOR")
    with pytest.raises(ContractRevertError) as err:
        world.regulator.set_quota(P, 10_001, deadline, 1)
    assert (err.value.name, err.value.arguments) == ("InvalidWeight", {"weightBps": 10_001})
    with pytest.raises(ContractRevertError) as err:
        world.regulator.set_type_weight(int(NodeKind.COAL), 10_000)
    assert (err.value.name, err.value.arguments) == ("InvalidType", {"typeId": 0})
    wind_id = token_id(2, wind, P)
    with pytest.raises(ContractRevertError) as err:
        world.p("wind").certs.quota.retire(wind_id, 1, consumer, P + 1)
    assert (err.value.name, err.value.arguments) == ("QuotaNotSet", {"period": P + 1})
    world.quota_for(P - 1, WEIGHT_BPS, FINE_RATE)
    with pytest.raises(ContractRevertError) as err:
        world.p("wind").certs.quota.retire(wind_id, 1, consumer, P - 1)
    assert err.value.name == "VintageAfterPeriod"
    assert err.value.arguments == {"tokenId": wind_id, "vintage": P, "period": P - 1}
    with pytest.raises(ContractRevertError) as err:
        world.quota.assess(consumer, P)
    assert err.value.name == "DeadlineNotPassed"
    now = advance_time(world.ctx, deadline - block_time(world.ctx))
    with pytest.raises(ContractRevertError) as err:
        world.p("wind").certs.quota.retire(wind_id, 1, consumer, P)
    assert err.value.name == "DeadlinePassed"
    assert err.value.arguments["deadline"] == deadline
    assert err.value.arguments["nowS"] in (now, now + 1)  # estimated on the latest/pending block
    with pytest.raises(ContractRevertError) as err:
        world.quota.assess(wind, P)
    assert err.value.name == "NotObligated"
    assert err.value.arguments == {"party": wind, "kind": int(NodeKind.WIND)}
    with pytest.raises(ContractRevertError) as err:
        world.regulator.set_quota(P, 1, now + 100, 1)
    assert err.value.name == "DeadlinePassed"


def _assess(world: CertWorld, party: str) -> dict[str, Any]:
    receipt = world.quota.assess(party, P)
    (ev,) = world.quota.events(receipt, "ComplianceAssessed")
    return {**ev["args"], "receipt": receipt}


def test_fine_paid_from_balance_with_allowance(world: CertWorld) -> None:
    deadline = _setup(world)
    consumer = world.p("consumer")
    consumer.token.approve(world.quota.address, 10**12)
    advance_time(world.ctx, deadline - block_time(world.ctx) + 1)
    fund_before = world.market.token.balance_of(world.fund.address)
    bal_before = consumer.token.balance_of(consumer.address)
    args = _assess(world, consumer.address)
    del args["receipt"]
    assert args == {
        "party": consumer.address,
        "period": P,
        "obligationWh": 1_460_000,
        "coveredWh": 0,
        "shortfallWh": 1_460_000,
        "fineFen": 219_000,
        "paidFen": 219_000,
        "slashedFen": 0,
        "unpaidFen": 0,
        "by": world.quota.sender.address,
    }
    assert consumer.token.balance_of(consumer.address) == bal_before - 219_000
    assert world.market.token.balance_of(world.fund.address) == fund_before + 219_000
    s = world.quota.statement_of(consumer.address, P)
    assert (s.assessed, s.import_wh, s.paid_fen) == (True, 7_300_000, 219_000)
    assert world.quota.assessed_parties(P) == [consumer.address]
    with pytest.raises(ContractRevertError) as err:
        world.quota.assess(consumer.address, P)
    assert err.value.name == "AlreadyAssessed"


def test_fine_from_bond_when_allowance_short_and_unpaid_beyond_bond(world: CertWorld) -> None:
    deadline = _setup(world)
    consumer, retailer = world.p("consumer"), world.p("retailer")
    registry = world.ctx.client(NodeRegistryClient, world.ctx.account("node-93"))
    consumer.token.approve(world.quota.address, 19_000)  # covers part of the fine
    advance_time(world.ctx, deadline - block_time(world.ctx) + 1)
    bond_before = registry.bond_of(consumer.address)
    args = _assess(world, consumer.address)
    assert (args["fineFen"], args["paidFen"], args["slashedFen"], args["unpaidFen"]) == (
        219_000,
        19_000,
        200_000,
        0,
    )
    assert registry.bond_of(consumer.address) == bond_before - 200_000
    assert world.market.token.balance_of(world.fund.address) == 219_000
    slashed = registry.events(args["receipt"], "BondSlashed")
    assert dict(slashed[0]["args"]) == {
        "node": consumer.address,
        "to": world.fund.address,
        "requestedFen": 200_000,
        "slashedFen": 200_000,
        "reason": b"QUOTA_FINE".ljust(32, b"\x00"),
        "by": world.quota.address,
    }
    # The retailer gave no allowance: its whole fine (200,000 Wh short) comes from the bond.
    bond = registry.bond_of(retailer.address)
    args = _assess(world, retailer.address)
    assert (args["fineFen"], args["paidFen"], args["slashedFen"], args["unpaidFen"]) == (
        30_000,
        0,
        30_000,
        0,
    )
    assert registry.bond_of(retailer.address) == bond - 30_000


def test_fine_beyond_bond_is_recorded_unpaid(world: CertWorld) -> None:
    _setup(world)
    retailer = world.p("retailer")
    registry = world.ctx.client(NodeRegistryClient, world.ctx.account("node-93"))
    bond = registry.bond_of(retailer.address)
    huge_rate = (bond + 1_000) * MWH // 200_000 + 1  # shortfall 200,000 Wh
    deadline = block_time(world.ctx) + 100
    world.regulator.set_quota(P, WEIGHT_BPS, deadline, huge_rate)
    advance_time(world.ctx, 101)
    args = _assess(world, retailer.address)
    fine = fine_fen(200_000, huge_rate)
    assert (args["fineFen"], args["paidFen"], args["slashedFen"], args["unpaidFen"]) == (
        fine,
        0,
        bond,
        fine - bond,
    )
    assert registry.bond_of(retailer.address) == 0
    assert world.quota.statement_of(retailer.address, P).unpaid_fen == fine - bond


def test_assess_needs_consumption_and_fund(world: CertWorld) -> None:
    deadline = _setup(world)
    advance_time(world.ctx, deadline - block_time(world.ctx) + 1)
    stranger = world.ctx.account("node-94").address
    with pytest.raises(ContractRevertError) as err:
        world.quota.assess(stranger, P)
    assert (err.value.name, err.value.arguments) == ("UnknownParty", {"party": stranger})
    d2 = block_time(world.ctx) + 10
    world.regulator.set_quota(P + 5, WEIGHT_BPS, d2, FINE_RATE)
    advance_time(world.ctx, 11)
    consumer = world.p("consumer").address
    with pytest.raises(ContractRevertError) as err:
        world.quota.assess(consumer, P + 5)
    assert err.value.name == "ConsumptionNotRecorded"
    assert err.value.arguments == {"party": consumer, "period": P + 5}


def test_clean_trade_carries_certificates_to_the_buyer(world: CertWorld) -> None:
    period = world.market.period.id
    wind, consumer = world.p("wind").address, world.p("consumer").address
    trade_id = world.settled_trade("wind", "consumer", 4_000_000, 2_600_000)
    world.meter(period, {"wind": (0, 3_000_000), "consumer": (12_000_000, 0)})
    world.quota_for(period, WEIGHT_BPS, FINE_RATE)
    receipt = world.quota.cover_trade(trade_id)
    tid = token_id(2, wind, period)
    (issued,) = world.cert.events(receipt, "CertificatesIssued")  # issued on the way
    assert issued["args"]["amount"] == 3
    (ev,) = world.quota.events(receipt, "TradeCovered")
    assert dict(ev["args"]) == {
        "tradeId": trade_id,
        "seller": wind,
        "buyer": consumer,
        "period": period,
        "tokenId": tid,
        "energyWh": 2_600_000,
        "certificates": 2,
        "shortCertificates": 0,
        "retirementId": 1,
    }
    r = world.cert.retirement(1)
    assert (r.holder, r.beneficiary, r.amount, r.trade_id) == (wind, consumer, 2, trade_id)
    assert world.cert.balance_of(wind, tid) == 1
    assert world.quota.covered_wh_of(consumer, period) == 2_000_000
    assert world.quota.trade_covered(trade_id)
    with pytest.raises(ContractRevertError) as err:
        world.quota.cover_trade(trade_id)
    assert (err.value.name, err.value.arguments) == ("TradeAlreadyCovered", {"tradeId": trade_id})
    with pytest.raises(ContractRevertError) as err:
        world.quota.cover_trade(999)
    assert (err.value.name, err.value.arguments) == ("TradeNotSettled", {"tradeId": 999})


def test_clean_trade_short_when_seller_sold_its_certificates(world: CertWorld) -> None:
    period = world.market.period.id
    wind, consumer, retailer = (world.p(n).address for n in ("wind", "consumer", "retailer"))
    trade_id = world.settled_trade("wind", "consumer", 4_000_000, 3_000_000)
    coal_trade = world.settled_trade("coal", "retailer", 1_000_000, 1_000_000)
    world.meter(period, {"wind": (0, 3_000_000), "consumer": (12_000_000, 0)})
    world.quota_for(period, WEIGHT_BPS, FINE_RATE)
    world.cert.issue(wind, period)
    tid = token_id(2, wind, period)
    world.p("wind").certs.cert.safe_transfer_from(wind, retailer, tid, 2)
    receipt = world.quota.cover_trade(trade_id)
    (ev,) = world.quota.events(receipt, "TradeCovered")
    assert (ev["args"]["certificates"], ev["args"]["shortCertificates"]) == (1, 2)
    assert world.quota.covered_wh_of(consumer, period) == 1_000_000
    with pytest.raises(ContractRevertError) as err:
        world.quota.cover_trade(coal_trade)
    assert err.value.name == "NotRenewableSeller"
    assert err.value.arguments == {"tradeId": coal_trade, "seller": world.p("coal").address}


def test_unpaid_fine_is_an_obligation_until_paid(world: CertWorld) -> None:
    """Fine beyond allowance and bond -> exit refused -> same entity from a new address
    refused -> payment by another payer and the party (capped) -> exit and new address ok."""
    _setup(world)
    retailer, consumer = world.p("retailer"), world.p("consumer")
    node = retailer.address
    registry = world.ctx.client(NodeRegistryClient, world.ctx.account("node-93"))
    bond = registry.bond_of(node)
    assert registry.obligations_of(node) == 0
    owed = 1_000
    rate = (bond + owed) * MWH // 200_000  # shortfall 200,000 Wh: fine = bond + owed
    world.regulator.set_quota(P, WEIGHT_BPS, block_time(world.ctx) + 100, rate)
    advance_time(world.ctx, 101)
    args = _assess(world, node)
    assert (args["fineFen"], args["slashedFen"], args["unpaidFen"]) == (bond + owed, bond, owed)
    entity = registry.node_info(node).entity_hash
    [ev] = world.quota.events(args["receipt"], "FineUnpaid")
    assert dict(ev["args"]) == {
        "party": node,
        "period": P,
        "entityHash": entity,
        "unpaidFen": owed,
        "totalUnpaidFen": owed,
        "obligationHeld": True,
    }
    assert world.quota.unpaid_fine_of(node) == (owed, True)
    assert registry.obligations_of(node) == 1
    own = world.ctx.client(NodeRegistryClient, retailer.account)
    with pytest.raises(ContractRevertError) as err:
        own.exit()
    assert (err.value.name, err.value.arguments) == (
        "OpenObligations",
        {"node": node, "obligations": 1},
    )
    newcomer = world.ctx.client(NodeRegistryClient, world.ctx.account("node-94"))
    register = lambda: newcomer.register(  # noqa: E731
        NodeKind.RETAILER, Side.BUYER, 0, 1_000, 0, entity, b"\x94" * 32
    )
    with pytest.raises(ContractRevertError) as err:
        register()
    assert (err.value.name, err.value.arguments) == (
        "EntityAlreadyRegistered",
        {"entityHash": entity, "node": node},
    )
    with pytest.raises(ContractRevertError) as err:
        world.quota.pay_fine(node, 0)
    assert err.value.name == "ZeroAmount"
    with pytest.raises(ContractRevertError) as err:
        world.quota.pay_fine(consumer.address, 1)
    assert (err.value.name, err.value.arguments) == ("NoUnpaidFine", {"party": consumer.address})
    # another payer pays part, the party the rest (its payment is capped at what is owed)
    token = world.market.token
    supply, fund_before = token.total_supply(), token.balance_of(world.fund.address)
    payers = (consumer.address, node)
    balances = [token.balance_of(a) for a in payers]
    consumer.token.approve(world.quota.address, 300)
    retailer.token.approve(world.quota.address, owed)
    by_consumer = world.ctx.client(QuotaLedgerClient, consumer.account)
    [paid] = world.quota.events(by_consumer.pay_fine(node, 300), "FinePaid")
    assert dict(paid["args"]) == {
        "party": node,
        "payer": consumer.address,
        "paidFen": 300,
        "remainingFen": owed - 300,
    }
    assert registry.obligations_of(node) == 1
    by_party = world.ctx.client(QuotaLedgerClient, retailer.account)
    [paid] = world.quota.events(by_party.pay_fine(node, owed), "FinePaid")
    assert dict(paid["args"]) == {
        "party": node,
        "payer": node,
        "paidFen": owed - 300,
        "remainingFen": 0,
    }
    assert world.quota.unpaid_fine_of(node) == (0, False)
    assert registry.obligations_of(node) == 0
    assert [token.balance_of(a) for a in payers] == [balances[0] - 300, balances[1] - owed + 300]
    assert token.balance_of(world.fund.address) == fund_before + owed
    assert token.total_supply() == supply
    own.exit()
    register()
    assert registry.node_of_entity(entity) == newcomer.sender.address
