"""The intake's write-ahead log: one SQLite row per acknowledged order.

SQLite in WAL mode with ``synchronous=FULL``: a COMMIT returns only after the log is
fsync'd, and the intake answers an order only after the COMMIT that holds it (group
commit: all orders that arrived meanwhile share one COMMIT). The row's ``seq`` (the
rowid) is the intake sequence of the receipt; an order hash is stored once, so a retried
order gets its first receipt again.

States: ``pending`` (acknowledged, not on chain), ``anchored`` (an auction order),
``rejected`` (anchored, the auction refused it: ``reason`` is its revert data),
``expired`` (its auction's gate closed before it could be anchored: provable omission).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.clients.auction import OrderSide
from ledger.clients.intake import AnchorEntry, IntakeOrder
from ledger.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY,
    order_hash BLOB NOT NULL UNIQUE,
    node TEXT NOT NULL,
    auction_id INTEGER NOT NULL,
    side INTEGER NOT NULL,
    energy_wh INTEGER NOT NULL,
    price_fen_per_mwh INTEGER NOT NULL,
    nonce TEXT NOT NULL,
    signature BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    order_id INTEGER,
    reason BLOB
)
"""
_SELECT_BY_HASH = (
    "SELECT seq, order_hash, node, auction_id, side, energy_wh, price_fen_per_mwh, nonce, "
    "signature, received_at, state, order_id, reason FROM orders WHERE order_hash = ?"
)
_SELECT_BY_SEQ = (
    "SELECT seq, order_hash, node, auction_id, side, energy_wh, price_fen_per_mwh, nonce, "
    "signature, received_at, state, order_id, reason FROM orders WHERE seq = ?"
)
_SELECT_PENDING = (
    "SELECT seq, order_hash, node, auction_id, side, energy_wh, price_fen_per_mwh, nonce, "
    "signature, received_at, state, order_id, reason FROM orders "
    "WHERE state = 'pending' AND seq <= ? ORDER BY seq LIMIT ?"
)


@dataclass(frozen=True)
class Incoming:
    """A checked order waiting for its COMMIT."""

    order: IntakeOrder
    order_hash: bytes
    signature: bytes
    received_at: int


@dataclass(frozen=True)
class StoredOrder:
    """A row of the log."""

    seq: int
    order_hash: bytes
    order: IntakeOrder
    signature: bytes
    received_at: int
    state: str
    order_id: int | None
    reason: bytes | None

    def entry(self) -> AnchorEntry:
        return AnchorEntry(seq=self.seq, order=self.order, signature=self.signature)


def _row(r: tuple[Any, ...]) -> StoredOrder:
    seq, h, node, aid, side, wh, price, nonce, sig, at, state, oid, reason = r
    return StoredOrder(
        seq=int(seq),
        order_hash=bytes(h),
        order=IntakeOrder(
            node=str(node),
            auction_id=int(aid),
            side=OrderSide(int(side)),
            energy_wh=int(wh),
            price_fen_per_mwh=int(price),
            nonce=int(nonce),
        ),
        signature=bytes(sig),
        received_at=int(at),
        state=str(state),
        order_id=None if oid is None else int(oid),
        reason=None if reason is None else bytes(reason),
    )


class IntakeStore:
    """The log (thread-safe: one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the intake log {path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, batch: Sequence[Incoming]) -> list[StoredOrder]:
        """Write ``batch`` in one fsync'd COMMIT; each order's row (an order seen before
        keeps its first row)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for item in batch:
                    o = item.order
                    self._db.execute(
                        "INSERT OR IGNORE INTO orders (order_hash, node, auction_id, side, "
                        "energy_wh, price_fen_per_mwh, nonce, signature, received_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            item.order_hash,
                            o.node,
                            o.auction_id,
                            int(o.side),
                            o.energy_wh,
                            o.price_fen_per_mwh,
                            str(o.nonce),
                            item.signature,
                            item.received_at,
                        ),
                    )
                rows = [self._by_hash(item.order_hash) for item in batch]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return rows

    def _by_hash(self, order_hash: bytes) -> StoredOrder:
        r = self._db.execute(_SELECT_BY_HASH, (order_hash,)).fetchone()
        return _row(r)

    def get(self, seq: int) -> StoredOrder | None:
        with self._lock:
            r = self._db.execute(_SELECT_BY_SEQ, (seq,)).fetchone()
        return None if r is None else _row(r)

    def pending(self, limit: int, *, up_to: int | None = None) -> list[StoredOrder]:
        """Pending rows in sequence order (only ``seq <= up_to`` if given)."""
        bound = up_to if up_to is not None else 2**62
        with self._lock:
            rows = self._db.execute(
                _SELECT_PENDING,
                (bound, limit),
            ).fetchall()
        return [_row(r) for r in rows]

    def mark(
        self, seq: int, state: str, order_id: int | None = None, reason: bytes | None = None
    ) -> None:
        self.mark_many([(seq, state, order_id, reason)])

    def mark_many(self, marks: Sequence[tuple[int, str, int | None, bytes | None]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "UPDATE orders SET state = ?, order_id = ?, reason = ? WHERE seq = ?",
                [(state, oid, reason, seq) for seq, state, oid, reason in marks],
            )
            self._db.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM orders GROUP BY state").fetchall()
        return {str(state): int(n) for state, n in rows}
