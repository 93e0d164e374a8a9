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
import sys
import threading
import time
from collections.abc import Callable

from web3.types import TxReceipt

from ledger.clients.auction import CentralAuctionClient
from ledger.clients.intake import AnchorEntry, OrderIntakeClient
from ledger.errors import ContractRevertError, GridLedgerError, TransactionError
from node.intake.store import IntakeStore, StoredOrder

#: Orders per anchor transaction (a 30M-gas block holds 100 at the per-order gas limit).
DEFAULT_BATCH = 100
#: Gas limit of an anchor transaction: base + per order (an anchored bid used about 144k
#: in the peak bench; cold first orders of a node cost more).
ANCHOR_GAS_BASE = 200_000
ANCHOR_GAS_PER_ORDER = 250_000
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
            receipt = self._send([r.entry() for r in rows])
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

    def _send(self, entries: list[AnchorEntry]) -> TxReceipt:
        """Anchor with a gas limit sized by count (no estimate: estimating a large batch
        executes it once more); if that runs out, once more with the node's estimate."""
        gas = ANCHOR_GAS_BASE + ANCHOR_GAS_PER_ORDER * len(entries)
        try:
            return self.intake.anchor(entries, gas=gas)
        except ContractRevertError as exc:
            if exc.name != "AnchorOutOfGas":
                raise
        except TransactionError:
            pass  # out of gas outside the auction's calls
        return self.intake.anchor(entries)

    def drain(self) -> int:
        """Anchor until nothing is pending; the number of orders sent."""
        total = 0
        while n := self.anchor_once():
            total += n
        return total

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Anchor in a loop until ``stop``: a batch whenever orders are pending."""
        while not stop.is_set():
            try:
                sent = self.anchor_once()
            except (GridLedgerError, OSError) as exc:  # a busy node: retry, never stop
                print(f"intake anchorer: {exc}", file=sys.stderr, flush=True)
                sent = 0
            if sent < self.batch:
                stop.wait(interval_s)
