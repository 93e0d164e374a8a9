"""Contract milestones (the feed of node/contracts/notify.py) and retail bills due/overdue,
on the retail fixture (tests/retail: consumer node-3 with retail agency contracts)."""

from __future__ import annotations

from eth_utils.crypto import keccak

from ledger.retail.leaves import BillRef
from node.retail.issue import IssuedBatch, issue
from tests.notify.conftest import Centre
from tests.retail.onchain_fixtures import Retail, market, retail
from tests.trading.conftest import advance_time, block_time

__all__ = ["market", "retail"]
LEAD_S = 3_600
MONTH = 202611


def test_contract_milestones_reminded_within_the_lead_time(retail: Retail, centre: Centre) -> None:
    centre.lead(LEAD_S)
    me = retail.consumer.address
    period = retail.market.period
    start = period.delivery_start
    assert start - block_time(retail.ctx) > LEAD_S + 60
    assert centre.new(me, "contract") == []
    advance_time(retail.ctx, start - LEAD_S - block_time(retail.ctx) - 60)
    assert centre.new(me, "contract") == []
    advance_time(retail.ctx, 120)
    found = centre.new(me, "contract")
    assert sorted(r.key for r in found) == sorted(
        f"contract:{no}/{kind}/{period.id}/{start}:due"
        for no in (retail.agency, retail.agency2)
        for kind in ("delivery", "payment due")
    )
    assert {r.at for r in found} == {start}
    assert centre.new(me, "contract") == []  # once
    # the retailer is the other party: its own reminders
    assert len(centre.new(retail.retailer.address, "contract")) == 2


def _issue(retail: Retail, due_in_s: int, month: int = MONTH) -> IssuedBatch:
    if month == MONTH:
        retail.bind(retail.publish(retail.retailer), retail.agency)
    ret = retail.retailer.address
    refs = [
        BillRef(retail.consumer.address, ret, month, keccak(f"b0-{month}".encode()), 123_456),
        BillRef(retail.market.seller.address, ret, month, keccak(f"b1-{month}".encode()), 7),
    ]
    return issue(retail.retailer.bills, refs, block_time(retail.ctx) + due_in_s)


def test_bill_due_without_the_issue_file(retail: Retail, centre: Centre) -> None:
    batch = _issue(retail, 3 * 86_400)
    me = retail.consumer.address
    assert centre.new(me, "bill") == []
    advance_time(retail.ctx, batch.due_at - 86_400 - block_time(retail.ctx) + 60)
    (r,) = centre.new(me, "bill")
    assert (r.key, r.at) == (f"bill:{batch.batch_id}:due", batch.due_at)
    assert r.detail == (
        f"{retail.retailer.address}'s bill of {MONTH} is due at {batch.due_at} "
        "(give the issue file to see yours)"
    )
    assert centre.new(me, "bill") == []
    # not bound to that retailer: no bill reminder
    assert centre.new(retail.retailer2.address, "bill") == []


def test_bill_due_then_overdue_until_paid(retail: Retail, centre: Centre) -> None:
    batch = _issue(retail, 3 * 86_400)
    issues = {batch.batch_id: batch}
    me = retail.consumer.address
    bill = batch.bill_of(me)
    args = (batch.batch_id, me, bill.bill_hash, bill.total_fen, bill.proof)
    bills = retail.consumer.bills
    retail.consumer.token.approve(bills.address, 23_456)
    bills.pay(*args, 23_456)
    assert centre.new(me, "bill", issues=issues) == []
    advance_time(retail.ctx, batch.due_at - 86_400 - block_time(retail.ctx) + 60)
    (r,) = centre.new(me, "bill", issues=issues)
    assert (r.key, r.title) == (f"bill:{batch.batch_id}:due", f"Retail bill {MONTH} due")
    assert r.detail == (
        f"{retail.retailer.address}'s bill of {MONTH}: 1000.00 CNY unpaid of 1234.56 CNY, "
        f"due at {batch.due_at}"
    )
    advance_time(retail.ctx, 86_400)
    (r,) = centre.new(me, "bill", issues=issues)
    assert (r.key, r.title) == (f"bill:{batch.batch_id}:overdue", f"Retail bill {MONTH} OVERDUE")
    assert centre.new(me, "bill", issues=issues) == []
    # a bill paid in full before its due date: no reminder, though its batch is due
    paid = _issue(retail, 3 * 86_400, MONTH + 1)
    issues[paid.batch_id] = paid
    mine = paid.bill_of(me)
    retail.consumer.token.approve(bills.address, mine.total_fen)
    bills.pay(paid.batch_id, me, mine.bill_hash, mine.total_fen, mine.proof, mine.total_fen)
    advance_time(retail.ctx, paid.due_at - 86_400 - block_time(retail.ctx) + 60)
    assert centre.new(me, "bill", issues=issues) == []
    assert [r.key for r in centre.new(me, "bill")] == [f"bill:{paid.batch_id}:due"]
