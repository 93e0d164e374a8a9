"""Execution: each period's scheduled quantity forms a trade at the contract price that
settles like a posted trade; tracking, milestones; amendment and termination release
exactly (an untraded period holds no money); termination for cause."""

from __future__ import annotations

import pytest

from ledger.clients.bilateral import AnomalyKind, ContractStatus
from ledger.clients.registry import code
from ledger.clients.trading import TradeStatus
from ledger.errors import ContractRevertError
from ledger.units import value_fen
from tests.conftest import role_account
from tests.contracts_bilateral.conftest import PRICE, SCHEDULE, Parties
from tests.trading.conftest import block_time, open_period

AGREED = PRICE - 10_000
# wind node-1 (North) -> consumer node-3 (City): route [0, 2, 3], 6,000 fen/MWh
SUM_RATE = 6_000


def registered(parties: Parties) -> int:
    nid = parties.negotiate()
    seller_sig, buyer_sig = parties.cosign(nid)
    return parties.seller.register(nid, seller_sig, buyer_sig)


def escrow_of(energy_wh: int) -> int:
    return value_fen(energy_wh, AGREED) + energy_wh * SUM_RATE // 1_000_000


def test_period_trade_formed_at_contract_price_and_settles(parties: Parties) -> None:
    no = registered(parties)
    m, pid = parties.market, parties.market.period.id
    buyer = m.buyer
    escrow = escrow_of(SCHEDULE[0])
    parties.buyer.approve_escrow(escrow)
    before = buyer.token.balance_of(buyer.address)
    receipt = parties.buyer.client.form_period_trade(no, pid)
    (formed,) = parties.buyer.client.events(receipt, "PeriodTradeFormed")
    tid = formed["args"]["tradeId"]
    assert dict(formed["args"]) == {
        "contractNo": no,
        "periodId": pid,
        "tradeId": tid,
        "energyWh": SCHEDULE[0],
        "priceFenPerMwh": AGREED,
        "by": parties.buyer.account.address,
    }
    t = m.operator.trade(tid)
    assert (t.buyer, t.seller, t.energy_wh, t.price_fen_per_mwh, t.escrow_fen) == (
        buyer.address,
        m.seller.address,
        SCHEDULE[0],
        AGREED,
        escrow,
    )
    assert buyer.token.balance_of(buyer.address) == before - escrow
    with pytest.raises(ContractRevertError) as err:
        parties.seller.client.form_period_trade(no, pid)
    assert err.value.name == "PeriodAlreadyFormed"
    assert err.value.arguments == {"contractNo": no, "periodId": pid, "tradeId": tid}

    # settles like a posted trade: dispatch 1.8 of 2 MWh, pay the seller, refund the buyer
    executed = 1_800_000
    m.settler.mark_dispatched(tid, executed, SCHEDULE[0] - executed)
    m.settler.pay_out(tid, m.seller.address, value_fen(executed, AGREED))
    m.settler.close_trade(tid, TradeStatus.SETTLED)
    assert m.settler.total_escrow_fen() == 0

    tracked = parties.buyer.tracking(no)
    first = tracked.periods[0]
    assert (first.contracted_wh, first.executed_wh, first.settled_wh) == (
        SCHEDULE[0],
        executed,
        executed,
    )
    assert first.settled_fen == value_fen(executed, AGREED)
    assert first.completion_bps == 9_000
    assert first.anomaly == "deviation"  # 10 % off, tolerance 5 %
    assert tracked.contracted_wh == sum(SCHEDULE)
    assert tracked.completion_bps == executed * 10_000 // sum(SCHEDULE)
    assert parties.buyer.record_anomalies(no) == [pid]
    assert parties.buyer.record_anomalies(no) == []  # recorded once
    (anomaly,) = [e for e in parties.buyer.client.history(no) if e["event"] == "AnomalyRecorded"]
    assert (anomaly["args"]["periodId"], anomaly["args"]["kind"]) == (pid, AnomalyKind.DEVIATION)
    assert anomaly["args"]["by"] == parties.buyer.account.address
    receipt = parties.seller.client.record_anomaly(
        no, pid, AnomalyKind.FEE_DISPUTE, "0x" + "11" * 32
    )
    (dispute,) = parties.seller.client.events(receipt, "AnomalyRecorded")
    assert (dispute["args"]["kind"], dispute["args"]["by"]) == (2, parties.seller.account.address)
    with pytest.raises(ContractRevertError) as err:
        parties.retailer.client.record_anomaly(no, pid, AnomalyKind.OTHER, "0x" + "11" * 32)
    assert err.value.name == "NotAParty"


def test_last_period_completes_the_contract(parties: Parties) -> None:
    no = registered(parties)
    m = parties.market
    second = open_period(m.ctx, m.operator)
    assert second.id == m.period.id + 1
    parties.buyer.approve_escrow(escrow_of(SCHEDULE[0]) + escrow_of(SCHEDULE[1]))
    parties.buyer.form_period(no, m.period.id)
    receipt = parties.seller.client.form_period_trade(no, second.id)
    (done,) = parties.seller.client.events(receipt, "ContractCompleted")
    assert dict(done["args"]) == {"contractNo": no, "tradedWh": sum(SCHEDULE)}
    assert parties.seller.client.contract_of(no).status == ContractStatus.COMPLETED


def test_milestones_list_delivery_and_payment(parties: Parties) -> None:
    no = registered(parties)
    now = block_time(parties.market.ctx)
    found = parties.buyer.milestones(now)
    kinds = [(x.contract_no, x.kind, x.period_id) for x in found]
    pid = parties.market.period.id
    assert kinds == [(no, "delivery", pid), (no, "payment due", pid)]
    assert found[0].at == parties.market.period.delivery_start


def test_amendment_releases_untraded_periods_exactly(parties: Parties) -> None:
    no = registered(parties)
    m, pid = parties.market, parties.market.period.id
    parties.buyer.approve_escrow(escrow_of(SCHEDULE[0]))
    parties.buyer.form_period(no, pid)
    buyer_before = m.token.balance_of(m.buyer.address)
    market_before = m.token.balance_of(m.operator.address)
    reserved_before = m.registry.node_info(m.seller.address).reserved_fen

    values = parties.fields(
        schedule_wh=[SCHEDULE[0], 1_000_000, 500_000], price_fen_per_mwh=AGREED + 5
    )
    amendment, _doc = parties.seller.amendment(no, values, "wholesale")
    sigs = parties.seller.sign_message(no, amendment), parties.buyer.sign_message(no, amendment)
    receipt = parties.buyer.client.amend(amendment, *sigs)
    (amended,) = parties.buyer.client.events(receipt, "ContractAmended")
    assert (amended["args"]["untradedWhBefore"], amended["args"]["untradedWhAfter"]) == (
        SCHEDULE[1],
        1_500_000,
    )
    assert amended["args"]["periods"] == 3
    # nothing was escrowed for the untraded period, so nothing moves
    assert m.token.balance_of(m.buyer.address) == buyer_before
    assert m.token.balance_of(m.operator.address) == market_before
    assert m.registry.node_info(m.seller.address).reserved_fen == reserved_before
    assert [p.energy_wh for p in parties.seller.client.schedule(no)] == [
        SCHEDULE[0],
        1_000_000,
        500_000,
    ]
    assert parties.seller.client.contract_of(no).price_fen_per_mwh == AGREED + 5

    # a replayed amendment, and one changing a formed period, are refused
    with pytest.raises(ContractRevertError) as err:
        parties.buyer.client.amend(amendment, *sigs)
    assert err.value.name == "StaleSequence"
    assert err.value.arguments == {"contractNo": no, "expected": 2, "given": 1}
    bad, _ = parties.seller.amendment(no, parties.fields(schedule_wh=[1, 2]), "wholesale")
    bad_sigs = parties.seller.sign_message(no, bad), parties.buyer.sign_message(no, bad)
    with pytest.raises(ContractRevertError) as err:
        parties.buyer.client.amend(bad, *bad_sigs)
    assert err.value.name == "FormedPeriodChanged"
    assert err.value.arguments == {
        "contractNo": no,
        "periodId": pid,
        "formedWh": SCHEDULE[0],
        "amendedWh": 1,
    }


def test_termination_by_consent_releases_exactly(parties: Parties) -> None:
    no = registered(parties)
    m = parties.market
    total_before = sum(m.token.balance_of(a.address) for a in (m.buyer, m.seller))
    market_before = m.token.balance_of(m.operator.address)
    termination = parties.buyer.termination(no, "plant closure")
    with pytest.raises(ContractRevertError) as err:
        parties.buyer.client.terminate(termination, "", parties.buyer.sign_message(no, termination))
    assert err.value.name == "MissingSignature"
    sigs = parties.seller.sign_message(no, termination), parties.buyer.sign_message(no, termination)
    receipt = parties.buyer.client.terminate(termination, *sigs)
    (ended,) = parties.buyer.client.events(receipt, "ContractTerminated")
    assert ended["args"]["untradedWh"] == sum(SCHEDULE)
    assert ended["args"]["status"] == ContractStatus.TERMINATED
    assert sum(m.token.balance_of(a.address) for a in (m.buyer, m.seller)) == total_before
    assert m.token.balance_of(m.operator.address) == market_before
    with pytest.raises(ContractRevertError) as err:
        parties.buyer.client.form_period_trade(no, m.period.id)
    assert err.value.name == "ContractNotActive"
    assert err.value.arguments == {"contractNo": no, "status": ContractStatus.TERMINATED}
    assert len(parties.buyer.client.history(no)) == 2


def test_termination_for_cause_when_a_party_is_banned(parties: Parties) -> None:
    no = registered(parties)
    with pytest.raises(ContractRevertError) as err:
        parties.retailer.client.terminate_for_cause(no)
    assert err.value.name == "NoCauseForTermination"
    regulator = parties.market.ctx.client(type(parties.market.registry), role_account("REGULATOR"))
    regulator.ban_entity(parties.market.seller.address, code("fraud"))
    receipt = parties.retailer.client.terminate_for_cause(no)
    (ended,) = parties.retailer.client.events(receipt, "ContractTerminated")
    assert ended["args"]["status"] == ContractStatus.TERMINATED_FOR_CAUSE
    assert ended["args"]["untradedWh"] == sum(SCHEDULE)
