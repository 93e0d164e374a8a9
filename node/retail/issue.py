"""Issuing a month's bills: the Merkle batch a retailer anchors, and the issue file it hands
its consumers (each bill's hash, total and proof).

A bill is ``ledger.retail.bill.Bill`` (its hash is keccak256 of its canonical JSON); the
batch's leaves are ``ledger.retail.leaves``' leaves in the order of the bills given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ledger.clients.retail import BillStatus, RetailBillsClient
from ledger.errors import ValidationError
from ledger.merkle import verify
from ledger.retail.bill import Bill
from ledger.retail.canonical import load_model
from ledger.retail.leaves import BillRef, bill_proof, bills_tree, ref_leaf


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


class IssuedBill(BaseModel):
    """One bill of an issued batch: what its consumer needs to check and pay it."""

    model_config = ConfigDict(frozen=True)

    consumer: str
    bill_hash: str
    total_fen: int
    leaf: str
    proof: list[str]


class IssuedBatch(BaseModel):
    """The issue file of a retailer's month (``gridledger retail issue-bills --out``)."""

    model_config = ConfigDict(frozen=True)

    batch_id: int
    retailer: str
    month: int
    root: str
    due_at: int
    total_fen: int
    bills: list[IssuedBill]

    def bill_of(self, consumer: str) -> IssuedBill:
        """``consumer``'s bill in the batch."""
        for bill in self.bills:
            if bill.consumer.lower() == consumer.lower():
                return bill
        raise ValidationError(f"no bill of {consumer} in batch {self.batch_id} ({self.month})")

    def ref(self, bill: IssuedBill) -> BillRef:
        return BillRef(bill.consumer, self.retailer, self.month, _b(bill.bill_hash), bill.total_fen)


def bill_ref(bill: Bill) -> BillRef:
    """The anchoring reference of a bill (consumer, retailer, month, hash, total)."""
    return BillRef(bill.consumer, bill.retailer, bill.month, bill.hash, bill.total_fen)


def read_bill(path: Path) -> BillRef:
    """:func:`bill_ref` of the bill JSON file ``path`` (validated as a ``Bill``)."""
    return bill_ref(load_model(Bill, path.read_text(), str(path)))


def check_batch(refs: Sequence[BillRef], retailer: str, month: int) -> None:
    """Refuse an empty batch, a bill of another retailer or month, a consumer billed twice."""
    if not refs:
        raise ValidationError("no bills to issue")
    seen: set[str] = set()
    for r in refs:
        if r.retailer.lower() != retailer.lower() or r.month != month:
            raise ValidationError(
                f"the bill of {r.consumer} is {r.retailer}'s for {r.month}, "
                f"not {retailer}'s for {month}"
            )
        if r.consumer.lower() in seen:
            raise ValidationError(f"{r.consumer} has two bills for {month}")
        seen.add(r.consumer.lower())


def issue(client: RetailBillsClient, refs: Sequence[BillRef], due_at: int) -> IssuedBatch:
    """Anchor ``refs`` (one retailer's month, the client's signer) and return the issue file."""
    retailer, month = str(client.sender.address), refs[0].month if refs else 0
    check_batch(refs, retailer, month)
    tree = bills_tree(refs)
    total = sum(r.total_fen for r in refs)
    receipt = client.anchor_bills(month, _hex(tree.root), len(refs), total, due_at)
    bills = [
        IssuedBill(
            consumer=r.consumer,
            bill_hash=_hex(r.bill_hash),
            total_fen=r.total_fen,
            leaf=_hex(ref_leaf(r)),
            proof=[_hex(p) for p in bill_proof(tree, i)],
        )
        for i, r in enumerate(refs)
    ]
    return IssuedBatch(
        batch_id=client.anchored_id(receipt),
        retailer=retailer,
        month=month,
        root=_hex(tree.root),
        due_at=due_at,
        total_fen=total,
        bills=bills,
    )


def check_anchored(client: RetailBillsClient, batch: IssuedBatch, ref: BillRef) -> BillStatus:
    """Check ``ref`` against the chain: the batch's anchored root with the issued proof;
    a :class:`ValidationError` naming what differs, else the bill's on-chain status."""
    on_chain = client.batch_of(batch.batch_id)
    if (on_chain.retailer, on_chain.month) != (ref.retailer, ref.month):
        raise ValidationError(
            f"batch {batch.batch_id} is {on_chain.retailer}'s for {on_chain.month}, "
            f"the bill is {ref.retailer}'s for {ref.month}"
        )
    issued = batch.bill_of(ref.consumer)
    leaf = ref_leaf(ref)
    if not verify([_b(p) for p in issued.proof], _b(on_chain.root), leaf):
        raise ValidationError(
            f"the bill (hash {_hex(ref.bill_hash)}, total {ref.total_fen} fen) is not the one "
            f"anchored in batch {batch.batch_id}: its leaf {_hex(leaf)} is not under root "
            f"{on_chain.root}"
        )
    proof = issued.proof
    return client.bill_status(
        batch.batch_id, ref.consumer, _hex(ref.bill_hash), ref.total_fen, proof
    )
