"""The crash-safe event indexer: chain logs -> ``gw_events`` + domain projections.

Each chunk of blocks is one database transaction holding its blocks, events, event refs,
projected rows, the overview's summaries (``gateway/summary.py``) and the new checkpoint,
so a crash at any moment leaves the database at a chunk boundary. ``(tx_hash, log_index)``
is unique and already-stored events are skipped, so re-indexing a range adds nothing.
Before each poll the stored checkpoint hash is compared with the chain; on a mismatch (a
reorg) the indexer walks its stored blocks back to the common ancestor, deletes everything
above it (and its share of the summaries) and indexes the new branch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, delete, insert, select, update
from web3 import Web3
from web3.exceptions import BlockNotFound
from web3.types import BlockData, FilterParams, LogReceipt

from gateway import projections, summary
from gateway.decode import DecodedEvent, EventDecoder, hex_str
from gateway.tables import Block, Checkpoint, Event, EventRef, table_of
from ledger.context import LedgerContext
from ledger.errors import ConfigError, GridLedgerError

log = logging.getLogger(__name__)

BLOCKS = table_of(Block)
EVENTS = table_of(Event)
REFS = table_of(EventRef)
CHECKPOINT = table_of(Checkpoint)


class ChainMovedError(GridLedgerError):
    """The chain changed while a chunk was read; the chunk is read again."""


@dataclass
class IndexStats:
    """What one :meth:`Indexer.run_once` did."""

    chunks: int = 0
    blocks: int = 0
    events: int = 0
    reorgs: int = 0
    rewound_to: list[int] = field(default_factory=list)
    checkpoint: int | None = None
    seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class Indexer:
    """Indexes the manifest's contracts into the gateway database."""

    def __init__(
        self,
        ctx: LedgerContext,
        engine: Engine,
        *,
        confirmations: int | None = None,
        chunk_blocks: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.engine = engine
        self.w3: Web3 = ctx.w3
        settings = ctx.settings
        self.confirmations = (
            settings.gateway_confirmations if confirmations is None else confirmations
        )
        self.chunk_blocks = chunk_blocks or settings.gateway_chunk_blocks
        self.decoder = EventDecoder(ctx.manifest, ctx.store)
        contracts = ctx.manifest.contracts.values()
        self.start_block = min([c.block_number for c in contracts] or [ctx.manifest.deploy_block])
        self.chain_id = int(self.w3.eth.chain_id)

    # --- chain access ------------------------------------------------------------------

    def _block(self, number: int) -> BlockData | None:
        try:
            return self.w3.eth.get_block(number)
        except BlockNotFound:
            return None

    def _blocks(self, numbers: Sequence[int]) -> dict[int, BlockData]:
        """Headers of ``numbers`` (one batched RPC round trip)."""
        if not numbers:
            return {}
        if len(numbers) == 1:
            block = self._block(numbers[0])
            if block is None:
                raise ChainMovedError(f"block {numbers[0]} vanished")
            return {numbers[0]: block}
        with self.w3.batch_requests() as batch:
            for n in numbers:
                batch.add(self.w3.eth.get_block(n))
            results = cast(list[Any], batch.execute())
        out: dict[int, BlockData] = {}
        for n, block in zip(numbers, results, strict=True):
            if not isinstance(block, dict) and not hasattr(block, "get"):
                raise ChainMovedError(f"block {n} vanished")
            out[n] = block
        return out

    def headers(self, numbers: Sequence[int]) -> dict[int, str]:
        """Canonical hashes of ``numbers`` (blocks the chain lacks are left out)."""
        out: dict[int, str] = {}
        for n in numbers:
            block_hash = self._hash_at(n)
            if block_hash is not None:
                out[n] = block_hash
        return out

    def _hash_at(self, number: int) -> str | None:
        block = self._block(number)
        return None if block is None else hex_str(block["hash"])

    def target_block(self) -> int:
        """The newest block with enough confirmations."""
        return int(self.w3.eth.block_number) - self.confirmations

    # --- checkpoint --------------------------------------------------------------------

    def checkpoint(self, conn: Connection) -> tuple[int, str] | None:
        row = conn.execute(select(CHECKPOINT).where(CHECKPOINT.c.id == 1)).mappings().first()
        if row is None:
            return None
        if row["chain_id"] != self.chain_id:
            raise ConfigError(
                f"the gateway database indexes chain {row['chain_id']}, the RPC node is chain "
                f"{self.chain_id}: use another GRIDLEDGER_DATABASE_URL"
            )
        return int(row["block_number"]), str(row["block_hash"])

    def _set_checkpoint(self, conn: Connection, number: int, block_hash: str) -> None:
        values = {
            "block_number": number,
            "block_hash": block_hash,
            "chain_id": self.chain_id,
            "updated_at": datetime.now(UTC),
        }
        if conn.execute(update(CHECKPOINT).where(CHECKPOINT.c.id == 1).values(**values)).rowcount:
            return
        conn.execute(insert(CHECKPOINT).values(id=1, **values))

    # --- reorg -------------------------------------------------------------------------

    def reconcile(self) -> int | None:
        """Rewind if the checkpoint is no longer on the chain; returns the ancestor if so."""
        with self.engine.begin() as conn:
            cp = self.checkpoint(conn)
            if cp is None or self._hash_at(cp[0]) == cp[1]:
                return None
            ancestor = self.start_block - 1
            stored = conn.execute(
                select(BLOCKS.c.number, BLOCKS.c.hash)
                .where(BLOCKS.c.number < cp[0])
                .order_by(BLOCKS.c.number.desc())
            ).all()
            ancestor_hash: str | None = None
            for number, block_hash in stored:
                if self._hash_at(number) == block_hash:
                    ancestor, ancestor_hash = number, block_hash
                    break
            log.warning("reorg: checkpoint %s orphaned, rewinding to %s", cp[0], ancestor)
            self.rewind(conn, ancestor, ancestor_hash)
            return ancestor

    def rewind(self, conn: Connection, ancestor: int, ancestor_hash: str | None) -> None:
        """Delete every row above ``ancestor`` and move the checkpoint there."""
        conn.execute(delete(REFS).where(REFS.c.block_number > ancestor))
        summary.events_removed_above(conn, ancestor)
        conn.execute(delete(EVENTS).where(EVENTS.c.block_number > ancestor))
        gone = conn.execute(delete(BLOCKS).where(BLOCKS.c.number > ancestor)).rowcount
        summary.add_rows(conn, BLOCKS, -gone)
        projections.rewind(conn, ancestor)
        if ancestor_hash is None:
            conn.execute(delete(CHECKPOINT))
        else:
            self._set_checkpoint(conn, ancestor, ancestor_hash)

    # --- indexing ----------------------------------------------------------------------

    def fetch(self, first: int, last: int) -> tuple[list[DecodedEvent], dict[int, BlockData]]:
        """Decoded events and headers of blocks ``first..last`` (checked against each other)."""
        params: FilterParams = {
            "fromBlock": first,
            "toBlock": last,
            "address": self.decoder.addresses,  # type: ignore[typeddict-item]
        }
        logs: list[LogReceipt] = list(self.w3.eth.get_logs(params))
        numbers = sorted({int(lg["blockNumber"]) for lg in logs} | {first, last})
        headers = self._blocks(numbers)
        events: list[DecodedEvent] = []
        for lg in logs:
            number = int(lg["blockNumber"])
            if hex_str(lg["blockHash"]) != hex_str(headers[number]["hash"]):
                raise ChainMovedError(f"block {number} changed while reading logs")
            events.append(self.decoder.decode(lg, int(headers[number]["timestamp"])))
        events.sort(key=lambda e: (e.block_number, e.log_index))
        return events, headers

    def index_chunk(self, first: int, last: int, parent_hash: str | None) -> int:
        """Index blocks ``first..last`` in one transaction; returns new events stored."""
        events, headers = self.fetch(first, last)
        if parent_hash is not None and hex_str(headers[first]["parentHash"]) != parent_hash:
            raise ChainMovedError(f"parent of block {first} is not the checkpoint")
        with self.engine.begin() as conn:
            cp = self.checkpoint(conn)
            if (cp[1] if cp else None) != parent_hash:
                raise ChainMovedError("the checkpoint moved (another indexer?)")
            new = self._store(conn, events, headers)
            self._set_checkpoint(conn, last, hex_str(headers[last]["hash"]))
        return new

    def _store(
        self, conn: Connection, events: list[DecodedEvent], headers: dict[int, BlockData]
    ) -> int:
        counts: dict[int, int] = {}
        for ev in events:
            counts[ev.block_number] = counts.get(ev.block_number, 0) + 1
        have_blocks = set(
            conn.execute(select(BLOCKS.c.number).where(BLOCKS.c.number.in_(list(headers))))
            .scalars()
            .all()
        )
        block_rows = [
            {
                "number": n,
                "hash": hex_str(h["hash"]),
                "parent_hash": hex_str(h["parentHash"]),
                "timestamp": int(h["timestamp"]),
                "tx_count": len(h.get("transactions", [])),
                "event_count": counts.get(n, 0),
            }
            for n, h in sorted(headers.items())
            if n not in have_blocks
        ]
        if block_rows:
            conn.execute(insert(BLOCKS), block_rows)
            summary.add_rows(conn, BLOCKS, len(block_rows))
        if not events:
            return 0
        existing = set(
            conn.execute(
                select(EVENTS.c.tx_hash, EVENTS.c.log_index).where(
                    EVENTS.c.block_number.between(events[0].block_number, events[-1].block_number)
                )
            ).all()
        )
        fresh = [e for e in events if (e.tx_hash, e.log_index) not in existing]
        if not fresh:
            return 0
        ids = (
            conn.execute(
                insert(EVENTS).returning(EVENTS.c.id, sort_by_parameter_order=True),
                [_event_row(e) for e in fresh],
            )
            .scalars()
            .all()
        )
        refs = [
            {"event_id": event_id, "block_number": e.block_number, "kind": k, "value": v}
            for event_id, e in zip(ids, fresh, strict=True)
            for k, v in e.refs()
        ]
        if refs:
            conn.execute(insert(REFS), refs)
        summary.events_added(conn, ((e.contract, e.event) for e in fresh))
        projections.project(conn, fresh)
        return len(fresh)

    def run_once(self, *, max_chunks: int | None = None) -> IndexStats:
        """Index from the checkpoint up to the confirmed head (or ``max_chunks`` chunks)."""
        stats = IndexStats()
        began = time.perf_counter()
        target = self.target_block()
        retries = 0
        while max_chunks is None or stats.chunks < max_chunks:
            ancestor = self.reconcile()
            if ancestor is not None:
                stats.reorgs += 1
                stats.rewound_to.append(ancestor)
            with self.engine.connect() as conn:
                cp = self.checkpoint(conn)
            first = cp[0] + 1 if cp else self.start_block
            if first > target:
                break
            last = min(first + self.chunk_blocks - 1, target)
            try:
                stats.events += self.index_chunk(first, last, cp[1] if cp else None)
            except ChainMovedError as exc:
                retries += 1
                if retries > 50:
                    raise
                log.info("chain moved while indexing %s..%s (%s): again", first, last, exc)
                target = self.target_block()
                continue
            stats.chunks += 1
            stats.blocks += last - first + 1
            stats.checkpoint = last
        stats.seconds = time.perf_counter() - began
        if stats.checkpoint is None:
            with self.engine.connect() as conn:
                cp = self.checkpoint(conn)
            stats.checkpoint = cp[0] if cp else None
        return stats

    def follow(self, poll_interval_s: float, stop: threading.Event | None = None) -> None:
        """Index forever (until ``stop`` is set), polling every ``poll_interval_s``."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                stats = self.run_once()
                if stats.events or stats.reorgs:
                    log.info(
                        "indexed %d events in %d blocks up to %s (%d reorgs)",
                        stats.events,
                        stats.blocks,
                        stats.checkpoint,
                        stats.reorgs,
                    )
            except (OSError, GridLedgerError, ValueError) as exc:
                if isinstance(exc, ConfigError):
                    raise
                log.warning("indexing failed, retrying: %s", exc)
            stop.wait(poll_interval_s)


def _event_row(e: DecodedEvent) -> dict[str, Any]:
    return {
        "block_number": e.block_number,
        "block_hash": e.block_hash,
        "block_time": e.block_time,
        "tx_hash": e.tx_hash,
        "tx_index": e.tx_index,
        "log_index": e.log_index,
        "contract": e.contract,
        "address": e.address,
        "event": e.event,
        "args": e.args_json,
    }


def stored_blocks(conn: Connection, numbers: Iterable[int]) -> dict[int, str]:
    """Stored hashes of ``numbers``."""
    rows = conn.execute(
        select(BLOCKS.c.number, BLOCKS.c.hash).where(BLOCKS.c.number.in_(list(numbers)))
    ).all()
    return {int(n): str(h) for n, h in rows}
