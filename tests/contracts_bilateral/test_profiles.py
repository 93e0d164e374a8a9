"""15-minute profiles (one trade per block), renewal milestones, the pair index, and the
permissionless deviation check (a keeper's anomaly, no human)."""

from __future__ import annotations

import pytest

from ledger.clients.bilateral import AnomalyKind, ScheduledBlock
from ledger.errors import ContractRevertError, ValidationError
from tests.contracts_bilateral.conftest import Parties
from tests.contracts_bilateral.test_execution import AGREED, escrow_of, registered
from tests.trading.conftest import block_time

# period p: 4 blocks of 24 intervals (6 h each), the night block empty
PROFILE = [[1_000_000, 0, 2_000_000, 500_000], [250_000, 250_000, 250_000, 250_000]]
SCHEDULE = [sum(row) for row in PROFILE]


def profiled(parties: Parties) -> int:
    nid = parties.negotiate(
        block_intervals=24, profile_wh=PROFILE, schedule_wh=SCHEDULE, renewal_notice_days=30
    )
    return parties.seller.register(nid, *parties.cosign(nid))


def test_profile_fields_must_sum_to_the_schedule(parties: Parties) -> None:
    bad = [*PROFILE[:1], [1, 2, 3, 4]]
    with pytest.raises(ValidationError, match=r"profile_wh\[1\] sums to 10"):
        parties.seller.propose(
            "wholesale", parties.fields(block_intervals=24, profile_wh=bad, schedule_wh=SCHEDULE)
        )
    with pytest.raises(ValidationError, match=r"profile_wh\[0\] needs 4 quantities"):
        parties.seller.propose(
            "wholesale",
            parties.fields(block_intervals=24, profile_wh=[[1], [1]], schedule_wh=[1, 1]),
        )


def test_a_profiled_period_forms_one_trade_per_block(parties: Parties) -> None:
    no = profiled(parties)
    m, pid = parties.market, parties.market.period.id
    client = parties.buyer.client
    terms = client.profile_terms(no)
    assert (terms.block_intervals, terms.blocks, terms.renewal_notice_days) == (24, 4, 30)
    assert [p.energy_wh for p in client.schedule(no)] == SCHEDULE
    escrow = parties.buyer.period_escrow_fen(no, pid)
    assert escrow == sum(escrow_of(wh) for wh in PROFILE[0] if wh)
    before = m.token.balance_of(m.buyer.address)
    parties.buyer.approve_escrow(escrow)
    receipt = client.form_period_trade(no, pid)
    ids = client.formed_trade_ids(receipt)
    assert len(ids) == 3  # the empty block forms no trade
    trades = [m.operator.trade(t) for t in ids]
    assert [(t.first_interval, t.last_interval, t.energy_wh) for t in trades] == [
        (0, 23, 1_000_000),
        (48, 71, 2_000_000),
        (72, 95, 500_000),
    ]
    assert all(t.price_fen_per_mwh == AGREED for t in trades)
    assert m.token.balance_of(m.buyer.address) == before - escrow
    assert client.profile(no, pid) == [
        ScheduledBlock(
            period_id=pid, first_interval=0, last_interval=23, energy_wh=1_000_000, trade_id=ids[0]
        ),
        ScheduledBlock(period_id=pid, first_interval=24, last_interval=47, energy_wh=0, trade_id=0),
        ScheduledBlock(
            period_id=pid, first_interval=48, last_interval=71, energy_wh=2_000_000, trade_id=ids[1]
        ),
        ScheduledBlock(
            period_id=pid, first_interval=72, last_interval=95, energy_wh=500_000, trade_id=ids[2]
        ),
    ]
    assert client.schedule(no)[0].trade_id == ids[0]
    with pytest.raises(ContractRevertError) as err:
        client.form_period_trade(no, pid)
    assert err.value.name == "PeriodAlreadyFormed"
    assert err.value.arguments == {"contractNo": no, "periodId": pid, "tradeId": ids[0]}

    # an amendment must keep every block of a formed period, the empty one too
    values = parties.fields(
        block_intervals=24,
        profile_wh=[[1_000_000, 1, 2_000_000, 500_000], PROFILE[1]],
        schedule_wh=[SCHEDULE[0] + 1, SCHEDULE[1]],
        renewal_notice_days=30,
    )
    amendment, _ = parties.seller.amendment(no, values, "wholesale")
    sigs = parties.seller.sign_message(no, amendment), parties.buyer.sign_message(no, amendment)
    with pytest.raises(ContractRevertError) as err:
        client.amend(amendment, *sigs)
    assert err.value.name == "FormedPeriodChanged"
    assert err.value.arguments == {"contractNo": no, "periodId": pid, "formedWh": 0, "amendedWh": 1}

    # tracking sums the blocks; the keeper's check sums |executed - contracted| per block
    executed = [1_000_000, 2_000_000, 300_000]  # 200 kWh short in the last block: 5.7 %
    for tid, wh, t in zip(ids, executed, trades, strict=True):
        m.settler.mark_dispatched(tid, wh, t.energy_wh - wh)
    row = parties.buyer.tracking(no).periods[0]
    assert (row.contracted_wh, row.executed_wh, row.anomaly) == (
        SCHEDULE[0],
        sum(executed),
        "deviation",
    )
    keeper = parties.retailer.client  # not a party: anyone may run the check
    receipt = keeper.flag_deviation(no, pid)
    (flagged,) = keeper.events(receipt, "AnomalyRecorded")
    assert (flagged["args"]["kind"], flagged["args"]["by"]) == (
        AnomalyKind.DEVIATION,
        parties.retailer.account.address,
    )
    with pytest.raises(ContractRevertError) as err:
        keeper.flag_deviation(no, pid)
    assert err.value.name == "DeviationAlreadyRecorded"


def test_the_deviation_check_refuses_without_an_anomaly(parties: Parties) -> None:
    no = registered(parties)
    m, pid = parties.market, parties.market.period.id
    keeper = parties.retailer.client
    with pytest.raises(ContractRevertError) as err:
        keeper.flag_deviation(no, pid)
    assert err.value.name == "PeriodNotDispatched"
    assert err.value.arguments == {"contractNo": no, "periodId": pid, "tradeId": 0}
    parties.buyer.approve_escrow(escrow_of(2_000_000))
    tid = parties.buyer.form_period(no, pid)
    with pytest.raises(ContractRevertError) as err:
        keeper.flag_deviation(no, pid)
    assert err.value.arguments == {"contractNo": no, "periodId": pid, "tradeId": tid}
    m.settler.mark_dispatched(tid, 1_900_000, 100_000)  # 5 %: at the tolerance
    with pytest.raises(ContractRevertError) as err:
        keeper.flag_deviation(no, pid)
    assert err.value.name == "NoDeviation"
    assert err.value.arguments == {
        "contractNo": no,
        "periodId": pid,
        "contractedWh": 2_000_000,
        "deviationWh": 100_000,
        "toleranceBps": 500,
    }
    # a party's own deviation record counts: the check records a period once
    parties.buyer.client.record_anomaly(no, pid, AnomalyKind.DEVIATION, "0x" + "22" * 32)
    with pytest.raises(ContractRevertError) as err:
        keeper.flag_deviation(no, pid)
    assert err.value.name == "DeviationAlreadyRecorded"
    assert err.value.arguments == {"contractNo": no, "periodId": pid}


def test_renewal_milestone_and_the_pair_index(parties: Parties) -> None:
    now = block_time(parties.market.ctx)
    expires = now + 90 * 86_400
    nid = parties.negotiate(
        expires_at=expires, renewal_notice_days=30, renewal_terms="Same price, one year."
    )
    no = parties.seller.register(nid, *parties.cosign(nid))
    renewal = [m for m in parties.buyer.milestones(now) if m.kind == "renewal"]
    assert [(m.contract_no, m.at) for m in renewal] == [(no, expires - 30 * 86_400)]
    assert "renew by" in renewal[0].detail
    doc = parties.seller.agreement(nid).document.html
    assert "7a. Renewal. Agreed at least 30 days before the end. Same price, one year." in doc
    client = parties.buyer.client
    seller, buyer = parties.seller.account.address, parties.buyer.account.address
    assert client.contracts_between(seller, buyer) == [no]
    assert client.contracts_between(buyer, seller) == []
    later = client.contract_of(no).registered_at + 1
    assert client.active_contract_between(seller, buyer, "wholesale", later).contract_no == no
    assert client.active_contract_between(seller, buyer, "retail-agency", later) is None
    assert client.active_contract_between(seller, buyer, "wholesale", expires) is None
