"""RetailBills: a month's bills anchored by Merkle root, paid partially and fully to the
retailer in the settlement token, overpayment and wrong proofs refused, overdue bills,
money conserved."""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak

from ledger.errors import ContractRevertError
from ledger.retail.leaves import BillRef, bill_proof, bills_tree, ref_leaf
from tests.retail.onchain_fixtures import Retail, market, retail
from tests.trading.conftest import advance_time

__all__ = ["market", "retail"]

MONTH = 202611
TOTALS = [123_456, 98_700, 5_000_000]


def _refs(retail: Retail) -> list[BillRef]:
    consumers = [
        retail.consumer.address,
        retail.market.seller.address,
        retail.market.seller2.address,
    ]
    return [
        BillRef(c, retail.retailer.address, MONTH, keccak(f"bill-{i}".encode()), total)
        for i, (c, total) in enumerate(zip(consumers, TOTALS, strict=True))
    ]


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def _anchor(
    retail: Retail, refs: list[BillRef], due_in_s: int = 86_400
) -> tuple[int, list[list[str]]]:
    tree = bills_tree(refs)
    due = retail.now() + due_in_s
    receipt = retail.retailer.bills.anchor_bills(
        MONTH, _hex(tree.root), len(refs), sum(TOTALS), due
    )
    proofs = [[_hex(p) for p in bill_proof(tree, i)] for i in range(len(refs))]
    return retail.retailer.bills.anchored_id(receipt), proofs


def _revert(info: pytest.ExceptionInfo[ContractRevertError]) -> tuple[str, list[object]]:
    return info.value.name, list(info.value.arguments.values())


def test_anchor_records_the_batch(retail: Retail) -> None:
    refs = _refs(retail)
    tree = bills_tree(refs)
    due = retail.now() + 86_400
    receipt = retail.retailer.bills.anchor_bills(MONTH, _hex(tree.root), 3, sum(TOTALS), due)
    (event,) = retail.retailer.bills.events(receipt, "BillsAnchored")
    args = event["args"]
    assert (args["batchId"], args["retailer"], args["month"]) == (1, retail.retailer.address, MONTH)
    assert (args["root"], args["count"], args["totalFen"], args["dueAt"]) == (
        tree.root,
        3,
        sum(TOTALS),
        due,
    )
    batch = retail.consumer.bills.batch_of(1)
    assert batch.paid_fen == 0
    assert retail.consumer.bills.batch_id_of(retail.retailer.address, MONTH) == 1
    # the contract's leaf is ledger.retail.leaves' leaf
    r = refs[0]
    assert retail.consumer.bills.bill_leaf(
        r.consumer, r.retailer, r.month, _hex(r.bill_hash), r.total_fen
    ) == _hex(ref_leaf(r))


def test_anchor_refusals(retail: Retail) -> None:
    bills = retail.retailer.bills
    root = "0x" + "11" * 32
    now = retail.now()
    for month in (202613, 202600, 199912):
        with pytest.raises(ContractRevertError) as info:
            bills.anchor_bills(month, root, 1, 1, now + 100)
        assert _revert(info) == ("InvalidMonth", [month])
    with pytest.raises(ContractRevertError) as info:
        bills.anchor_bills(MONTH, "0x" + "00" * 32, 1, 1, now + 100)
    assert _revert(info) == ("EmptyBatch", [bytes(32), 1])
    with pytest.raises(ContractRevertError) as info:
        bills.anchor_bills(MONTH, root, 0, 1, now + 100)
    assert _revert(info) == ("EmptyBatch", [bytes.fromhex("11" * 32), 0])
    with pytest.raises(ContractRevertError) as info:
        bills.anchor_bills(MONTH, root, 1, 1, 1)
    assert _revert(info)[0] == "InvalidDueDate"
    bills.anchor_bills(MONTH, root, 1, 1, now + 100)
    with pytest.raises(ContractRevertError) as info:
        bills.anchor_bills(MONTH, root, 1, 1, now + 100)
    assert _revert(info) == ("MonthAlreadyAnchored", [retail.retailer.address, MONTH, 1])
    with pytest.raises(ContractRevertError) as info:
        retail.consumer.bills.anchor_bills(MONTH, root, 1, 1, now + 100)
    assert _revert(info) == ("NotAnActiveRetailer", [retail.consumer.address, 8, 2])


def test_partial_then_full_payment_conserves_money(retail: Retail) -> None:
    refs = _refs(retail)
    batch_id, proofs = _anchor(retail, refs)
    bill, proof = refs[0], proofs[0]
    token, bills = retail.consumer.token, retail.consumer.bills
    payer, payee = retail.consumer.address, retail.retailer.address
    supply = token.total_supply()
    before = (token.balance_of(payer), token.balance_of(payee))
    token.approve(bills.address, bill.total_fen)
    args = (batch_id, bill.consumer, _hex(bill.bill_hash), bill.total_fen, proof)
    receipt = bills.pay(*args, 100_000)
    (event,) = bills.events(receipt, "BillPaid")
    assert dict(event["args"]) == {
        "batchId": batch_id,
        "leaf": ref_leaf(bill),
        "consumer": payer,
        "payer": payer,
        "amountFen": 100_000,
        "paidFen": 100_000,
        "totalFen": 123_456,
    }
    status = bills.bill_status(*args)
    assert (status.paid_fen, status.unpaid_fen, status.overdue) == (100_000, 23_456, False)
    bills.pay(*args, 23_456)
    assert bills.bill_status(*args).paid_fen == 123_456
    assert bills.paid_fen_of(batch_id, _hex(ref_leaf(bill))) == 123_456
    assert bills.batch_of(batch_id).paid_fen == 123_456
    after = (token.balance_of(payer), token.balance_of(payee))
    assert after == (before[0] - 123_456, before[1] + 123_456)
    assert token.balance_of(bills.address) == 0
    assert token.total_supply() == supply
    with pytest.raises(ContractRevertError) as info:
        bills.pay(*args, 1)
    assert _revert(info) == ("Overpayment", [ref_leaf(bill), 123_456, 123_456, 1])


def test_anyone_pays_for_the_consumer(retail: Retail) -> None:
    refs = _refs(retail)
    batch_id, proofs = _anchor(retail, refs)
    bill = refs[2]
    other = retail.party(retail.market.seller.account)
    other.token.approve(other.bills.address, bill.total_fen)
    before = other.token.balance_of(retail.retailer.address)
    other.bills.pay(
        batch_id, bill.consumer, _hex(bill.bill_hash), bill.total_fen, proofs[2], 5_000_000
    )
    assert other.token.balance_of(retail.retailer.address) == before + 5_000_000


def test_overpay_wrong_proof_and_funds_refused(retail: Retail) -> None:
    refs = _refs(retail)
    batch_id, proofs = _anchor(retail, refs)
    bill = refs[1]
    bills, token = retail.consumer.bills, retail.consumer.token
    token.approve(bills.address, 10**9)
    args = (batch_id, bill.consumer, _hex(bill.bill_hash), bill.total_fen)
    with pytest.raises(ContractRevertError) as info:
        bills.pay(*args, proofs[1], bill.total_fen + 1)
    assert _revert(info) == ("Overpayment", [ref_leaf(bill), 98_700, 0, 98_701])
    # another bill's proof, or the total changed by one fen
    with pytest.raises(ContractRevertError) as info:
        bills.pay(*args, proofs[0], 1)
    assert _revert(info) == ("InvalidProof", [batch_id, ref_leaf(bill)])
    changed = BillRef(bill.consumer, bill.retailer, MONTH, bill.bill_hash, bill.total_fen - 1)
    with pytest.raises(ContractRevertError) as info:
        bills.pay(batch_id, bill.consumer, _hex(bill.bill_hash), bill.total_fen - 1, proofs[1], 1)
    assert _revert(info) == ("InvalidProof", [batch_id, ref_leaf(changed)])
    with pytest.raises(ContractRevertError) as info:
        bills.pay(*args, proofs[1], 0)
    assert _revert(info) == ("ZeroAmount", [])
    with pytest.raises(ContractRevertError) as info:
        bills.pay(99, *args[1:], proofs[1], 1)
    assert _revert(info) == ("UnknownBatch", [99])
    token.approve(bills.address, 10)
    balance = token.balance_of(retail.consumer.address)
    with pytest.raises(ContractRevertError) as info:
        bills.pay(*args, proofs[1], 11)
    assert _revert(info) == (
        "InsufficientFunds",
        [retail.consumer.address, balance, 10, 11],
    )
    assert bills.batch_of(batch_id).paid_fen == 0


def test_overdue_after_the_due_date(retail: Retail) -> None:
    refs = _refs(retail)
    batch_id, proofs = _anchor(retail, refs, due_in_s=3_600)
    bill = refs[0]
    bills, token = retail.consumer.bills, retail.consumer.token
    args = (batch_id, bill.consumer, _hex(bill.bill_hash), bill.total_fen, proofs[0])
    due = bills.batch_of(batch_id).due_at
    with pytest.raises(ContractRevertError) as info:
        bills.mark_overdue(*args)
    assert _revert(info) == ("NotOverdue", [ref_leaf(bill), due, 0, 123_456])
    token.approve(bills.address, 23_456)
    bills.pay(*args, 23_456)
    advance_time(retail.ctx, 3_601)
    status = bills.bill_status(*args)
    assert (status.overdue, status.marked_overdue, status.unpaid_fen) == (True, False, 100_000)
    receipt = bills.mark_overdue(*args)
    (event,) = bills.events(receipt, "BillMarkedOverdue")
    assert (event["args"]["unpaidFen"], event["args"]["dueAt"]) == (100_000, due)
    assert bills.bill_status(*args).marked_overdue is True
    with pytest.raises(ContractRevertError) as info:
        bills.mark_overdue(*args)
    assert _revert(info) == ("NotOverdue", [ref_leaf(bill), due, 23_456, 123_456])
    # a paid bill is not overdue
    token.approve(bills.address, 100_000)
    bills.pay(*args, 100_000)
    assert bills.bill_status(*args).overdue is False
