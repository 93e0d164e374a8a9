"""What every benchmark section shares: a fresh anvil with the deployed suite, a raw
JSON-RPC client, and the load harness (pre-signed transactions sent with concurrency).

The harness (:class:`Blaster`) signs locally with eth-account (coincurve backend), one
nonce sequence per key kept here (the same rule as :class:`ledger.tx.NonceManager`: read
the pending count once, then count up), sends ``eth_sendRawTransaction`` in JSON-RPC
batches from several threads (each thread owns its keys, so a key's transactions stay in
nonce order, and its own ``requests.Session``) and waits for every receipt. Signing is
timed apart from sending, and both rates are reported.

Stuck transactions. anvil 1.x in automine can leave a transaction in its pool without ever
mining it when one sender's transactions reach the pool out of nonce order (a JSON-RPC
batch is served concurrently): foundry-rs/foundry#10122, "block mining misses ready
transactions". That is the likely cause of a full run's failed gas section ("50 receipts
missing after 300 s" while one seller posted 990 listings in batches of 50; the whole chunk
counts as missing while its last transaction is unmined, as only that one is polled): fees
cannot be it (base fee 0; a transaction under the base fee is refused at sending, with an
error) and neither can a revert (it has a receipt). So :meth:`Blaster.wait` does not just
wait: when a chunk and the chain's head both make no progress for :data:`STALL_S` (a node
busy with other transactions is not stuck), it re-sends the chunk's missing transactions,
asks ``txpool_status`` and, if the pool holds anything, mines a block (``evm_mine`` takes
every ready transaction), at most :data:`MAX_KICKS` times per chunk. Each such kick is
counted (:attr:`Blaster.kicks`) and reported by the sections, so a figure that needed one
says so; a chunk still missing at the timeout names the pool's state in the error.
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from ledger.clients.base import ContractClient
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import Period, TradingMarketClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.engines.local import Mining, anvil_command, free_port
from ledger.identity import demo_bundle
from ledger.keystore import DEMO_NODE_BASE, DEMO_ROLE_WALLETS, demo_account
from ledger.settings import Settings
from ledger.web3factory import is_reachable, make_web3

C = TypeVar("C", bound=ContractClient)

#: Gas limit of pre-signed transactions whose gas is not given (gas is free on the chain;
#: the limit only caps execution, the receipt's gasUsed is what is reported).
DEFAULT_GAS = 3_000_000
#: A chunk whose receipts made no progress for this long is checked for stuck transactions.
STALL_S = 2.0
#: Most kicks (re-send + ``evm_mine``) per chunk before giving up.
MAX_KICKS = 5


class BenchError(RuntimeError):
    """A benchmark could not run as designed (a reverted setup transaction, no anvil)."""


class DeadlineExceeded(BenchError):  # noqa: N818 - a stop condition
    """The harness passed its ``deadline`` (``time.monotonic``) between two batches."""


def role(name: str) -> LocalAccount:
    """The demo wallet of a role, e.g. ``role("OPERATOR")``."""
    return demo_account(DEMO_ROLE_WALLETS[name.lower().replace("_", "-")])


@functools.cache
def node_account(n: int) -> LocalAccount:
    """Demo market node ``node-<n>``."""
    return demo_account(DEMO_NODE_BASE + n)


# -- the chain ------------------------------------------------------------------------------


@dataclass
class BenchChain:
    """A fresh in-memory anvil with the suite deployed by the demo admin."""

    settings: Settings
    ctx: LedgerContext
    url: str
    #: The anvil process; None for a chain this harness did not start (the consortium).
    proc: subprocess.Popen[bytes] | None
    data_dir: Path

    @property
    def w3(self) -> Web3:
        return self.ctx.w3

    def rpc(self) -> Rpc:
        return Rpc(self.url)

    def anvil_peak_rss_mb(self) -> float | None:
        """Peak resident memory of this anvil (Linux ``VmHWM``), MB."""
        if self.proc is None:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def block_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> int:
        """Move the chain clock forward and mine a block; the new block time."""
        self.rpc().call("evm_increaseTime", [seconds])
        self.rpc().call("evm_mine", [])
        return self.block_time()

    def client(self, cls: type[C], account: LocalAccount) -> C:
        return self.ctx.client(cls, account)

    def snapshot(self) -> str:
        """``evm_snapshot``: an id to :meth:`revert` to (a revert uses the id up)."""
        return str(self.rpc().call("evm_snapshot", []))

    def revert(self, snapshot_id: str, *blasters: Blaster) -> str:
        """Back to ``snapshot_id`` (state, blocks, clock), forget the ``blasters``' and the
        clients' nonces and take a new snapshot of the same state: its id."""
        if not self.rpc().call("evm_revert", [snapshot_id]):
            raise BenchError(f"evm_revert {snapshot_id} failed")
        for b in blasters:
            b.reset_nonces()
        self.ctx.nonces.reset()
        return self.snapshot()


@contextmanager
def bench_chain(mining: Mining = "auto", **overrides: object) -> Iterator[BenchChain]:
    """Start anvil on a free port (automine unless ``mining``, no state file), deploy the
    suite, yield it."""
    with tempfile.TemporaryDirectory(prefix="gl-bench-") as tmp:
        port = free_port()
        base = Settings(rpc_port=port)
        cmd = anvil_command(base, port, state_file=None, block_time_s=None, mining=mining)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            w3 = Web3(Web3.HTTPProvider(url))
            deadline = time.monotonic() + 30
            while not is_reachable(w3):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("anvil did not start")
                time.sleep(0.05)
            values: dict[str, object] = {
                "data_dir": Path(tmp),
                "GRIDLEDGER_RPC_URL": url,
                "demo_keys": True,
                "keystore_scrypt_n": 1024,
                "admin_transfer_delay_s": 3600,
                "tx_timeout_s": 120.0,
                "rpc_timeout_s": 120.0,
            }
            values.update(overrides)
            settings = Settings.model_validate(values)
            ctx = LedgerContext(settings, w3=make_web3(settings))
            deploy_suite(ctx, role("ADMIN"))
            yield BenchChain(settings=settings, ctx=ctx, url=url, proc=proc, data_dir=Path(tmp))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


# -- raw JSON-RPC ---------------------------------------------------------------------------


class Rpc:
    """JSON-RPC over one ``requests.Session`` per thread, with batches."""

    _local = threading.local()

    def __init__(self, url: str, timeout_s: float = 120.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def _session(self) -> requests.Session:
        sessions: dict[str, requests.Session] = getattr(self._local, "sessions", {})
        self._local.sessions = sessions
        if self.url not in sessions:
            sessions[self.url] = requests.Session()
        return sessions[self.url]

    def call(self, method: str, params: list[Any]) -> Any:
        reply = (
            self._session()
            .post(
                self.url,
                json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                timeout=self.timeout_s,
            )
            .json()
        )
        if "error" in reply:
            raise BenchError(f"{method}: {reply['error']}")
        return reply["result"]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Replies in the order of ``calls`` (each ``{"result": ...}`` or ``{"error": ...}``)."""
        if not calls:
            return []
        body: list[Any] = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        replies = self._session().post(self.url, json=body, timeout=self.timeout_s).json()
        if isinstance(replies, dict):
            raise BenchError(f"batch refused: {replies}")
        by_id = {int(r["id"]): r for r in replies}
        return [by_id[i] for i in range(len(calls))]


# -- the load harness -----------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One transaction to sign: ``account`` calls ``to`` with ``data``."""

    account: LocalAccount
    to: str | None
    data: str
    gas: int = DEFAULT_GAS


@dataclass(frozen=True)
class Signed:
    sender: str
    tx_hash: str
    raw: str
    index: int


@dataclass
class BlastResult:
    """Receipts (in the order of the calls) and timings of one run of the harness."""

    receipts: list[dict[str, Any]]
    sign_s: float
    wall_s: float
    latencies_s: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.receipts)

    @property
    def tx_per_s(self) -> float:
        return self.count / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def sign_per_s(self) -> float:
        return self.count / self.sign_s if self.sign_s > 0 else 0.0

    def gas_used(self) -> list[int]:
        return [int(r["gasUsed"], 16) for r in self.receipts]


class Blaster:
    """Signs many transactions, sends them with concurrency and waits for every receipt.

    Args:
        chain: The chain (its URL and chain id).
        threads: Sending threads; keys are spread over them, each key on one thread.
        batch: Transactions per JSON-RPC batch (the window of one thread).
    """

    def __init__(self, chain: BenchChain, *, threads: int = 8, batch: int = 25) -> None:
        self.chain = chain
        self.rpc = chain.rpc()
        self.threads = threads
        self.batch = batch
        self.chain_id = int(chain.w3.eth.chain_id)
        self._nonces: dict[str, int] = {}
        #: ``time.monotonic()`` after which sending stops with :class:`DeadlineExceeded`.
        self.deadline: float | None = None
        #: Stalled chunks that needed a re-send and an ``evm_mine`` (see the module docstring).
        self.kicks = 0
        self._kick_lock = threading.Lock()
        #: Fees of the pre-signed transactions (0: the local anvil's free gas).
        self.max_fee_per_gas = 0
        self.priority_fee_per_gas = 0

    def reset_nonces(self) -> None:
        """Forget the nonces counted here (after ``evm_revert``, or other senders)."""
        self._nonces.clear()

    def _nonce(self, address: str) -> int:
        if address not in self._nonces:
            self._nonces[address] = int(
                self.rpc.call("eth_getTransactionCount", [address, "pending"]), 16
            )
        n = self._nonces[address]
        self._nonces[address] = n + 1
        return n

    def sign(self, calls: Sequence[Call]) -> list[Signed]:
        out: list[Signed] = []
        for i, c in enumerate(calls):
            tx: dict[str, Any] = {
                "type": 2,
                "chainId": self.chain_id,
                "nonce": self._nonce(c.account.address),
                "gas": c.gas,
                "maxFeePerGas": self.max_fee_per_gas,
                "maxPriorityFeePerGas": self.priority_fee_per_gas,
                "value": 0,
                "data": HexBytes(c.data),
            }
            if c.to is not None:
                tx["to"] = Web3.to_checksum_address(c.to)
            s = c.account.sign_transaction(tx)
            out.append(
                Signed(
                    sender=c.account.address,
                    tx_hash=HexBytes(s.hash).to_0x_hex(),
                    raw=HexBytes(s.raw_transaction).to_0x_hex(),
                    index=i,
                )
            )
        return out

    def run(self, calls: Sequence[Call], *, check: bool = True) -> BlastResult:
        """Sign (timed apart), then send and receipt everything (timed): the result."""
        began = time.perf_counter()
        signed = self.sign(calls)
        sign_s = time.perf_counter() - began
        receipts, wall_s = self.send(signed)
        result = BlastResult(receipts=receipts, sign_s=sign_s, wall_s=wall_s)
        if check:
            self.check(calls, result)
        return result

    def send(self, signed: Sequence[Signed]) -> tuple[list[dict[str, Any]], float]:
        """Send pre-signed transactions with concurrency; (receipts in order, seconds)."""
        lanes: list[list[Signed]] = [[] for _ in range(max(1, self.threads))]
        lane_of: dict[str, int] = {}
        for s in signed:
            lane = lane_of.setdefault(s.sender, len(lane_of) % len(lanes))
            lanes[lane].append(s)
        receipts: list[dict[str, Any] | None] = [None] * len(signed)
        errors: list[BaseException] = []

        def work(items: list[Signed]) -> None:
            try:
                for start in range(0, len(items), self.batch):
                    if self.deadline is not None and time.monotonic() > self.deadline:
                        raise DeadlineExceeded(f"deadline passed after {start} transactions")
                    chunk = items[start : start + self.batch]
                    replies = self.rpc.batch([("eth_sendRawTransaction", [s.raw]) for s in chunk])
                    for s, r in zip(chunk, replies, strict=True):
                        if "error" in r and "already known" not in str(r["error"]).lower():
                            raise BenchError(f"node refused {s.tx_hash}: {r['error']}")
                    for s, rec in zip(chunk, self.wait(chunk), strict=True):
                        receipts[s.index] = rec
            except BaseException as exc:  # noqa: BLE001 - reported by the caller
                errors.append(exc)

        began = time.perf_counter()
        workers = [threading.Thread(target=work, args=(lane,)) for lane in lanes if lane]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - began
        if errors:
            raise errors[0]
        index = {s.index: n for n, s in enumerate(signed)}
        ordered: list[dict[str, Any]] = [{} for _ in signed]
        for i, rec in enumerate(receipts):
            if rec is not None:
                ordered[index[i]] = rec
        return ordered, wall

    def wait(self, chunk: Sequence[Signed], timeout_s: float = 300.0) -> list[dict[str, Any]]:
        """Receipts of ``chunk``.

        Polls only the chunk's last transaction (the node runs a batch in order) until it
        is mined, with a short backoff, then fetches every receipt in one batch: polling
        every hash of every thread in a tight loop starves anvil's miner. A chunk that makes
        no progress for :data:`STALL_S` while the chain's head stands still either is kicked
        (see the module docstring).
        """
        found: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout_s
        pause = 0.002
        progress_at = time.monotonic()
        kicks = 0
        seen_head = -1  # a chunk is stuck when its receipts and the chain's head both stall
        while True:
            missing = [s.tx_hash for s in chunk if s.tx_hash not in found]
            if not missing:
                return [found[s.tx_hash] for s in chunk]
            stalled = time.monotonic() - progress_at > STALL_S
            if len(missing) > 1 and not stalled:
                last = self.rpc.call("eth_getTransactionReceipt", [missing[-1]])
                replies = (
                    self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in missing])
                    if last
                    else []
                )
            else:
                replies = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in missing])
            before = len(found)
            for h, r in zip(missing, replies, strict=False):
                if r.get("result"):
                    found[h] = r["result"]
            if len(found) > before:
                progress_at = time.monotonic()
                continue
            if len(found) < len(chunk):
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"{len(chunk) - len(found)} receipts missing after {timeout_s} s "
                        f"({kicks} kicks; pool {self._pool_status()})"
                    )
                if stalled:
                    head = int(self.rpc.call("eth_blockNumber", []), 16)
                    if head == seen_head and kicks < MAX_KICKS:
                        kicks += 1
                        self._kick([s for s in chunk if s.tx_hash not in found])
                    seen_head = head
                    progress_at = time.monotonic()
                time.sleep(pause)
                pause = min(pause * 1.5, 0.02)

    def _pool_status(self) -> dict[str, int]:
        try:
            status = self.rpc.call("txpool_status", [])
        except (BenchError, requests.RequestException):
            return {}
        return {k: int(v, 16) for k, v in status.items()}

    def _kick(self, stuck: Sequence[Signed]) -> None:
        """Re-send ``stuck`` (replies ignored: "already known", "nonce too low") and mine a
        block if the pool holds anything."""
        self.rpc.batch([("eth_sendRawTransaction", [s.raw]) for s in stuck])
        if any(self._pool_status().values()):
            try:
                self.rpc.call("evm_mine", [])
            except BenchError:  # a chain without evm_mine (the consortium): re-sent only
                return
            with self._kick_lock:
                self.kicks += 1

    def check(self, calls: Sequence[Call], result: BlastResult) -> None:
        """Every receipt succeeded, else raise with the first revert decoded."""
        for c, r in zip(calls, result.receipts, strict=True):
            if int(r["status"], 16) != 1:
                raise BenchError(
                    f"{sum(int(x['status'], 16) != 1 for x in result.receipts)} of "
                    f"{len(calls)} transactions reverted; first: {self.explain(c, r)}"
                )

    def explain(self, c: Call, receipt: dict[str, Any]) -> str:
        params: dict[str, Any] = {"from": c.account.address, "data": c.data, "gas": c.gas}
        if c.to is not None:
            params["to"] = Web3.to_checksum_address(c.to)
        block = max(int(receipt["blockNumber"], 16) - 1, 0)
        try:
            self.chain.w3.eth.call(params, block_identifier=block)  # type: ignore[arg-type]
        except (ContractLogicError, Web3RPCError) as exc:
            decoded = self.chain.ctx.decoder.from_exception(exc)
            return str(decoded or exc)
        return f"{receipt['transactionHash']} (replay did not revert)"


def first_indexed(receipt: dict[str, Any], address: str, signature: str) -> int:
    """The first indexed argument of the first ``signature`` event ``address`` emitted."""
    topic = Web3.keccak(text=signature).to_0x_hex()
    for log in receipt["logs"]:
        if log["address"].lower() == address.lower() and log["topics"][0] == topic:
            return int(log["topics"][1], 16)
    raise BenchError(f"no {signature} in {receipt['transactionHash']}")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1), nearest-rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


# -- a market to trade in -------------------------------------------------------------------

#: A small tariff graph: four regions in a ring (rates fen/MWh).
TARIFF_RATES = {0: 3_000, 1: 9_000, 2: 1_000, 3: 2_000}
TARIFF_EDGES = [(0, 1), (1, 3), (0, 2), (2, 3)]


def define_tariff(
    chain: BenchChain,
    rates: dict[int, int] | None = None,
    edges: Sequence[tuple[int, int]] | None = None,
    names: dict[int, str] | None = None,
) -> None:
    regulator = chain.client(TransmissionTariffClient, role("REGULATOR"))
    rates = rates or TARIFF_RATES
    for region in rates:
        regulator.define_region(region, (names or {}).get(region, f"R{region}"))
    for region, rate in rates.items():
        regulator.schedule_stamp_rate(region, rate)
    for a, b in edges if edges is not None else TARIFF_EDGES:
        regulator.set_edge(a, b)


@dataclass(frozen=True)
class NodeSpec:
    """A node to onboard: demo key ``node-<n>`` and its registry profile."""

    n: int
    kind: NodeKind
    side: Side
    region: int
    capacity_kw: int = 0
    carbon_g_per_kwh: int = 0

    @property
    def account(self) -> LocalAccount:
        return node_account(self.n)


def _registrations(reg: NodeRegistryClient, nodes: Sequence[NodeSpec]) -> list[Call]:
    """Every node's ``register`` (its demo identity bundle)."""
    return [
        Call(
            n.account,
            reg.address,
            reg.encode(
                "register",
                int(n.kind),
                int(n.side),
                n.region,
                n.capacity_kw,
                n.carbon_g_per_kwh,
                demo_bundle(n.n).entity_hash,
                demo_bundle(n.n).bundle_hash,
            ),
        )
        for n in nodes
    ]


def _qualifications(
    reg: NodeRegistryClient,
    nodes: Sequence[NodeSpec],
    licences: dict[NodeKind, list[bytes]],
    expires: int,
) -> list[Call]:
    """Every node submits the licences its kind requires."""
    return [
        Call(
            n.account,
            reg.address,
            reg.encode(
                "submitQualification",
                licence,
                bytes(Web3.keccak(text=f"bench-licence-{n.n}-{licence.hex()}")),
                expires,
            ),
        )
        for n in nodes
        for licence in licences[n.kind]
    ]


def onboard_many(
    chain: BenchChain,
    nodes: Sequence[NodeSpec],
    *,
    extra_bond_fen: int,
    funds_fen: int,
    blaster: Blaster | None = None,
) -> dict[str, float]:
    """Make every node tradeable, in phases of pre-signed transactions (register; verifier
    approves and bank mints; licences submitted; licences approved; bond approved and
    deposited, market allowance given). What ``onboard_demo_node`` does, for thousands.

    Returns:
        Seconds per phase and the transaction count.
    """
    b = blaster or Blaster(chain, threads=8, batch=50)
    ctx = chain.ctx
    reg = ctx.client(NodeRegistryClient, role("VERIFIER"))
    token = ctx.client(SettlementTokenClient, role("CLEARING_BANK"))
    market_address = ctx.manifest.address("TradingMarket")
    verifier, bank = role("VERIFIER"), role("CLEARING_BANK")
    now = chain.block_time()
    expires = now + 365 * 86_400
    licences = {k: reg.required_qualifications(k) for k in {n.kind for n in nodes}}
    bond = reg.bond_table()[reg.default_credit_level()] + extra_bond_fen
    timings: dict[str, float] = {}
    txs = 0

    def phase(name: str, calls: list[Call]) -> None:
        nonlocal txs
        began = time.perf_counter()
        b.run(calls)
        timings[name] = time.perf_counter() - began
        txs += len(calls)

    phase("register", _registrations(reg, nodes))
    approve_and_mint: list[Call] = []
    for n in nodes:
        approve_and_mint.append(
            Call(verifier, reg.address, reg.encode("approveNode", n.account.address))
        )
        ref = Web3.keccak(text=f"bench-onboard/{n.account.address}").to_0x_hex()
        approve_and_mint.append(
            Call(
                bank,
                token.address,
                token.encode("mint", n.account.address, bond + funds_fen, HexBytes(ref)),
            )
        )
    phase("approve+mint", approve_and_mint)
    submits = _qualifications(reg, nodes, licences, expires)
    if submits:
        phase("qualify", submits)
        phase(
            "approve-qualification",
            [
                Call(
                    verifier,
                    reg.address,
                    reg.encode("approveQualification", n.account.address, licence),
                )
                for n in nodes
                for licence in licences[n.kind]
            ],
        )
    bonds: list[Call] = []
    for n in nodes:
        bonds.append(Call(n.account, token.address, token.encode("approve", reg.address, bond)))
        bonds.append(Call(n.account, reg.address, reg.encode("depositBond", bond)))
        bonds.append(
            Call(n.account, token.address, token.encode("approve", market_address, 2**255))
        )
    phase("bond", bonds)
    timings["transactions"] = float(txs)
    return timings


def open_period(chain: BenchChain, *, taking_in_s: int = 60, days_open: int = 30) -> Period:
    """Open a delivery day; posting now, taking from ``taking_in_s`` on, for ``days_open``."""
    operator = chain.client(TradingMarketClient, role("OPERATOR"))
    now = chain.block_time()
    closes = now + days_open * 86_400
    receipt = operator.open_period(closes + 3_600, now, now + taking_in_s, closes)
    return operator.period(operator.opened_period_id(receipt))


def machine_cpu_count() -> int:
    return os.cpu_count() or 1
