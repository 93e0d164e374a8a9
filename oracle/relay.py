"""Write-ahead outbox of the oracle's transactions, and the relay that drains it.

Every transaction starts as an outbox row (the intent: target and calldata), written in the
same SQL transaction as what it anchors. The relay takes rows strictly in id order, one at
a time:

1. ``pending``: estimate gas, sign with the next nonce (``TxSender.sign``), store the raw
   transaction and its hash, mark ``signed`` and COMMIT - before anything is broadcast.
2. broadcast the stored raw transaction (``TxSender.broadcast``): "already known" and "nonce
   too low" for this very hash count as sent.
3. wait for the receipt; mark ``mined`` (or ``failed`` with the decoded revert).

Before signing a ``pending`` row the relay asks the row kind's precheck (if any) whether
the transaction is still needed; a reason marks the row ``skipped`` (e.g. a node total that
the node itself recorded meanwhile), so an idempotent intent never reverts on chain.

After a crash anywhere, the restarted relay finds the row ``signed`` and re-broadcasts the
same bytes (same hash), so the chain sees it once: no duplicate, no gap. Only if the node
says the nonce went to a *different* transaction (impossible while the lock file keeps a
second oracle on the same key away) is the intent signed again. The contracts guard the
same invariants (batch ids in order, one result per trade, one root per period).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from hexbytes import HexBytes
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.errors import ContractRevertError, GridLedgerError, TransactionError
from ledger.tx import TxSender
from oracle.store import OutboxRow

#: A test hook called at named points of :meth:`Relay.process` ("signed", "sent").
CrashHook = Callable[[str, OutboxRow], None]
#: Per outbox kind: a reason to skip a pending row (checked right before signing), or None.
Precheck = Callable[[OutboxRow], str | None]


class OracleAlreadyRunningError(GridLedgerError):
    """Another oracle process holds the lock of this key."""


class OracleLock:
    """An exclusive OS file lock ``<dir>/oracle-<address>.lock`` (``flock``).

    A second oracle process on the same key would race nonces and send twice, so it
    refuses to start. The OS releases the lock when the process dies.
    """

    def __init__(self, directory: Path, address: str) -> None:
        self.path = directory / f"oracle-{address.lower()}.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> OracleLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise OracleAlreadyRunningError(
                f"another oracle (pid {holder}) already runs with this key: lock {self.path}"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> OracleLock:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()


def enqueue(session: Session, kind: str, ref: str, to: str, data: str) -> OutboxRow:
    """Add an intent to the outbox inside the caller's SQL transaction."""
    row = OutboxRow(
        kind=kind, ref=ref, to_address=to, data=data, status="pending", created_at=time.time()
    )
    session.add(row)
    session.flush()
    return row


class Relay:
    """Drains the outbox through one :class:`TxSender` (the METER_ORACLE key)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sender: TxSender,
        *,
        crash_hook: CrashHook | None = None,
        receipt_timeout_s: float = 30.0,
        max_resigns: int = 3,
        prechecks: dict[str, Precheck] | None = None,
    ) -> None:
        self._sessions = sessions
        self._prechecks = dict(prechecks or {})
        self._sender = sender
        self._hook = crash_hook
        self._timeout = receipt_timeout_s
        self._max_resigns = max_resigns
        self._lock = threading.Lock()

    def run_once(self) -> int:
        """Process every open row in order; stop at the first that cannot finish.

        Returns the number of rows that reached ``mined``, ``failed`` or ``skipped``.
        """
        done = 0
        with self._lock:
            while True:
                with self._sessions() as session:
                    row = session.scalars(
                        select(OutboxRow)
                        .where(OutboxRow.status.in_(("pending", "signed")))
                        .order_by(OutboxRow.id)
                        .limit(1)
                    ).first()
                if row is None:
                    return done
                if not self._process(row):
                    return done
                done += 1

    def _save(self, row: OutboxRow, **changes: object) -> None:
        with self._sessions.begin() as session:
            stored = session.get(OutboxRow, row.id)
            assert stored is not None
            for key, value in changes.items():
                setattr(stored, key, value)
                setattr(row, key, value)

    def _process(self, row: OutboxRow) -> bool:
        sender = self._sender
        for _ in range(self._max_resigns + 1):
            if row.status == "pending":
                precheck = self._prechecks.get(row.kind)
                skip = precheck(row) if precheck is not None else None
                if skip is not None:
                    self._save(row, status="skipped", error=skip)
                    return True
                try:
                    gas = sender.estimate_gas(row.to_address, row.data)
                except ContractRevertError as exc:
                    self._save(row, status="failed", error=str(exc))
                    return True
                nonce = sender.w3.eth.get_transaction_count(sender.address, "pending")
                tx_hash, raw = sender.sign(row.to_address, row.data, nonce=nonce, gas=gas)
                # Write ahead: the exact bytes are durable before the node sees them.
                self._save(
                    row,
                    status="signed",
                    nonce=nonce,
                    tx_hash=tx_hash.to_0x_hex(),
                    raw_tx=raw.to_0x_hex(),
                    attempts=row.attempts + 1,
                )
                self._crash("signed", row)
            assert row.raw_tx is not None
            assert row.tx_hash is not None
            tx_hash = HexBytes(row.tx_hash)
            if not sender.broadcast(HexBytes(row.raw_tx), tx_hash):
                # The nonce went to another transaction and ours is unknown: sign again.
                self._save(row, status="pending", nonce=None, tx_hash=None, raw_tx=None)
                continue
            self._crash("sent", row)
            try:
                receipt = sender.wait(tx_hash, self._timeout)
            except ContractRevertError as exc:
                self._save(row, status="failed", error=str(exc))
                return True
            except TransactionError:
                return False  # no receipt yet: the row stays signed, retried next round
            self._save(
                row,
                status="mined",
                block_number=int(receipt["blockNumber"]),
                gas_used=int(receipt["gasUsed"]),
                error=None,
            )
            return True
        self._save(row, error="nonce taken repeatedly by other transactions")
        return False

    def _crash(self, point: str, row: OutboxRow) -> None:
        if self._hook is not None:
            self._hook(point, row)
