"""The peak's orders through the signed-receipt intake (docs/auction.md, "Order intake"):
every participant POSTs one signed bid to ``gridledger intake serve`` at the same moment.

An order is answered when its signed receipt comes back (``order_ack``: the intake wrote it
ahead, fsync'd, then signed); it is on chain when the block holding the anchor batch that
placed it was first seen (``order_onchain``, the block watcher of
:mod:`scripts.bench.peak_burst`). Both run from the common start ``t0`` (no coordinated
omission). The intake runs as its own processes (the OPERATOR's key as intake key:
``serve --no-anchor`` and ``anchor --loop`` on the same log), batches of
``ANCHOR_BATCH[engine]`` orders (the anchorer sets 250k gas per order, so a 30M-gas
consortium block takes about 110; an anchored bid used 144k gas on anvil).

Before the clock: the intake key set, a fresh auction (the participants' allowances to
the auction were given for the direct orders), every order signed, every body encoded.
Afterwards: ``clear_s`` / ``clear_gas``, ranking and clearing the auction's whole book
(every step summed).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ledger.clients.auction import CentralAuctionClient, ClearingRule, OrderSide
from ledger.clients.intake import IntakeOrder, OrderIntakeClient, sign_digest
from ledger.engines.local import free_port
from scripts.bench.common import BenchChain, BenchError, NodeSpec, role
from scripts.bench.peak_burst import BlockWatcher, BurstResult, Outcome, launch
from scripts.bench.peak_orders import BID_PRICE, BID_WH, FEE_CAP, MIN_LOT_WH

if TYPE_CHECKING:
    from scripts.bench.peak import Market

ANCHOR_BATCH = {"anvil": 1000, "clique": 110}
#: Clearing: orders per rank transaction and steps per clear transaction, per engine
#: (anvil's 2G-gas blocks take a whole phase; a trade-forming step costs about 160k gas, so
#: a 30M consortium block takes 120 with the senders' 25 % gas margin).
CLEAR_SIZES = {"anvil": (1000, 1500), "clique": (200, 120)}
#: The auction's gate (s after opening): anvil moves its clock, the consortium waits for
#: it in real time (the burst and its anchoring take about a minute there).
GATE_IN_S = {"anvil": 3_600, "clique": 240}
#: The sellers' offers' limit (fen/MWh): below the bids' 350,000, so every bid matches.
OFFER_PRICE = 300_000
THREADS = 48
_HEADERS = {"Content-Type": "application/json"}
GRIDLEDGER = str(Path(sys.executable).with_name("gridledger"))


def _env(chain: BenchChain) -> dict[str, str]:
    s = chain.settings
    env = dict(os.environ)
    env.update(
        GRIDLEDGER_RPC_URL=chain.url,
        GRIDLEDGER_DATA_DIR=str(s.data_dir),
        GRIDLEDGER_DEMO_KEYS="1",
        GRIDLEDGER_CHAIN_ID=str(s.chain_id),
        GRIDLEDGER_POA="1" if s.poa else "0",
        GRIDLEDGER_PRIORITY_FEE_WEI=str(s.priority_fee_wei),
        GRIDLEDGER_TX_TIMEOUT_S=str(s.tx_timeout_s),
        GRIDLEDGER_RPC_TIMEOUT_S=str(s.rpc_timeout_s),
    )
    return env


def _bodies(chain: BenchChain, m: Market, auction_id: int) -> list[bytes]:
    domain = chain.client(OrderIntakeClient, role("OPERATOR")).domain()
    out: list[bytes] = []
    for p in m.participants:
        order = IntakeOrder(
            node=p.account.address,
            auction_id=auction_id,
            side=OrderSide.BID,
            energy_wh=BID_WH,
            price_fen_per_mwh=BID_PRICE,
            nonce=1,
        )
        sig = sign_digest(p.account.key, domain.digest(order))
        body = {"order": order.model_dump(mode="json"), "signature": "0x" + sig.hex()}
        out.append(json.dumps(body).encode())
    return out


def _post_all(port: int, bodies: list[bytes], watcher: BlockWatcher) -> list[Outcome]:
    outcomes = [Outcome(tx_hash="") for _ in bodies]
    lanes = [list(range(i, len(bodies), THREADS)) for i in range(THREADS)]
    barrier = threading.Barrier(len(lanes) + 1)

    def send(lane: list[int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.connect()
        barrier.wait()
        for i in lane:
            out = outcomes[i]
            out.send_lag_s = time.monotonic() - watcher.t0
            try:
                conn.request("POST", "/orders", bodies[i], _HEADERS)
                reply = conn.getresponse()
                data = json.loads(reply.read())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                out.error = f"send: {type(exc).__name__}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                continue
            out.accepted_s = time.monotonic() - watcher.t0
            if reply.status != 200:
                out.error = f"refused: {data.get('detail')}"
            else:
                out.tx_hash = str(data["receipt"]["seq"])
        conn.close()

    workers = [threading.Thread(target=send, args=(lane,), daemon=True) for lane in lanes]
    launch(workers, watcher, barrier)
    return outcomes


def _await_anchored(
    intake: OrderIntakeClient, outcomes: list[Outcome], watcher: BlockWatcher, timeout_s: float
) -> None:
    """Stamp each acknowledged order with its anchor block's first sighting."""
    wanted = {int(o.tx_hash): o for o in outcomes if o.error is None}
    deadline = watcher.t0 + timeout_s
    seen: set[int] = set()
    while len(seen) < len(wanted) and time.monotonic() < deadline:
        time.sleep(0.5)
        for event, ok in (("OrderAnchored", 1), ("OrderRejected", 0)):
            for log in intake.contract.events[event]().get_logs(from_block=0):
                seq = int(log["args"]["seq"])
                if seq in wanted and seq not in seen:
                    seen.add(seq)
                    o = wanted[seq]
                    o.status = ok
                    block = {"blockHash": log["blockHash"].to_0x_hex()}
                    block["blockNumber"] = hex(int(log["blockNumber"]))
                    o.included_s = watcher.included_s(block)
                    if not ok:
                        o.error = "rejected"
    for seq, o in wanted.items():
        if seq not in seen:
            o.error = f"not anchored after {timeout_s:.0f} s"


def _start(chain: BenchChain, db: Path, port: int, batch: int) -> list[subprocess.Popen[bytes]]:
    """``intake serve --no-anchor`` and ``intake anchor --loop`` on one log: two processes,
    so the anchorer's ABI encoding never holds the server's interpreter."""
    base = [GRIDLEDGER, "intake"]
    key = ["--wallet", "operator", "--db", str(db)]
    serve = [*base, "serve", *key, "--port", str(port), "--no-anchor"]
    anchor = [*base, "anchor", *key, "--loop", "--batch", str(batch), "--interval-s", "0.1"]
    procs = [
        subprocess.Popen(cmd, env=_env(chain), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for cmd in (serve, anchor)
    ]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-500:] if proc.stderr else ""
                _stop(procs)
                raise BenchError(f"the intake exited: {err}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return procs
        except httpx.HTTPError:
            time.sleep(0.2)
    _stop(procs)
    raise BenchError("the intake did not start")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _open_with_offers(chain: BenchChain, engine: str, m: Market, sellers: list[NodeSpec]) -> int:
    """A fresh auction whose sellers' offers (placed directly) cover every bid."""
    operator = chain.client(CentralAuctionClient, role("OPERATOR"))
    now = chain.block_time()
    gate = now + GATE_IN_S.get(engine, GATE_IN_S["clique"])
    receipt = operator.open_auction(
        m.period_id, 0, 95, now, gate, MIN_LOT_WH, ClearingRule.UNIFORM, FEE_CAP
    )
    auction_id = operator.opened_auction_id(receipt)
    per_seller = -(-len(m.participants) * BID_WH // len(sellers))
    for s in sellers:
        chain.client(CentralAuctionClient, s.account).place_order(
            auction_id, OrderSide.OFFER, max(per_seller, MIN_LOT_WH), OFFER_PRICE
        )
    return auction_id


def intake_burst(
    chain: BenchChain, engine: str, m: Market, sellers: list[NodeSpec]
) -> tuple[BurstResult, BurstResult, dict[str, Any], int]:
    """(acknowledgements, on-chain, details, the auction id)."""
    intake = chain.client(OrderIntakeClient, role("OPERATOR"))
    intake.set_intake(role("OPERATOR").address)
    auction_id = _open_with_offers(chain, engine, m, sellers)
    bodies = _bodies(chain, m, auction_id)
    with tempfile.TemporaryDirectory(prefix="gl-intake-") as tmp:
        port = free_port()
        procs = _start(chain, Path(tmp) / "intake.db", port, ANCHOR_BATCH.get(engine, 100))
        try:
            watcher = BlockWatcher(chain.url)
            load_before = os.getloadavg()
            outcomes = _post_all(port, bodies, watcher)
            ack_done = os.getloadavg()
            _await_anchored(intake, outcomes, watcher, timeout_s=600.0)
            watcher.stop()
        finally:
            _stop(procs)
    onchain = BurstResult(outcomes=outcomes, blocks=watcher.blocks, pool=watcher.pool)
    onchain.wall_s = max((o.included_s or 0.0) for o in outcomes)
    acks = [
        Outcome(tx_hash=o.tx_hash, send_lag_s=o.send_lag_s, accepted_s=o.accepted_s,
                included_s=o.accepted_s, status=1 if o.accepted_s is not None else None,
                error=o.error if o.error != "rejected" else None)
        for o in outcomes
    ]  # fmt: skip
    ack = BurstResult(outcomes=acks, blocks=[])
    details = onchain.details()
    details.update(
        load_average_before=list(load_before),
        load_average_after_acks=list(ack_done),
        load_average_after=list(os.getloadavg()),
        anchor_batch=ANCHOR_BATCH.get(engine, 100),
    )
    return ack, onchain, details, auction_id


def clear_book(chain: BenchChain, engine: str, auction_id: int) -> tuple[float, int, int]:
    """Close the gate, rank and clear the whole book: (wall s, gas summed, transactions)."""
    reader = chain.client(CentralAuctionClient, role("OPERATOR"))
    gate = reader.auction(auction_id).gate_closes_at
    if engine == "anvil":
        chain.advance(max(0, gate - chain.block_time()) + 1)
    while chain.block_time() < gate:
        time.sleep(1.0)
    batch, steps = CLEAR_SIZES.get(engine, (200, 60))
    began = time.perf_counter()
    receipts = reader.clear_all(auction_id, batch=batch, steps=steps)
    wall = time.perf_counter() - began
    return wall, sum(int(r["gasUsed"]) for r in receipts), len(receipts)
