"""Client of ``DeskAnchor``: the service desk's anchored batches (docs/desk.md).

A batch is the Merkle root (``ledger.merkle``, sorted pairs) of consecutive desk state
changes, each leaf the keccak256 of the change's canonical JSON, plus the open and overdue
complaint counts per category when the batch was cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from web3.types import TxReceipt

from ledger.clients.base import ContractClient
from ledger.errors import ValidationError


def category_bytes32(name: str) -> bytes:
    """A category name as the contract's bytes32 (UTF-8, right-padded with zero bytes)."""
    raw = name.encode("utf-8")
    if not raw or len(raw) > 32:
        raise ValidationError(f"category {name!r} must be 1..32 bytes of UTF-8")
    return raw.ljust(32, b"\x00")


def category_name(raw: bytes) -> str:
    """The text of a bytes32 category."""
    return bytes(raw).rstrip(b"\x00").decode("utf-8", errors="replace")


class CategoryCount(BaseModel):
    """Open and overdue complaints of one category when a batch was cut."""

    category: str
    open: int
    overdue: int


class DeskBatch(BaseModel):
    """One anchored batch (``IDeskAnchor.Batch``)."""

    batch: int
    root: str
    first_change: int
    count: int
    anchored_at: int

    @property
    def last_change(self) -> int:
        return self.first_change + self.count - 1


class AnchoredEvent(BaseModel):
    """A ``DeskBatchAnchored`` event, decoded."""

    batch: int
    root: str
    first_change: int
    count: int
    counts: list[CategoryCount]
    operator: str
    block_number: int
    tx_hash: str


class DeskAnchorClient(ContractClient):
    ARTIFACT = "DeskAnchor"

    def anchor(
        self, root: bytes, first_change: int, count: int, counts: Sequence[CategoryCount]
    ) -> TxReceipt:
        """Anchor the next batch (OPERATOR)."""
        return self._transact(
            "anchor",
            root,
            first_change,
            count,
            [category_bytes32(c.category) for c in counts],
            [c.open for c in counts],
            [c.overdue for c in counts],
        )

    def anchored_batch(self, receipt: TxReceipt) -> int:
        """The number of the batch ``receipt`` anchored."""
        return int(self.events(receipt, "DeskBatchAnchored")[0]["args"]["batch"])

    def batch_count(self) -> int:
        return int(self._call("batchCount"))

    def next_change(self) -> int:
        return int(self._call("nextChange"))

    def batch_info(self, batch: int) -> DeskBatch:
        root, first, count, at = self._call("batchInfo", batch)
        return DeskBatch(
            batch=batch,
            root="0x" + bytes(root).hex(),
            first_change=first,
            count=count,
            anchored_at=at,
        )

    def batches(self) -> list[DeskBatch]:
        """Every anchored batch, oldest first."""
        return [self.batch_info(n) for n in range(1, self.batch_count() + 1)]

    def anchored_events(self, from_block: int = 0) -> list[AnchoredEvent]:
        """Every ``DeskBatchAnchored`` event since ``from_block``, oldest first."""
        logs = self._contract.events["DeskBatchAnchored"]().get_logs(from_block=from_block)
        return [_event(log) for log in logs]


def _event(log: Any) -> AnchoredEvent:
    a = log["args"]
    counts = [
        CategoryCount(category=category_name(c), open=o, overdue=d)
        for c, o, d in zip(a["categories"], a["open"], a["overdue"], strict=True)
    ]
    return AnchoredEvent(
        batch=a["batch"],
        root="0x" + bytes(a["root"]).hex(),
        first_change=a["firstChange"],
        count=a["count"],
        counts=counts,
        operator=a["operator"],
        block_number=log["blockNumber"],
        tx_hash=log["transactionHash"].to_0x_hex(),
    )
