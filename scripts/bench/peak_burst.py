"""The peak's load generator and clock: every participant's pre-signed transaction sent at
one moment, and the time until each is answered and in a block.

No coordinated omission: every order is *scheduled* at the same instant ``t0`` (the
moment thousands press "submit"), and each latency runs from ``t0``, so a sender thread
that falls behind counts against the figure (its lag is reported apart). Sending: ``threads``
threads, each with its own keep-alive HTTP connection (``http.client``, request bodies
encoded before the clock starts), one ``eth_sendRawTransaction`` per request (no batching:
independent clients), spread over the node URLs given. In a block: a watcher
thread polls the head every 10 ms and stamps each new block with the time it first saw it;
after the burst, each transaction's receipt names its canonical block, whose stamp is the
transaction's time (a block the watcher never saw, after a reorg, counts from when the
head first passed its height). The watcher also samples ``txpool_status``.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from scripts.bench.common import Rpc, Signed, percentile

#: Watcher poll interval (s).
POLL_S = 0.01
#: How often the watcher samples the pool (s).
POOL_EVERY_S = 0.25
_HEADERS = {"Content-Type": "application/json"}


@dataclass
class Outcome:
    """One order: when the node accepted it and when its block appeared (s after t0)."""

    tx_hash: str
    send_lag_s: float = 0.0
    accepted_s: float | None = None
    included_s: float | None = None
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 1 and self.included_s is not None


@dataclass
class BlockSeen:
    number: int
    hash: str
    seen_s: float
    txs: int
    gas_used: int
    gas_limit: int
    timestamp: int
    base_fee: int


@dataclass
class BurstResult:
    outcomes: list[Outcome]
    blocks: list[BlockSeen]
    pool: list[tuple[float, int, int]] = field(default_factory=list)
    wall_s: float = 0.0

    def latencies_ms(self, attr: str = "included_s") -> list[float]:
        values = [getattr(o, attr) for o in self.outcomes if o.ok]
        return [v * 1000 for v in values if v is not None]

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)

    def summary(self, attr: str = "included_s") -> dict[str, float]:
        lat = self.latencies_ms(attr)
        if not lat:
            return {}
        return {
            "p50_ms": percentile(lat, 0.50),
            "p95_ms": percentile(lat, 0.95),
            "p99_ms": percentile(lat, 0.99),
            "max_ms": max(lat),
        }

    def details(self) -> dict[str, Any]:
        """Where the time went: intake, sender lag, blocks, pool."""
        burst = [b for b in self.blocks if b.txs]
        gaps = [b.seen_s - a.seen_s for a, b in zip(self.blocks, self.blocks[1:], strict=False)]
        accept = [o.accepted_s * 1000 for o in self.outcomes if o.accepted_s is not None]
        lag = [o.send_lag_s * 1000 for o in self.outcomes]
        errors = sorted({o.error for o in self.outcomes if o.error})[:5]
        return {
            "wall_s": self.wall_s,
            "accept_p99_ms": percentile(accept, 0.99) if accept else None,
            "accept_max_ms": max(accept) if accept else None,
            "send_lag_p99_ms": percentile(lag, 0.99) if lag else None,
            "blocks_seen": len(self.blocks),
            "blocks_with_txs": len(burst),
            "txs_per_block_max": max((b.txs for b in burst), default=0),
            "gas_per_block_max": max((b.gas_used for b in burst), default=0),
            "gas_limit": self.blocks[-1].gas_limit if self.blocks else None,
            "block_gap_p50_ms": percentile(gaps, 0.5) * 1000 if gaps else None,
            "block_gap_max_ms": max(gaps) * 1000 if gaps else None,
            "base_fee_max_wei": max((b.base_fee for b in self.blocks), default=0),
            "pool_pending_max": max((p[1] for p in self.pool), default=0),
            "pool_queued_max": max((p[2] for p in self.pool), default=0),
            "errors": errors,
            "blocks": [
                [round(b.seen_s, 3), b.number, b.txs, b.gas_used] for b in self.blocks[:400]
            ],
        }


class BlockWatcher(threading.Thread):
    """Stamps every new block with the time (after ``t0``) it was first seen."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.rpc = Rpc(url, timeout_s=30.0)
        self.t0 = time.monotonic()
        self.blocks: list[BlockSeen] = []
        self.by_hash: dict[str, float] = {}
        self.height_at: dict[int, float] = {}
        self.pool: list[tuple[float, int, int]] = []
        self._halt = threading.Event()
        self._last = int(self.rpc.call("eth_blockNumber", []), 16)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def run(self) -> None:
        next_pool = 0.0
        while not self._halt.is_set():
            try:
                self._poll()
                now = time.monotonic()
                if now >= next_pool:
                    next_pool = now + POOL_EVERY_S
                    self._sample_pool(now)
            except (requests.RequestException, RuntimeError, ValueError):
                pass  # a busy node; the next poll catches up
            time.sleep(POLL_S)

    def _poll(self) -> None:
        head = int(self.rpc.call("eth_blockNumber", []), 16)
        for number in range(self._last + 1, head + 1):
            block = self.rpc.call("eth_getBlockByNumber", [hex(number), False])
            seen = time.monotonic() - self.t0
            self.height_at.setdefault(number, seen)
            if block is None:
                return
            self.by_hash.setdefault(block["hash"], seen)
            self.blocks.append(
                BlockSeen(
                    number=number,
                    hash=block["hash"],
                    seen_s=seen,
                    txs=len(block["transactions"]),
                    gas_used=int(block["gasUsed"], 16),
                    gas_limit=int(block["gasLimit"], 16),
                    timestamp=int(block["timestamp"], 16),
                    base_fee=int(block.get("baseFeePerGas", "0x0"), 16),
                )
            )
            self._last = number

    def _sample_pool(self, now: float) -> None:
        status = self.rpc.call("txpool_status", [])
        self.pool.append((now - self.t0, int(status["pending"], 16), int(status["queued"], 16)))

    def included_s(self, receipt: dict[str, Any]) -> float:
        """When the receipt's block was first seen (see the module docstring)."""
        at = self.by_hash.get(receipt["blockHash"])
        if at is not None:
            return at
        number = int(receipt["blockNumber"], 16)
        later = [t for n, t in self.height_at.items() if n >= number]
        return min(later) if later else time.monotonic() - self.t0


def fire(
    signed: Sequence[Signed],
    urls: Sequence[str],
    *,
    threads: int,
    timeout_s: float,
    watch_url: str | None = None,
) -> BurstResult:
    """Send every transaction at once (see the module docstring); wait for every receipt
    until ``timeout_s`` after ``t0``."""
    outcomes = [Outcome(tx_hash=s.tx_hash) for s in signed]
    watcher = BlockWatcher(watch_url or urls[0])
    lanes = [list(range(i, len(signed), threads)) for i in range(threads)]
    barrier = threading.Barrier(len(lanes) + 1)

    bodies = [
        json.dumps(
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [s.raw]}
        ).encode()
        for i, s in enumerate(signed)
    ]

    def send(lane: list[int], url: str) -> None:
        target = urlsplit(url)
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout_s)
        conn.connect()
        barrier.wait()
        for i in lane:
            out = outcomes[i]
            out.send_lag_s = time.monotonic() - watcher.t0
            try:
                conn.request("POST", target.path or "/", bodies[i], _HEADERS)
                reply = json.loads(conn.getresponse().read())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                out.error = f"send: {type(exc).__name__}"
                conn.close()
                conn = http.client.HTTPConnection(
                    target.hostname or "127.0.0.1", target.port, timeout_s
                )
                continue
            out.accepted_s = time.monotonic() - watcher.t0
            if "error" in reply:
                out.error = f"refused: {reply['error'].get('message', reply['error'])}"
        conn.close()

    workers = [
        threading.Thread(target=send, args=(lane, urls[n % len(urls)]), daemon=True)
        for n, lane in enumerate(lanes)
    ]
    launch(workers, watcher, barrier)
    _await_receipts(outcomes, watcher, timeout_s)
    watcher.stop()
    return BurstResult(
        outcomes=outcomes,
        blocks=watcher.blocks,
        pool=watcher.pool,
        wall_s=max((o.included_s or 0.0) for o in outcomes),
    )


def launch(
    workers: Sequence[threading.Thread], watcher: BlockWatcher, barrier: threading.Barrier
) -> None:
    """Start the sender ``workers`` (each waits at ``barrier`` once connected), set ``t0``
    50 ms ahead, start the watcher, release every sender at ``t0`` and wait for them."""
    for w in workers:
        w.start()
    watcher.t0 = time.monotonic() + 0.05
    watcher.start()
    while time.monotonic() < watcher.t0:
        time.sleep(0.001)
    barrier.wait()
    for w in workers:
        w.join()


def _await_receipts(outcomes: list[Outcome], watcher: BlockWatcher, timeout_s: float) -> None:
    """Fetch receipts (in batches, every 0.5 s) until every sent order has one."""
    rpc = Rpc(watcher.rpc.url, timeout_s=60.0)
    deadline = watcher.t0 + timeout_s
    while True:
        waiting = [o for o in outcomes if o.error is None and o.status is None]
        if not waiting:
            return
        if time.monotonic() > deadline:
            for o in waiting:
                o.error = f"no receipt after {timeout_s:.0f} s"
            return
        for start in range(0, len(waiting), 500):
            chunk = waiting[start : start + 500]
            replies = rpc.batch([("eth_getTransactionReceipt", [o.tx_hash]) for o in chunk])
            for o, r in zip(chunk, replies, strict=True):
                receipt = r.get("result")
                if receipt:
                    o.status = int(receipt["status"], 16)
                    o.included_s = watcher.included_s(receipt)
                    if o.status != 1:
                        o.error = "reverted"
        time.sleep(0.5)
