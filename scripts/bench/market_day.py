"""Section 6: the full jibei preset market day, stage by stage: wall time and peak memory.

The day follows the stages of the demo's market day (:mod:`scripts.market_day`) on the full
``jibei`` preset (``generate("jibei", 1)``: 3,513 nodes, 12,903 meters); QUICK runs
``jibei-mini`` (60 nodes). Every stage runs on chain for real:

1. tariffs: 7 regions with their stamp rates and 10 corridors (REGULATOR);
2. onboarding of every node: registration; the bank mints the bond and the working funds
   (buyers: twice a day's energy; sellers: a tenth of a day's sales); the VERIFIER approves,
   the credit agency rates, licences (if the kind requires any) are submitted and approved;
   each node deposits its bond (sellers a fifth of a day's sales on top) and approves the
   market and the settlement engine;
3. meters: every metering point registered with its own key (OPERATOR);
4. the delivery period opened (taking closes 15 minutes before delivery);
5. posting: sellers post 90 % of each six-hour block (mode 1), retailers bid a third of
   their first block (mode 2);
6. taking: withholding violators cancel their listings; four sellers take retailers' bids
   for a quarter of their first block; every buyer covers 80 % of each block's demand. Each
   taker takes the open listings in the order of the recommendation optimiser's unit score
   (:func:`node.optimizer.unit_scores`: price plus the cheapest route's stamps, reputation,
   carbon), filling greedily within the minimum takes; this is the optimiser's MILP optimum
   whenever no minimum take binds. The MILP itself is not solved per taker (about 25 ms a
   plan, 13,000 plans: client CPU that the nodes spend in parallel in a real market);
7. dispatch: the period's trades read from chain as the oracle serves them
   (:class:`oracle.dispatch.ChainTradeSource`), security-checked against the corridor
   limits (:func:`scripts.dispatch_sim.security_check`), DISPATCH-signed (EIP-712) and
   submitted in batches (``submitResults``), as the oracle's relay does;
8. metering: every node's metered day (its executed contracted energy per quarter-hour with
   3 % noise, deviation abusers 25 % over, capped at meter capacity, as the demo's meters
   report) as one ``postPeriod`` Merkle root and one ``submitNodeTotal`` per node with its
   proof (METER_ORACLE, as the oracle's relay does);
9. settlement: every trade (``settleBatch``), every trading node's deviation (formulas 2
   and 3; trade lists counted page by page first where needed), every credit withdrawn;
10. ratings: both parties rate every settled trade;
11. surveillance: the shipped model scores every node on the day's chain history; a report
    is filed, answered and ruled only if the top score passes the registered threshold;
12. certificates: issued to the green generators on their metered output, clean trades
    covered, the rest posted on the one-way market, short buyers (violators excepted) buy
    and retire, every buyer assessed after the deadline;

then the settlement token is checked for conservation to the fen.

Not here: the individual signed meter readings (12,903 meters x 96 quarter-hours through
the oracle's API; section 4 measures that ingestion), and the gateway's index (section 5).

How it is sent (:class:`Waves`): each stage's transactions go out in *waves* of independent
transactions. Every node signs its own; role transactions (verifier, bank, operator, oracle,
settler) are pipelined with consecutive nonces; batch functions are used where the contracts
have them (``submitResults``, ``settleBatch``, ``countTrades``). Signing is
:class:`~scripts.bench.common.Blaster`'s (one nonce sequence per key) in slices, while a
sender thread sends the previous slice in JSON-RPC batches and seals its block: anvil's
automine is off during a wave and ``evm_mine`` runs until the pool is empty. Nothing waits
for a receipt until the wave is out; then every transaction is checked (its block from the
block headers, its events from ``eth_getLogs``; see :meth:`Waves._receipts`).

Blocks: automine seals a block per transaction or so (about 120 tx/s here) and anvil keeps
a full copy of the state per block for its last 256 blocks (``--prune-history 256``), so for
the day the block gas limit is raised (:data:`DAY_BLOCK_GAS_LIMIT`) and a slice of a wave
is one block: about 40 blocks for the day's 112,000 transactions. A producer that fills its
blocks is what a consortium chain does. Calldata is encoded with ``eth_abi`` directly
(:class:`Abi`; web3's ``encode_abi`` costs about 5 ms a call) and the node keys are derived
from the mnemonic's seed computed once (:func:`demo_node`). Chain time follows the wall
clock and is moved forward between stages (``evm_setNextBlockTimestamp``), as the demo's
time-lapse does.

Peak memory is this process's max RSS and the anvil's ``VmHWM``. The day stops with n/a
(never an extrapolation) if it passes :data:`BUDGET_S`.
"""

from __future__ import annotations

import logging
import queue
import random
import resource
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount
from eth_utils.abi import (
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)
from web3 import Web3

from ledger.clients.base import ContractClient
from ledger.clients.certificates import (
    CertificateMarketClient,
    GreenCertificateClient,
    QuotaLedgerClient,
    token_id,
)
from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side
from ledger.clients.reputation import MAX_REPUTATION, ReputationLedgerClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, Period, TradingMarketClient
from ledger.identity import demo_bundle
from ledger.keystore import DEMO_NODE_BASE
from ledger.settings import DEMO_MNEMONIC
from node.optimizer import ListingOffer, Weights, unit_scores
from oracle import eip712
from oracle.dispatch import ChainTradeSource
from oracle.eip712 import node_total_leaf
from oracle.merkle import MerkleTree
from scripts.bench.common import (
    BenchChain,
    BenchError,
    Blaster,
    BlastResult,
    Call,
    DeadlineExceeded,
    Rpc,
    Signed,
    bench_chain,
    define_tariff,
    role,
)
from scripts.bench.report import Section
from scripts.dispatch_sim import security_check, sign_result
from scripts.meter_sim import METER_KEY_BASE
from ledger.scenario import (
    INTERVAL_S,
    INTERVALS_PER_DAY,
    Participant,
    Scenario,
    ViolationKind,
    generate,
)

KINDS = {
    "coal": NodeKind.COAL,
    "gas": NodeKind.GAS,
    "wind": NodeKind.WIND,
    "solar": NodeKind.SOLAR,
    "hydro": NodeKind.HYDRO,
    "biomass": NodeKind.BIOMASS,
    "storage": NodeKind.STORAGE,
    "retailer": NodeKind.RETAILER,
    "consumer": NodeKind.CONSUMER,
}
#: The demo's constants (scripts/market_day.py), so the bench day is the demo's day.
CREDIT = {lvl: i for i, lvl in enumerate(["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"])}
BLOCKS = [(0, 23), (24, 47), (48, 71), (72, 95)]
GRID_BASE, BALANCING_N, REMAINDER_N, SETTLER_N, FUND_N = 9000, 9100, 9101, 9102, 9103
RAMP_DOWN_FEN_PER_MWH, RAMP_UP_FEN_PER_MWH = 12_000, 45_000
QUOTA_WEIGHT_BPS, FINE_FEN_PER_MWH, CERT_PRICE_FEN = 1_800, 8_000, 3_000
BALANCING_FUNDS_FEN = 50_000_000_000
MIN_LISTING_WH = 1_000_000
MODE2_TAKERS = 4

#: Seconds the day may take; checked between slices, waves and phases (a stopped day reports
#: n/a, never an extrapolation). The full day takes about 4 minutes here (2 shared cores).
BUDGET_S = 600
#: Block gas limit during the day: a slice of a wave seals in one block. Anvil keeps a full
#: copy of the state per block for its last 256 blocks (``--prune-history 256``): at the
#: chain's 100M gas a block, the day's ~300 blocks took 12.5 GB of anvil memory.
DAY_BLOCK_GAS_LIMIT = 4_000_000_000
#: Transactions signed per slice (the sender thread sends and seals the previous one), raw
#: transactions and bytes of hex per JSON-RPC batch (anvil refuses bodies of a few MB),
#: blocks per ``eth_getLogs``, read-only calls per JSON-RPC batch.
SIGN_SLICE = 5_000
SEND_BATCH = 250
SEND_BATCH_BYTES = 1_000_000
LOG_BLOCKS = 20
READ_BATCH = 500
#: Per transaction: dispatch results, trades settled, trades counted; and their gas limit.
DISPATCH_PER_TX = 100
SETTLE_PER_TX = 40
COUNT_PER_TX = 100
BATCH_GAS = 40_000_000
#: Trades ``settleDeviation`` counts by itself (``SettlementEngine.AUTO_COUNT``).
AUTO_COUNT = 32
WH_PER_MWH = 1_000_000
BPS = 10_000

C = TypeVar("C", bound=ContractClient)
logger = logging.getLogger(__name__)


class OverBudget(Exception):  # noqa: N818 - a stop condition
    """The day did not finish within :data:`BUDGET_S`."""


# -- keys ----------------------------------------------------------------------------------

_SEED: bytes | None = None


def demo_node(n: int) -> LocalAccount:
    """Demo wallet ``node-<n>`` (the key :func:`ledger.keystore.demo_account` derives, from
    the mnemonic's seed computed once: thousands of keys in seconds, not minutes)."""
    global _SEED
    if _SEED is None:
        _SEED = bytes(seed_from_mnemonic(DEMO_MNEMONIC, ""))
    account: LocalAccount = Account.from_key(key_from_seed(_SEED, f"m/44'/60'/0'/0/{n}"))
    return account


# -- events ----------------------------------------------------------------------------------


def logs_of(receipt: dict[str, Any], abi: Abi[Any], event: str) -> list[dict[str, Any]]:
    """The ``event`` logs ``abi``'s contract emitted in ``receipt``."""
    topic, address = abi.topic(event), abi.address.lower()
    return [
        log
        for log in receipt["logs"]
        if log["address"].lower() == address and log["topics"][0] == topic
    ]


def first_id(receipt: dict[str, Any], abi: Abi[Any], event: str) -> int:
    """The first indexed argument of the first ``event`` log of ``abi``'s contract."""
    found = logs_of(receipt, abi, event)
    if not found:
        raise BenchError(f"no {event} in {receipt['transactionHash']}")
    return int(found[0]["topics"][1], 16)


def word(log: dict[str, Any], i: int) -> int:
    """Data word ``i`` (a static argument that is not indexed) of ``log``, unsigned."""
    data: str = log["data"][2:]
    return int(data[64 * i : 64 * (i + 1)], 16)


# -- the wave harness ----------------------------------------------------------------------


#: Events a wave's calls emit on success (contract, event name): the logs kept for them.
Witness = Sequence[tuple["Abi[Any]", str]]


class Waves:
    """Waves of independent transactions, pipelined: the main thread signs slices of the
    wave (Blaster: one nonce sequence per key) while a sender thread sends the previous
    slice in JSON-RPC batches and seals its block. Nothing waits for a receipt before the
    whole wave is out; then every transaction is checked (:meth:`_receipts`)."""

    def __init__(self, chain: BenchChain, deadline: float) -> None:
        self.chain = chain
        self.rpc: Rpc = chain.rpc()
        self.deadline = deadline
        self.blaster = Blaster(chain, threads=1, batch=SEND_BATCH)
        self.transactions = 0
        self.blocks = 0
        self.sign_s = 0.0
        self.send_s = 0.0
        self.seal_s = 0.0
        self.receipt_s = 0.0
        self.gas_used = 0
        #: Transactions without a witness log whose receipt was read (reverts, or a call
        #: that succeeded without emitting one of its wave's witness events).
        self.status_reads = 0

    def split(self) -> dict[str, float]:
        """Busy seconds so far signing, sending, sealing and reading receipts (signing
        overlaps sending and sealing)."""
        return {
            "sign": self.sign_s,
            "send": self.send_s,
            "seal": self.seal_s,
            "receipts": self.receipt_s,
        }

    def fresh_nonces(self) -> None:
        """Forget the cached nonces (after ledger clients sent with keys waves also use)."""
        self.blaster = Blaster(self.chain, threads=1, batch=SEND_BATCH)

    def _due(self) -> None:
        if time.monotonic() > self.deadline:
            raise DeadlineExceeded(f"deadline passed after {self.transactions} transactions")

    def run(self, calls: Sequence[Call], witness: Witness) -> list[dict[str, Any]]:
        """Sign, send, seal and check ``calls``; their receipts, in order, each with the
        logs of the ``witness`` events (every call emits at least one when it succeeds)."""
        if not calls:
            return []
        self._due()
        began = time.perf_counter()
        first_block = int(self.rpc.call("eth_blockNumber", []), 16) + 1
        slices: queue.Queue[list[Signed] | None] = queue.Queue(maxsize=2)
        errors: list[BaseException] = []

        def sender() -> None:
            while (part := slices.get()) is not None:
                if errors:
                    continue
                try:
                    t0 = time.perf_counter()
                    self._send(part)
                    t1 = time.perf_counter()
                    self._seal()
                    self.send_s += t1 - t0
                    self.seal_s += time.perf_counter() - t1
                except BaseException as exc:  # noqa: BLE001 - raised by run
                    errors.append(exc)

        signed: list[Signed] = []
        self.rpc.call("evm_setAutomine", [False])
        worker = threading.Thread(target=sender)
        worker.start()
        try:
            for start in range(0, len(calls), SIGN_SLICE):
                if errors:
                    break
                self._due()
                t0 = time.perf_counter()
                part = self.blaster.sign(calls[start : start + SIGN_SLICE])
                self.sign_s += time.perf_counter() - t0
                signed += part
                slices.put(part)
        finally:
            slices.put(None)
            worker.join()
            self.rpc.call("evm_setAutomine", [True])
        if errors:
            raise errors[0]
        t0 = time.perf_counter()
        receipts = self._receipts(signed, first_block, witness)
        self.receipt_s += time.perf_counter() - t0
        self.blaster.check(
            calls,
            BlastResult(receipts=receipts, sign_s=0.0, wall_s=time.perf_counter() - began),
        )
        self.transactions += len(calls)
        return receipts

    def one(self, call: Call, witness: Witness) -> dict[str, Any]:
        return self.run([call], witness)[0]

    def _send(self, signed: Sequence[Signed]) -> None:
        for chunk in _chunks(signed):
            self._due()
            replies = self.rpc.batch([("eth_sendRawTransaction", [s.raw]) for s in chunk])
            for s, r in zip(chunk, replies, strict=True):
                if "error" in r:
                    raise BenchError(f"node refused {s.tx_hash}: {r['error']}")

    def _seal(self) -> None:
        """Mine blocks until the pool is empty (each block as full as the gas limit allows)."""
        while True:
            status = self.rpc.call("txpool_status", [])
            pending, queued = int(status["pending"], 16), int(status["queued"], 16)
            if pending == 0:
                if queued:
                    raise BenchError(f"{queued} transactions wait behind a nonce gap")
                return
            self._due()
            self.rpc.call("evm_mine", [])
            self.blocks += 1

    def _receipts(
        self, signed: Sequence[Signed], first_block: int, witness: Witness
    ) -> list[dict[str, Any]]:
        """Receipt-like records of ``signed``: the block of each transaction (block
        headers), its ``witness`` logs (``eth_getLogs`` over the wave's blocks) and its
        status.

        Anvil builds a receipt in time linear in its block's size (a block's receipts in
        quadratic time: 3.5 s for a block of 3,000 registrations, minutes for a day of
        full blocks); filtered logs come in milliseconds and keep this process small. A
        transaction that reverts leaves no log and every call of a wave emits a witness
        event when it succeeds, so only a transaction without one has its receipt read,
        for its status.
        """
        last = int(self.rpc.call("eth_blockNumber", []), 16)
        block_of: dict[str, str] = {}
        numbers = [hex(b) for b in range(first_block, last + 1)]
        for start in range(0, len(numbers), READ_BATCH):
            replies = self.rpc.batch(
                [("eth_getBlockByNumber", [b, False]) for b in numbers[start : start + READ_BATCH]]
            )
            for r in replies:
                block = r.get("result")
                if not block:
                    raise BenchError(f"eth_getBlockByNumber: {r.get('error')}")
                self.gas_used += int(block["gasUsed"], 16)
                for tx_hash in block["transactions"]:
                    block_of[tx_hash] = block["number"]
        logs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        query = {
            "address": sorted({abi.address for abi, _ in witness}),
            "topics": [sorted({abi.topic(event) for abi, event in witness})],
        }
        for start in range(first_block, last + 1, LOG_BLOCKS):
            found = self.rpc.call(
                "eth_getLogs",
                [
                    {
                        **query,
                        "fromBlock": hex(start),
                        "toBlock": hex(min(last, start + LOG_BLOCKS - 1)),
                    }
                ],
            )
            for x in found:
                logs[x["transactionHash"]].append(
                    {"address": x["address"], "topics": x["topics"], "data": x["data"]}
                )
        out: list[dict[str, Any]] = []
        for s in signed:
            if s.tx_hash not in block_of:
                raise BenchError(f"{s.tx_hash} was not mined with its wave")
            mine = logs.pop(s.tx_hash, [])
            status = "0x1" if mine else self._status(s.tx_hash)
            out.append(
                {
                    "transactionHash": s.tx_hash,
                    "blockNumber": block_of[s.tx_hash],
                    "status": status,
                    "logs": mine,
                }
            )
        return out

    def _status(self, tx_hash: str) -> str:
        self.status_reads += 1
        receipt = self.rpc.call("eth_getTransactionReceipt", [tx_hash])
        if not receipt:
            raise BenchError(f"no receipt for {tx_hash}")
        return str(receipt["status"])


class Abi(Generic[C]):
    """Calldata of one contract's functions: the selector and ``eth_abi`` encoding of the
    arguments. The same bytes as :meth:`ContractClient.encode` (checked on each function's
    first call), without web3's per-call ABI resolution (about 5 ms a call here: minutes
    over a day's 100,000 transactions)."""

    def __init__(self, client: C) -> None:
        self.client = client
        self.address = client.address
        self._functions: dict[str, tuple[bytes, list[str]]] = {}
        self._topics: dict[str, str] = {}

    def __call__(self, fn: str, *args: Any) -> str:
        known = self._functions.get(fn)
        if known is not None:
            selector, types = known
            return "0x" + (selector + abi_encode(types, args)).hex()
        abi = self.client.contract.get_function_by_name(fn).abi
        selector, types = function_abi_to_4byte_selector(abi), get_abi_input_types(abi)
        data = "0x" + (selector + abi_encode(types, args)).hex()
        if data != self.client.encode(fn, *args):
            raise BenchError(f"{fn}: the fast encoding differs from web3's")
        self._functions[fn] = (selector, types)
        return data

    def topic(self, event: str) -> str:
        """topic0 of ``event`` (from the contract's ABI)."""
        known = self._topics.get(event)
        if known is None:
            abi = self.client.contract.events[event].abi
            known = self._topics[event] = "0x" + event_abi_to_log_topic(abi).hex()
        return known

    def outputs(self, fn: str) -> list[str]:
        """The ABI types ``fn`` returns."""
        return get_abi_output_types(self.client.contract.get_function_by_name(fn).abi)


def _chunks(items: Sequence[Signed]) -> Iterator[Sequence[Signed]]:
    """``items`` in runs of at most :data:`SEND_BATCH` transactions and
    :data:`SEND_BATCH_BYTES` of hex (anvil refuses larger request bodies)."""
    start, size = 0, 0
    for i, s in enumerate(items):
        if i > start and (i - start == SEND_BATCH or size + len(s.raw) > SEND_BATCH_BYTES):
            yield items[start:i]
            start, size = i, 0
        size += len(s.raw)
    if start < len(items):
        yield items[start:]


def read_many(rpc: Rpc, abi: Abi[Any], fn: str, args: Sequence[Sequence[Any]]) -> list[Any]:
    """``fn(*a)`` of ``abi``'s contract for every ``a`` in ``args``, in JSON-RPC batches
    (single return values unwrapped)."""
    types = abi.outputs(fn)
    out: list[Any] = []
    for start in range(0, len(args), READ_BATCH):
        calls = [
            ("eth_call", [{"to": abi.address, "data": abi(fn, *a)}, "latest"])
            for a in args[start : start + READ_BATCH]
        ]
        for r in rpc.batch(calls):
            if "error" in r:
                raise BenchError(f"{fn}: {r['error']}")
            values = abi_decode(types, bytes.fromhex(r["result"][2:]))
            out.append(values[0] if len(values) == 1 else values)
    return out


# -- the local book ------------------------------------------------------------------------


@dataclass
class Offer:
    """A listing as the takers see it (kept up to date locally while planning)."""

    id: int
    maker: int
    side: ListingSide
    block: int
    region: int
    remaining_wh: int
    min_take_wh: int
    price_fen_per_mwh: int
    carbon_g_per_kwh: int


@dataclass
class TradeRecord:
    id: int
    listing: int
    buyer: int
    seller: int
    block: int
    energy_wh: int
    executed_wh: int = 0


def fill(ranked: Sequence[Offer], taker: int, target_wh: int) -> list[tuple[Offer, int]]:
    """Greedy fill of ``target_wh`` over ``ranked`` (best first), updating what remains.

    A take is never below its listing's minimum, not even as a listing's last piece (the
    contract allows that only when it empties the listing, which depends on the order the
    takes of a wave are mined in).
    """
    need = target_wh
    out: list[tuple[Offer, int]] = []
    for o in ranked:
        if need <= 0:
            break
        if o.remaining_wh == 0 or o.maker == taker:
            continue
        q = min(need, o.remaining_wh)
        if q < o.min_take_wh:
            continue
        o.remaining_wh -= q
        need -= q
        out.append((o, q))
    return out


def rank(
    offers: Sequence[Offer],
    mode: int,
    transmission: dict[int, int],
    reputation: dict[int, float],
) -> list[Offer]:
    """``offers`` in the order of the optimiser's unit score (best first);
    ``transmission``: stamp sum of the cheapest route per counterparty region."""
    book = [
        ListingOffer(
            listing_id=o.id,
            mode=1 if mode == 1 else 2,
            available_wh=o.remaining_wh,
            min_take_wh=o.min_take_wh,
            price_fen_per_mwh=o.price_fen_per_mwh,
            transmission_rate_fen_per_mwh=transmission[o.region] if mode == 1 else 0,
            reputation=reputation[o.maker],
            carbon_g_per_kwh=float(o.carbon_g_per_kwh) if mode == 1 else 0.0,
        )
        for o in offers
    ]
    scores = unit_scores(book, 1 if mode == 1 else 2, Weights())
    # Ties by maker, not by listing id: ids follow the order a wave was mined in.
    order = sorted(
        range(len(offers)), key=lambda i: (scores[i].total, offers[i].maker, offers[i].block)
    )
    return [offers[i] for i in order]


# -- the day -------------------------------------------------------------------------------


@dataclass
class DayFacts:
    """What the day produced."""

    nodes: int = 0
    meters: int = 0
    listings: int = 0
    listings_cancelled: int = 0
    trades: int = 0
    traded_wh: int = 0
    executed_wh: int = 0
    curtailed_wh: int = 0
    node_totals: int = 0
    trades_settled: int = 0
    trades_failed: int = 0
    seller_income_fen: int = 0
    transmission_fees_fen: int = 0
    refunds_fen: int = 0
    deviation_nodes: int = 0
    deviation_paid_fen: int = 0
    deviation_received_fen: int = 0
    withdrawals: int = 0
    ratings: int = 0
    surveillance: str = ""
    surveillance_read_s: float = 0.0
    surveillance_scan_s: float = 0.0
    skipped: list[str] = field(default_factory=list)
    certificates_issued: int = 0
    trades_covered: int = 0
    certificates_bought: int = 0
    parties_assessed: int = 0
    parties_fined: int = 0
    conserved: bool = False
    total_supply_fen: int = 0
    accounted_fen: int = 0
    phases_s: dict[str, float] = field(default_factory=dict)
    phase_transactions: dict[str, int] = field(default_factory=dict)
    phase_split_s: dict[str, dict[str, float]] = field(default_factory=dict)
    phase_peak_rss_mb: dict[str, dict[str, int | None]] = field(default_factory=dict)
    running: str = "setup"


class Day:
    """One delivery day of ``scenario`` on ``chain`` (see the module docstring)."""

    def __init__(
        self, chain: BenchChain, scenario: Scenario, began: float, facts: DayFacts
    ) -> None:
        self.chain = chain
        self.ctx = chain.ctx
        self.scenario = scenario
        self.people = scenario.participants
        self.began = began
        self.facts = facts
        self.waves = Waves(chain, time.monotonic() + BUDGET_S - (time.perf_counter() - began))
        self.rpc = chain.rpc()
        self.accounts: dict[int, LocalAccount] = {}
        self.index_of: dict[str, int] = {}
        self.period: Period | None = None
        self.offers: dict[int, Offer] = {}
        self.trades: list[TradeRecord] = []
        self.settled: list[TradeRecord] = []
        self.import_wh: dict[int, int] = {}
        self.export_wh: dict[int, int] = {}
        #: Transactions of the running phase sent by ledger clients, not by waves.
        self._extra = 0
        self._abis: dict[type[ContractClient], Abi[Any]] = {}

    # ---------------------------------------------------------------- helpers

    def address(self, contract: str) -> str:
        return self.ctx.manifest.address(contract)

    def client(self, cls: type[C], account: LocalAccount) -> C:
        return self.ctx.client(cls, account)

    def abi(self, cls: type[C]) -> Abi[C]:
        """The (cached) encoder of ``cls``'s contract."""
        known = self._abis.get(cls)
        if known is None:
            known = self._abis[cls] = Abi(self.client(cls, role("OPERATOR")))
        found: Abi[C] = known
        return found

    def node(self, n: int) -> LocalAccount:
        return demo_node(DEMO_NODE_BASE + n)

    def chain_time(self) -> int:
        return int(self.rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def set_time(self, ts: int) -> None:
        """Move the chain's clock to ``ts`` (never backwards) and mine a block."""
        if ts > self.chain_time():
            self.rpc.call("evm_setNextBlockTimestamp", [ts])
        self.rpc.call("evm_mine", [])

    def the_period(self) -> Period:
        if self.period is None:
            raise BenchError("no period opened")
        return self.period

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        self.facts.running = name
        before = self.waves.transactions
        split = self.waves.split()
        self._extra = 0
        yield
        now = time.perf_counter()
        self.facts.phases_s[name] = now - t0
        self.facts.phase_transactions[name] = self.waves.transactions - before + self._extra
        self.facts.phase_split_s[name] = {
            k: round(v - split[k], 2) for k, v in self.waves.split().items()
        }
        anvil_mb = self.chain.anvil_peak_rss_mb()
        self.facts.phase_peak_rss_mb[name] = {
            "bench": round(_peak_rss_mb()),
            "anvil": round(anvil_mb) if anvil_mb is not None else None,
        }
        logger.info(
            "market day: %s %.1f s, %d tx %s, peak RSS %s MB",
            name,
            self.facts.phases_s[name],
            self.facts.phase_transactions[name],
            self.facts.phase_split_s[name],
            self.facts.phase_peak_rss_mb[name],
        )
        if now - self.began > BUDGET_S:
            raise OverBudget(
                f"stopped after phase {name!r}: {now - self.began:.0f} s > the {BUDGET_S} s "
                f"budget (phases done: {', '.join(self.facts.phases_s)})"
            )

    def run(self) -> None:
        self.rpc.call("evm_setBlockGasLimit", [hex(DAY_BLOCK_GAS_LIMIT)])
        for name, step in (
            ("tariffs", self.tariffs),
            ("onboarding", self.onboard),
            ("meters", self.register_meters),
            ("period", self.open_period),
            ("posting", self.post),
            ("taking", self.take),
            ("dispatch", self.dispatch),
            ("metering", self.metering),
            ("settlement", self.settle),
            ("ratings", self.ratings),
            ("surveillance", self.surveillance),
            ("certificates", self.certificates),
            ("conservation", self.conservation),
        ):
            with self.phase(name):
                step()

    # ---------------------------------------------------------------- stages

    def tariffs(self) -> None:
        define_tariff(
            self.chain,
            {r.id: r.stamp_rate_fen_per_mwh for r in self.scenario.regions},
            [(c.a, c.b) for c in self.scenario.corridors],
            {r.id: r.name for r in self.scenario.regions},
        )
        self._extra = 2 * len(self.scenario.regions) + len(self.scenario.corridors)

    @staticmethod
    def day_value_fen(p: Participant) -> int:
        return sum(p.profile_wh) * p.price_fen_per_mwh // WH_PER_MWH

    def onboard(self) -> None:
        for p in self.people:
            self.accounts[p.index] = self.node(p.index + 1)
            self.index_of[self.accounts[p.index].address] = p.index
        reg = self.abi(NodeRegistryClient)
        token = self.abi(SettlementTokenClient)
        verifier, bank, agency = role("VERIFIER"), role("CLEARING_BANK"), role("CREDIT_AGENCY")
        market, engine = self.address("TradingMarket"), self.address("SettlementEngine")
        table = reg.client.bond_table()
        licences = {
            k: reg.client.required_qualifications(KINDS[k]) for k in {p.kind for p in self.people}
        }
        expires = self.chain_time() + 365 * 86_400
        apply: list[Call] = []
        review: list[Call] = []
        licensing: list[Call] = []
        for p in self.people:
            me, n = self.accounts[p.index], p.index + 1
            seller = p.side == "seller"
            value = self.day_value_fen(p)
            bond = table[CREDIT[p.credit_level]] + (value // 5 if seller else 0)
            funds = (value // 10 if seller else value * 2) + 1_000_000
            bundle = demo_bundle(n)
            apply.append(
                Call(
                    me,
                    reg.address,
                    reg(
                        "register",
                        int(KINDS[p.kind]),
                        int(Side.SELLER if seller else Side.BUYER),
                        p.region,
                        p.capacity_kw,
                        p.carbon_g_per_kwh,
                        bundle.entity_hash,
                        bundle.bundle_hash,
                    ),
                )
            )
            for ref, amount in ((f"bench-bond/{n}", bond), (f"bench-funds/{n}", funds)):
                apply.append(
                    Call(
                        bank,
                        token.address,
                        token("mint", me.address, amount, Web3.keccak(text=ref)),
                    )
                )
            review.append(Call(verifier, reg.address, reg("approveNode", me.address)))
            review.append(
                Call(
                    agency,
                    reg.address,
                    reg("setCreditLevel", me.address, CREDIT[p.credit_level]),
                )
            )
            for licence in licences[p.kind]:
                number = Web3.keccak(text=f"bench-licence-{n}-{licence.hex()}")
                review.append(
                    Call(
                        me,
                        reg.address,
                        reg("submitQualification", licence, number, expires),
                    )
                )
                licensing.append(
                    Call(
                        verifier,
                        reg.address,
                        reg("approveQualification", me.address, licence),
                    )
                )
            review += [
                Call(me, token.address, token("approve", reg.address, bond)),
                Call(me, reg.address, reg("depositBond", bond)),
                Call(me, token.address, token("approve", market, 2**255)),
                Call(me, token.address, token("approve", engine, 2**255)),
            ]
        self.waves.run(apply, [(reg, "NodeApplied"), (token, "Minted")])
        self.waves.run(
            review,
            [
                (reg, "NodeApproved"),
                (reg, "CreditLevelSet"),
                (reg, "QualificationSubmitted"),
                (reg, "BondDeposited"),
                (token, "Approval"),
            ],
        )
        self.waves.run(licensing, [(reg, "QualificationApproved")])
        ok = read_many(self.rpc, reg, "canTrade", [(a.address,) for a in self.accounts.values()])
        if not all(ok):
            raise BenchError(f"{ok.count(False)} nodes cannot trade after onboarding")
        self.facts.nodes = len(self.people)

    def register_meters(self) -> None:
        oracle = self.abi(MeterOracleClient)
        operator = role("OPERATOR")
        calls: list[Call] = []
        n = 0
        for p in self.people:
            count = max(1, p.meters)
            per_meter_w = max(1_000, p.capacity_kw * 1000 // count)
            for k in range(count):
                label = f"MP-{p.index + 1:05d}-{k:03d}"
                signer = demo_node(METER_KEY_BASE + n).address
                calls.append(
                    Call(
                        operator,
                        oracle.address,
                        oracle(
                            "registerMeter",
                            eip712.meter_id_bytes(label),
                            self.accounts[p.index].address,
                            signer,
                            per_meter_w,
                        ),
                    )
                )
                n += 1
        self.waves.run(calls, [(oracle, "MeterRegistered")])
        self.facts.meters = n

    def open_period(self) -> None:
        market = self.abi(TradingMarketClient)
        now = self.chain_time()
        delivery = (now // 3600 + 2) * 3600
        receipt = self.waves.one(
            Call(
                role("OPERATOR"),
                market.address,
                market(
                    "openPeriod",
                    delivery,
                    INTERVAL_S,
                    INTERVALS_PER_DAY,
                    now + 1,
                    now + 1,
                    delivery - 900,
                ),
            ),
            [(market, "PeriodOpened")],
        )
        period_id = first_id(receipt, market, "PeriodOpened")
        self.period = market.client.period(period_id)
        self.set_time(now + 2)

    def post(self) -> None:
        period = self.the_period()
        market = self.abi(TradingMarketClient)
        calls: list[Call] = []
        drafts: list[Offer] = []
        for p in self.people:
            me = self.accounts[p.index]
            wanted: list[tuple[ListingSide, int, int, int]] = []
            if p.side == "seller":
                for b, (first, last) in enumerate(BLOCKS):
                    energy = sum(p.profile_wh[first : last + 1]) * 9 // 10
                    if energy >= MIN_LISTING_WH:
                        wanted.append((ListingSide.SELL, b, energy, energy // 50))
            elif p.kind == "retailer":
                first, last = BLOCKS[0]
                energy = sum(p.profile_wh[first : last + 1]) // 3
                if energy >= MIN_LISTING_WH:
                    wanted.append((ListingSide.BUY, 0, energy, energy // 10))
            for side, b, energy, min_take in wanted:
                first, last = BLOCKS[b]
                calls.append(
                    Call(
                        me,
                        market.address,
                        market(
                            "post",
                            int(side),
                            period.id,
                            first,
                            last,
                            energy,
                            p.price_fen_per_mwh,
                            min_take,
                            0,
                            b"\x00" * 32,
                        ),
                    )
                )
                drafts.append(
                    Offer(
                        id=0,
                        maker=p.index,
                        side=side,
                        block=b,
                        region=p.region,
                        remaining_wh=energy,
                        min_take_wh=min_take,
                        price_fen_per_mwh=p.price_fen_per_mwh,
                        carbon_g_per_kwh=p.carbon_g_per_kwh,
                    )
                )
        posted = self.waves.run(calls, [(market, "ListingPosted")])
        for offer, receipt in zip(drafts, posted, strict=True):
            offer.id = first_id(receipt, market, "ListingPosted")
            self.offers[offer.id] = offer
        self.facts.listings = len(drafts)

    def take(self) -> None:
        market = self.abi(TradingMarketClient)
        tariff = self.client(TransmissionTariffClient, role("OPERATOR"))
        reps = self.client(ReputationLedgerClient, role("OPERATOR"))
        # Withholders list big and delist before anyone can take (list-and-cancel).
        withheld = [
            o
            for o in self.offers.values()
            if self.people[o.maker].violation == ViolationKind.WITHHOLDING
        ]
        self.waves.run(
            [
                Call(self.accounts[o.maker], market.address, market("cancel", o.id))
                for o in withheld
            ],
            [(market, "ListingCancelled")],
        )
        for o in withheld:
            o.remaining_wh = 0
        self.facts.listings_cancelled = len(withheld)
        addresses = [self.accounts[p.index].address for p in self.people]
        reputation = {i: v / MAX_REPUTATION for i, v in enumerate(reps.reputations_of(addresses))}
        regions = sorted({r.id for r in self.scenario.regions})
        route: dict[tuple[int, int], int] = {}
        for a in regions:
            for b in regions:
                route[(a, b)] = tariff.cheapest_route(a, b).sum_rate_fen_per_mwh
        plans: list[tuple[int, Offer, int]] = []  # (taker, listing, energy)
        # Mode 2: sellers take the retailers' bids (a quarter of their first block each).
        bids = [o for o in self.offers.values() if o.side == ListingSide.BUY]
        ranked_bids = rank(bids, 2, {}, reputation)
        sellers = [p for p in self.people if p.side == "seller"][:MODE2_TAKERS]
        for s in sellers:
            target = sum(s.profile_wh[:24]) // 4
            plans += [(s.index, o, q) for o, q in fill(ranked_bids, s.index, target)]
        # Mode 1: every buyer covers 80 % of each block's demand.
        ranked: dict[tuple[int, int], list[Offer]] = {}
        for b in range(len(BLOCKS)):
            book = [
                o
                for o in self.offers.values()
                if o.side == ListingSide.SELL and o.block == b and o.remaining_wh > 0
            ]
            for r in regions:
                ranked[(b, r)] = rank(book, 1, {x: route[(x, r)] for x in regions}, reputation)
        for p in self.people:
            if p.side != "buyer":
                continue
            for b, (first, last) in enumerate(BLOCKS):
                target = sum(p.profile_wh[first : last + 1]) * 4 // 5
                plans += [(p.index, o, q) for o, q in fill(ranked[(b, p.region)], p.index, target)]
        calls = [
            Call(self.accounts[taker], market.address, market("take", o.id, q, 0))
            for taker, o, q in plans
        ]
        formed = self.waves.run(calls, [(market, "TradeCreated")])
        for (taker, o, q), receipt in zip(plans, formed, strict=True):
            (log,) = logs_of(receipt, market, "TradeCreated")
            buyer, seller = (taker, o.maker) if o.side == ListingSide.SELL else (o.maker, taker)
            self.trades.append(
                TradeRecord(
                    id=int(log["topics"][1], 16),
                    listing=o.id,
                    buyer=buyer,
                    seller=seller,
                    block=o.block,
                    energy_wh=q,
                )
            )
        self.facts.trades = len(self.trades)
        self.facts.traded_wh = sum(t.energy_wh for t in self.trades)
        if len({t.id for t in self.trades}) != len(plans):
            raise BenchError("not every take formed a trade")

    def dispatch(self) -> None:
        period = self.the_period()
        self.set_time(period.taking_closes_at + 1)
        trades = ChainTradeSource.from_context(self.ctx, role("DISPATCH")).trades(period.id)
        corridors = {(str(c.a), str(c.b)): float(c.limit_mw) for c in self.scenario.corridors}
        results = security_check(trades, corridors)
        contract = self.address("DispatchResults")
        key = role("DISPATCH")
        signed = [sign_result(key, r, self.waves.blaster.chain_id, contract) for r in results]
        relay = role("METER_ORACLE")
        desk = self.abi(DispatchResultsClient)
        calls = []
        for start in range(0, len(signed), DISPATCH_PER_TX):
            chunk = signed[start : start + DISPATCH_PER_TX]
            rows = [
                (
                    s.result.trade_id,
                    s.result.period,
                    s.result.executed_wh,
                    s.result.curtailed_wh,
                    s.result.reason_code,
                )
                for s in chunk
            ]
            sigs = [bytes.fromhex(s.signature.removeprefix("0x")) for s in chunk]
            calls.append(
                Call(relay, desk.address, desk("submitResults", rows, sigs), gas=BATCH_GAS)
            )
        self.waves.run(calls, [(desk, "DispatchResultRecorded")])
        executed = {r.trade_id: r.executed_wh for r in results}
        if set(executed) != {t.id for t in self.trades}:
            raise BenchError("the trades dispatch read are not the trades the day formed")
        for t in self.trades:
            t.executed_wh = executed[t.id]
        self.facts.executed_wh = sum(r.executed_wh for r in results)
        self.facts.curtailed_wh = sum(r.curtailed_wh for r in results)

    def metering(self) -> None:
        """The demo's meters, summed per node: executed contracted energy per quarter-hour
        with noise (abusers 25 % over), capped at each meter's capacity."""
        period = self.the_period()
        rng = random.Random(self.scenario.seed)
        contracted: dict[int, list[int]] = defaultdict(lambda: [0] * INTERVALS_PER_DAY)
        for t in self.trades:
            first, last = BLOCKS[t.block]
            n = last - first + 1
            for k in range(first, last + 1):
                share = t.executed_wh // n + (1 if k - first < t.executed_wh % n else 0)
                contracted[t.seller][k] += share
                contracted[t.buyer][k] -= share
        for p in self.people:
            self.import_wh[p.index] = self.export_wh[p.index] = 0
        for k in range(INTERVALS_PER_DAY):
            for p in self.people:
                net = contracted[p.index][k]
                skew = 1.0 + rng.gauss(0, 0.03)
                if p.violation == ViolationKind.DEVIATION_ABUSE:
                    skew *= 1.25
                count = max(1, p.meters)
                cap_wh = max(1_000, p.capacity_kw * 1000 // count) * INTERVAL_S // 3600
                value = min(int(abs(net) * skew) // count, cap_wh) * count
                if net > 0:
                    self.export_wh[p.index] += value
                else:
                    self.import_wh[p.index] += value
        self.set_time(period.delivery_end + self.ctx.settings.oracle_max_age_s + 60)
        rows: list[tuple[str, int, int, int, int, bytes]] = []
        for p in self.people:
            node = self.accounts[p.index].address
            rows.append(
                (
                    node,
                    period.id,
                    self.import_wh[p.index],
                    self.export_wh[p.index],
                    max(1, p.meters) * INTERVALS_PER_DAY,
                    bytes(Web3.keccak(text=f"bench-readings/{period.id}/{node}")),
                )
            )
        tree = MerkleTree([node_total_leaf(*r) for r in rows])
        relay = role("METER_ORACLE")
        oracle = self.abi(MeterOracleClient)
        calls = [
            Call(
                relay,
                oracle.address,
                oracle("postPeriod", period.id, tree.root, len(rows), sum(r[4] for r in rows)),
            )
        ]
        calls += [
            Call(relay, oracle.address, oracle("submitNodeTotal", r, tree.proof(i)))
            for i, r in enumerate(rows)
        ]
        self.waves.run(calls, [(oracle, "PeriodPosted"), (oracle, "NodeTotalRecorded")])
        self.facts.node_totals = len(rows)

    def settle(self) -> None:
        period = self.the_period()
        operator, bank, dispatch = role("OPERATOR"), role("CLEARING_BANK"), role("DISPATCH")
        balancing, settler = self.node(BALANCING_N), self.node(SETTLER_N)
        engine = self.abi(SettlementEngineClient)
        token = self.abi(SettlementTokenClient)
        results = self.abi(DispatchResultsClient)
        opens = self.chain_time() + 30
        setup = [
            Call(
                operator,
                engine.address,
                engine("setGridAccount", r.id, self.node(GRID_BASE + r.id).address),
            )
            for r in self.scenario.regions
        ]
        setup += [
            Call(operator, engine.address, engine("setBalancingAccount", balancing.address)),
            Call(
                operator,
                engine.address,
                engine("setRemainderAccount", self.node(REMAINDER_N).address),
            ),
            Call(
                bank,
                token.address,
                token(
                    "mint",
                    balancing.address,
                    BALANCING_FUNDS_FEN,
                    Web3.keccak(text=f"bench-balancing/{period.id}"),
                ),
            ),
            Call(balancing, token.address, token("approve", engine.address, 2**255)),
            Call(
                dispatch,
                engine.address,
                engine("setDeviationRates", period.id, RAMP_DOWN_FEN_PER_MWH, RAMP_UP_FEN_PER_MWH),
            ),
            Call(
                operator,
                results.address,
                results("setSettlementOpensAt", period.id, opens),
            ),
        ]
        self.waves.run(
            setup,
            [
                (engine, "GridAccountSet"),
                (engine, "BalancingAccountSet"),
                (engine, "RemainderAccountSet"),
                (engine, "DeviationRatesSet"),
                (token, "Minted"),
                (token, "Approval"),
                (results, "SettlementScheduled"),
            ],
        )
        self.set_time(opens + 1)
        ids = sorted(t.id for t in self.trades)
        batches = [
            Call(
                settler,
                engine.address,
                engine("settleBatch", ids[i : i + SETTLE_PER_TX]),
                gas=BATCH_GAS,
            )
            for i in range(0, len(ids), SETTLE_PER_TX)
        ]
        settled: set[int] = set()
        by_id = {t.id: t for t in self.trades}
        witness = [
            (engine, "TradeSettled"),
            (engine, "SellerPaid"),
            (engine, "TransmissionFeePaid"),
            (engine, "BuyerRefunded"),
        ]
        for receipt in self.waves.run(batches, witness):
            for log in logs_of(receipt, engine, "TradeSettled"):
                self.facts.trades_settled += 1
                if word(log, 6):
                    self.facts.trades_failed += 1
                else:
                    settled.add(int(log["topics"][1], 16))
            self.facts.seller_income_fen += sum(
                word(x, 2) for x in logs_of(receipt, engine, "SellerPaid")
            )
            self.facts.transmission_fees_fen += sum(
                word(x, 2) for x in logs_of(receipt, engine, "TransmissionFeePaid")
            )
            self.facts.refunds_fen += sum(
                word(x, 1) for x in logs_of(receipt, engine, "BuyerRefunded")
            )
        if self.facts.trades_settled != len(ids):
            raise BenchError(f"{len(ids) - self.facts.trades_settled} trades not settled")
        self.settled = [by_id[i] for i in sorted(settled)]
        # Deviations (formulas 2 and 3) of every node that traded; long trade lists are
        # counted page by page first (settleDeviation counts AUTO_COUNT by itself).
        trades_of: dict[int, int] = defaultdict(int)
        for t in self.trades:
            trades_of[t.buyer] += 1
            trades_of[t.seller] += 1
        counts = [
            Call(
                settler,
                engine.address,
                engine("countTrades", self.accounts[i].address, COUNT_PER_TX),
                gas=BATCH_GAS,
            )
            for i in sorted(trades_of)
            for _ in range(-(-max(0, trades_of[i] - AUTO_COUNT) // COUNT_PER_TX))
        ]
        self.waves.run(counts, [(engine, "TradesCounted")])
        deviations = [
            Call(
                settler,
                engine.address,
                engine("settleDeviation", self.accounts[i].address, period.id),
                gas=BATCH_GAS,
            )
            for i in sorted(trades_of)
        ]
        for receipt in self.waves.run(deviations, [(engine, "DeviationSettled")]):
            for log in logs_of(receipt, engine, "DeviationSettled"):
                self.facts.deviation_nodes += 1
                if word(log, 3):
                    self.facts.deviation_paid_fen += word(log, 5)
                else:
                    self.facts.deviation_received_fen += word(log, 5)
        # Everyone with a credit withdraws it (sellers' income, refunds, the grid's fees).
        holders = [self.accounts[p.index] for p in self.people]
        holders += [self.node(GRID_BASE + r.id) for r in self.scenario.regions]
        claimable = read_many(self.rpc, engine, "claimableOf", [(a.address,) for a in holders])
        withdrawals = [
            Call(a, engine.address, engine("withdraw"))
            for a, amount in zip(holders, claimable, strict=True)
            if amount
        ]
        self.waves.run(withdrawals, [(engine, "Withdrawn")])
        self.facts.withdrawals = len(withdrawals)

    def ratings(self) -> None:
        """Both parties of every settled trade rate each other (1-5), as the demo does."""
        rng = random.Random(self.scenario.seed + 7)
        desk = self.abi(ReputationLedgerClient)
        calls = []
        for t in self.settled:
            for rater, ratee in ((t.buyer, t.seller), (t.seller, t.buyer)):
                score = _score(rng, self.people[rater], self.people[ratee])
                calls.append(
                    Call(
                        self.accounts[rater],
                        desk.address,
                        desk("rate", t.id, score, b"\x00" * 32),
                    )
                )
        self.waves.run(calls, [(desk, "RatingSubmitted")])
        self.facts.ratings = len(calls)

    def surveillance(self) -> None:
        """The demo's surveillance stage: score every node with the shipped model on the
        day's chain history; file, answer and rule a report only above the threshold."""
        from ledger.clients.surveillance import SurveillanceDeskClient
        from node.surveillance import onchain
        from node.surveillance.chain import ChainHistorySource
        from node.surveillance.history import collect
        from node.surveillance.model import SurveillanceModel
        from node.surveillance.scan import build_report, scan

        if "SurveillanceDesk" not in self.ctx.manifest.contracts:
            self.facts.skipped.append("surveillance")
            return
        period = self.the_period()
        model = SurveillanceModel.load()
        regulator = self.client(SurveillanceDeskClient, role("REGULATOR"))
        sent = 0
        if not regulator.is_model_registered(model.model_id):
            onchain.register_model(regulator, model)
            sent += 1
        threshold = regulator.model_info(model.model_id).threshold_ppm
        t0 = time.perf_counter()
        history = collect(ChainHistorySource(self.ctx, role("REGULATOR")), period.id, period.id)
        t1 = time.perf_counter()
        result = scan(history, model)
        self.facts.surveillance_read_s = round(t1 - t0, 2)
        self.facts.surveillance_scan_s = round(time.perf_counter() - t1, 2)
        flagged = sum(1 for r in result.rows if r.score_ppm >= threshold)
        top = result.rows[0] if result.rows else None
        top_score = top.score_ppm if top else 0
        outcome = (
            f"{len(result.rows)} nodes scored, {flagged} at or above the threshold "
            f"{threshold} ppm, top score {top_score} ppm"
        )
        accused = self.index_of.get(top.node) if top is not None else None
        if top is None or top_score < threshold or accused is None:
            self.facts.surveillance = outcome + "; no report filed"
        else:
            report = build_report(history, top.node, model)
            reporter = next(
                (p for p in self.people if p.index != accused and p.violation is None), None
            )
            if reporter is None or not onchain.evidence_trade_ids(report):
                self.facts.surveillance = outcome + "; no report filed (no evidence)"
            else:
                desk = self.client(SurveillanceDeskClient, self.accounts[reporter.index])
                filed = onchain.file_report(desk, report)
                self.client(SurveillanceDeskClient, self.accounts[accused]).respond(
                    filed.report_id,
                    onchain.document_hash(text=f"response to report #{filed.report_id}"),
                )
                confirmed = self.people[accused].violation is not None
                onchain.rule(
                    regulator,
                    filed.report_id,
                    confirmed=confirmed,
                    reason_hash=onchain.document_hash(text=f"report #{filed.report_id}"),
                    penalty_fen=500_000 if confirmed else 0,
                    reputation_points=50 if confirmed else 0,
                )
                sent += 3
                self.facts.surveillance = (
                    f"{outcome}; report #{filed.report_id} on {self.people[accused].name} "
                    f"{'confirmed' if confirmed else 'dismissed'}"
                )
        self._extra = sent
        # The ledger clients sent with their own nonce manager: start the waves' afresh.
        self.waves.fresh_nonces()

    def certificates(self) -> None:
        if "QuotaLedger" not in self.ctx.manifest.contracts:
            self.facts.skipped.append("certificates")
            return
        period = self.the_period()
        regulator, anyone = role("REGULATOR"), self.node(SETTLER_N)
        quota = self.abi(QuotaLedgerClient)
        certs = self.abi(GreenCertificateClient)
        cert_market = self.abi(CertificateMarketClient)
        token = self.abi(SettlementTokenClient)
        deadline = self.chain_time() + 3600
        self.waves.run(
            [
                Call(
                    regulator,
                    quota.address,
                    quota("setQuota", period.id, QUOTA_WEIGHT_BPS, deadline, FINE_FEN_PER_MWH),
                ),
                Call(
                    regulator,
                    quota.address,
                    quota("setFundAccount", self.node(FUND_N).address),
                ),
            ],
            [(quota, "QuotaSet"), (quota, "FundAccountSet")],
        )
        green = [p for p in self.people if p.kind in ("wind", "solar")]
        issued = self.waves.run(
            [
                Call(
                    anyone,
                    certs.address,
                    certs("issue", self.accounts[p.index].address, period.id),
                )
                for p in green
            ],
            [(certs, "CertificatesIssued")],
        )
        self.facts.certificates_issued = sum(
            word(log, 1) for r in issued for log in logs_of(r, certs, "CertificatesIssued")
        )
        green_nodes = {p.index for p in green}
        covered = self.waves.run(
            [
                Call(anyone, quota.address, quota("coverTrade", t.id))
                for t in self.settled
                if t.seller in green_nodes
            ],
            [(quota, "TradeCovered")],
        )
        self.facts.trades_covered = len(covered)
        # One-way listing: generators post what they still hold.
        tids = {
            p.index: token_id(int(KINDS[p.kind]), self.accounts[p.index].address, period.id)
            for p in green
        }
        held = read_many(
            self.rpc,
            certs,
            "balanceOf",
            [(self.accounts[p.index].address, tids[p.index]) for p in green],
        )
        holders = [(p, amount) for p, amount in zip(green, held, strict=True) if amount]
        posts: list[Call] = []
        for p, amount in holders:
            me = self.accounts[p.index]
            posts.append(
                Call(me, certs.address, certs("setApprovalForAll", cert_market.address, True))
            )
            posts.append(
                Call(
                    me,
                    cert_market.address,
                    cert_market("post", tids[p.index], amount, CERT_PRICE_FEN, 0),
                )
            )
        receipts = self.waves.run(
            posts, [(certs, "ApprovalForAll"), (cert_market, "CertificateListingPosted")]
        )
        listings = [
            [first_id(r, cert_market, "CertificateListingPosted"), tids[p.index], amount]
            for (p, amount), r in zip(holders, receipts[1::2], strict=True)
        ]
        listings.sort()
        # Short parties (violators excepted: they are left to be fined) take and retire.
        buyers = [p for p in self.people if p.side == "buyer"]
        covered_wh = read_many(
            self.rpc,
            quota,
            "coveredWhOf",
            [(self.accounts[p.index].address, period.id) for p in buyers],
        )
        buys: list[Call] = []
        bought = 0
        for p, cover in zip(buyers, covered_wh, strict=True):
            obligation = self.import_wh[p.index] * QUOTA_WEIGHT_BPS // BPS
            need = -(-max(0, obligation - int(cover)) // WH_PER_MWH)
            if need <= 0 or p.violation is not None:
                continue
            me = self.accounts[p.index]
            for listing in listings:
                if need <= 0:
                    break
                lid, tid, remaining = listing
                amount = min(need, remaining)
                if amount == 0:
                    continue
                listing[2] = remaining - amount
                buys += [
                    Call(
                        me,
                        token.address,
                        token("approve", cert_market.address, amount * CERT_PRICE_FEN),
                    ),
                    Call(
                        me,
                        cert_market.address,
                        cert_market("take", lid, amount, CERT_PRICE_FEN),
                    ),
                    Call(
                        me,
                        quota.address,
                        quota("retire", tid, amount, me.address, period.id),
                    ),
                ]
                need -= amount
                bought += amount
        self.waves.run(
            buys,
            [(token, "Approval"), (cert_market, "CertificatesTaken"), (quota, "CoverageCredited")],
        )
        self.facts.certificates_bought = bought
        self.set_time(deadline + 1)
        assessed = self.waves.run(
            [
                Call(
                    anyone,
                    quota.address,
                    quota("assess", self.accounts[p.index].address, period.id),
                )
                for p in buyers
            ],
            [(quota, "ComplianceAssessed")],
        )
        self.facts.parties_assessed = len(assessed)
        self.facts.parties_fined = sum(
            1 for r in assessed for log in logs_of(r, quota, "ComplianceAssessed") if word(log, 3)
        )

    def known_accounts(self) -> list[str]:
        out = [a.address for a in self.accounts.values()]
        out += [self.node(GRID_BASE + r.id).address for r in self.scenario.regions]
        out += [self.node(n).address for n in (BALANCING_N, REMAINDER_N, SETTLER_N, FUND_N)]
        out += [
            role(name).address
            for name in (
                "ADMIN",
                "OPERATOR",
                "VERIFIER",
                "REGULATOR",
                "DISPATCH",
                "METER_ORACLE",
                "CREDIT_AGENCY",
                "CLEARING_BANK",
            )
        ]
        return sorted(set(out))

    def conservation(self) -> None:
        """Total supply against every wallet plus what each contract holds, to the fen."""
        token = self.abi(SettlementTokenClient)
        holders = self.known_accounts()
        holders += [c.address for c in self.ctx.manifest.contracts.values()]
        balances = read_many(self.rpc, token, "balanceOf", [(a,) for a in holders])
        self.facts.total_supply_fen = token.client.total_supply()
        self.facts.accounted_fen = sum(int(b) for b in balances)
        self.facts.conserved = self.facts.total_supply_fen == self.facts.accounted_fen
        if not self.facts.conserved:
            raise BenchError(
                f"settlement token not conserved: supply {self.facts.total_supply_fen} fen, "
                f"accounted {self.facts.accounted_fen} fen"
            )


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux: ru_maxrss in KiB), MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _score(rng: random.Random, me: Participant, other: Participant) -> int:
    """The demo's rating of ``other`` by ``me`` (rings praise each other, abusers get low)."""
    if me.violation == ViolationKind.RATING_RING:
        return 5 if other.ring == me.ring else 1
    if other.violation == ViolationKind.DEVIATION_ABUSE:
        return rng.choice([1, 2, 2, 3])
    return rng.choice([3, 4, 4, 5, 5, 5])


# -- the section ---------------------------------------------------------------------------


def run(section: Section, quick: bool) -> None:
    facts = DayFacts()
    try:
        _run(section, quick, facts)
    except (OverBudget, DeadlineExceeded) as exc:
        why = str(exc)
        if isinstance(exc, DeadlineExceeded):
            why = f"over the {BUDGET_S} s budget during phase {facts.running!r} ({exc})"
        section.na("wall_s", "market day wall time", why, "s")
        section.details["phases_s"] = facts.phases_s
        section.details["phase_transactions"] = facts.phase_transactions
        section.details["peak_rss_mb"] = _peak_rss_mb()


def _run(section: Section, quick: bool, facts: DayFacts) -> None:
    preset = "jibei-mini" if quick else "jibei"
    began = time.perf_counter()
    scenario = generate(preset, 1)
    with bench_chain() as chain:
        facts.phases_s["generate+chain"] = time.perf_counter() - began
        day = Day(chain, scenario, began, facts)
        day.run()
        wall = time.perf_counter() - began
        anvil_mb = chain.anvil_peak_rss_mb()
        waves = day.waves
    py_mb = _peak_rss_mb()
    transactions = sum(facts.phase_transactions.values())
    section.add("nodes", f"nodes ({preset})", float(facts.nodes), "nodes")
    section.add("meters", "metering points registered", float(facts.meters), "meters")
    section.add("wall_s", "market day wall time", wall, "s")
    section.add("transactions", "transactions in the day", float(transactions), "tx")
    section.add(
        "tx_per_s", "transactions per second (whole day, average)", transactions / wall, "tx/s"
    )
    section.add("trades", "trades formed", float(facts.trades), "trades")
    section.add("settlement_s", "settlement of the day", facts.phases_s["settlement"], "s")
    section.add("peak_rss_mb", "peak RSS, benchmark process", py_mb, "MB")
    if anvil_mb is None:
        section.na("anvil_peak_rss_mb", "peak RSS, anvil", "no /proc on this platform", "MB")
    else:
        section.add("anvil_peak_rss_mb", "peak RSS, anvil", anvil_mb, "MB")
    day_facts = asdict(facts)
    phases = day_facts.pop("phases_s")
    per_phase = day_facts.pop("phase_transactions")
    split = day_facts.pop("phase_split_s")
    rss = day_facts.pop("phase_peak_rss_mb")
    day_facts.pop("running")
    section.details.update(
        {
            "preset": preset,
            "phases_s": {k: round(v, 2) for k, v in phases.items()},
            "phase_transactions": per_phase,
            "phase_split_s": split,
            "phase_peak_rss_mb": rss,
            "day": day_facts,
            "harness": {
                "sign_s": round(waves.sign_s, 2),
                "send_s": round(waves.send_s, 2),
                "seal_s": round(waves.seal_s, 2),
                "receipts_s": round(waves.receipt_s, 2),
                "blocks_sealed": waves.blocks,
                "gas_used": waves.gas_used,
                "receipts_read": waves.status_reads,
            },
            "covers": "every stage of scripts/market_day.py: tariffs, onboarding, meters, "
            "period, posting (both modes), taking (optimiser's ranking, greedy fill), dispatch "
            "(security check, signed results), metering (node totals with proofs), "
            "settlement (trades, deviations, withdrawals), ratings, surveillance, "
            "certificates; not the individual meter readings (section 4), not the gateway "
            "index (section 5)",
        }
    )
