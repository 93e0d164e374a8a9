"""The anchorer: puts the log's pending orders on chain in batches, exactly once.

Each round: reconcile with the chain (a pending row at or below the contract's highest
anchored sequence was anchored by a batch whose outcome the log never recorded, e.g. the
process died after sending it: mark it from the chain, never send it again), set aside
orders whose auction gate has passed (``expired``: they can no longer enter; their
receipts prove the omission), then send the next batch in sequence order and record each
order's outcome. The contract refuses a sequence at or below the last anchored one, so a
batch sent twice lands once; a second anchorer on the same key would only see reverts.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

from ledger.clients.auction import CentralAuctionClient
from ledger.clients.intake import OrderIntakeClient
from ledger.errors import ContractRevertError
from node.intake.store import IntakeStore, StoredOrder

#: Orders per anchor transaction (each enters the auction: ~200k gas).
DEFAULT_BATCH = 60
#: Test hook: the point at which the process kills itself (env GRIDLEDGER_INTAKE_CRASH_AT).
CRASH_ENV = "GRIDLEDGER_INTAKE_CRASH_AT"


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


class Anchorer:
    """Anchors ``store``'s pending orders through ``intake`` (signed by the intake key)."""

    def __init__(
        self,
        store: IntakeStore,
        intake: OrderIntakeClient,
        auction: CentralAuctionClient,
        *,
        batch: int = DEFAULT_BATCH,
        on_batch: Callable[[list[StoredOrder], float], None] | None = None,
    ) -> None:
        self.store = store
        self.intake = intake
        self.auction = auction
        self.batch = batch
        self.on_batch = on_batch

    def reconcile(self) -> int:
        """Record pending rows the chain has anchored already (outcomes from the logs);
        how many. A row at or below the last anchored sequence that the chain never saw
        can no longer be anchored: ``expired``."""
        _, last_seq, _ = self.intake.state()
        rows = self.store.pending(2**31, up_to=last_seq)
        if not rows:
            return 0
        outcomes = {o.seq: o for o in self.intake.anchored_outcomes()}
        marks: list[tuple[int, str, int | None, bytes | None]] = []
        for r in rows:
            o = outcomes.get(r.seq)
            if o is None:
                marks.append((r.seq, "expired", None, None))
            else:
                state = "anchored" if o.order_id is not None else "rejected"
                marks.append((r.seq, state, o.order_id, o.reason))
        self.store.mark_many(marks)
        return len(marks)

    def _expire(self, rows: list[StoredOrder]) -> list[StoredOrder]:
        now = int(self.auction.contract.w3.eth.get_block("latest")["timestamp"])
        gates: dict[int, int] = {}
        keep: list[StoredOrder] = []
        for r in rows:
            aid = r.order.auction_id
            if aid not in gates:
                gates[aid] = self.auction.auction(aid).gate_closes_at
            if now + 1 >= gates[aid]:
                self.store.mark(r.seq, "expired")
            else:
                keep.append(r)
        return keep

    def anchor_once(self) -> int:
        """Send one batch (after reconciling); the number of orders it carried."""
        self.reconcile()
        rows = self._expire(self.store.pending(self.batch))
        if not rows:
            return 0
        started = time.monotonic()
        try:
            receipt = self.intake.anchor([r.entry() for r in rows])
        except ContractRevertError as exc:
            if exc.name == "SequenceOutOfOrder":  # an earlier send landed meanwhile
                self.reconcile()
                return 0
            raise
        _crash_point("after-anchor")
        self.store.mark_many(
            [
                (o.seq, "anchored" if o.order_id is not None else "rejected", o.order_id, o.reason)
                for o in self.intake.outcomes(receipt)
            ]
        )
        if self.on_batch is not None:
            self.on_batch(rows, time.monotonic() - started)
        return len(rows)

    def drain(self) -> int:
        """Anchor until nothing is pending; the number of orders sent."""
        total = 0
        while n := self.anchor_once():
            total += n
        return total

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Anchor in a loop until ``stop``: a batch whenever orders are pending."""
        while not stop.is_set():
            if self.anchor_once() < self.batch:
                stop.wait(interval_s)
