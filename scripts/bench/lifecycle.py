"""The full trade lifecycle (post, take, dispatch result, metered totals, settle) per
second, for section 1, on the chain and with the harness of the section's transfer rounds.

One lifecycle is one listing posted by a seller and taken whole by a buyer, the trade's
dispatch result (EIP-712, signed by the DISPATCH key, relayed by METER_ORACLE), the meter
totals of its two parties in the delivery period, and its settlement (seller paid, formula 1
fee split over the route's grid accounts, the rest refunded, the trade closed). ``count``
lifecycles run through the pipeline in a fresh delivery period, in the stages the real
system runs them, each stage batched as far as the contracts allow:

1. post: ``count`` ``TradingMarket.post`` (sellers round robin);
2. take: ``count`` ``TradingMarket.take`` (buyers round robin, each takes a whole listing);
3. dispatch: ``DispatchResults.submitResultBatch``, :data:`DISPATCH_BATCH` results with one
   DISPATCH signature a transaction (the oracle relays a submission of the dispatch center,
   signed once, as one transaction);
4. meter: ``MeterOracle.postPeriod`` (one Merkle root over every node total of the period),
   then one ``submitNodeTotal`` with its proof per node, not per trade, each sent by the
   node itself (anyone may; from one relayer key they would queue up one block each);
5. settlement opens: ``DispatchResults.setSettlementOpensAt`` (OPERATOR), then the chain
   clock is moved past it (``evm_increaseTime``: the wait for the end of delivery is not
   part of the node's work);
6. settle: ``SettlementEngine.settleBatch``, :data:`SETTLE_BATCH` trades a transaction,
   from several settler keys at once (settling is permissionless).

Every transaction is signed before the clock starts (as the section's transfers and takes
are): listing, trade ids and the parties' totals are known in advance (ids are sequential
and every listing is identical), and are checked against the receipts afterwards. The
figure is ``count`` over the wall time from the first post sent to the last settle
receipt, stages back to back through :class:`~scripts.bench.common.Blaster`; per-stage
transactions, seconds and gas are in the details, with the signing time kept apart.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from web3 import Web3

from ledger.clients.base import ContractClient
from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.trading import ListingSide
from oracle import eip712
from oracle.merkle import MerkleTree
from scripts.bench.common import (
    TARIFF_RATES,
    BenchChain,
    BenchError,
    Blaster,
    Call,
    Signed,
    node_account,
    open_period,
    role,
)
from scripts.bench.market import PRICE, TAKE_WH, Traders

#: Dispatch results per ``submitResultBatch`` transaction.
DISPATCH_BATCH = 100
#: Trades per ``settleBatch`` transaction.
SETTLE_BATCH = 50
#: Lifecycles of one measurement.
FULL_COUNT = 1_000
QUICK_COUNT = 200
#: Demo node numbers of the grid accounts (+ region), remainder and balancing accounts, and
#: the settler keys (+ k); far above the traders' numbers.
GRID_BASE_N = 900
REMAINDER_N = 940
BALANCING_N = 941
SETTLER_BASE_N = 950
#: Seconds from the schedule to the opening of settlement (chain clock; skipped over).
OPENS_IN_S = 3_600


class LifecycleUnavailable(Exception):  # noqa: N818 - a reason, not a failure
    """A step of the lifecycle cannot be measured; the message says why."""


@dataclass
class LifecycleResult:
    per_s: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Stage:
    name: str
    calls: list[Call]
    signed: list[Signed] = field(default_factory=list)
    seconds: float = 0.0
    receipts: list[dict[str, Any]] = field(default_factory=list)
    kicks: int = 0

    def report(self) -> dict[str, float]:
        gas = sum(int(r["gasUsed"], 16) for r in self.receipts)
        return {
            "txs": float(len(self.calls)),
            "seconds": self.seconds,
            "gas": float(gas),
            "stuck_kicks": float(self.kicks),
        }


def _topic(signature: str) -> str:
    return Web3.keccak(text=signature).to_0x_hex()


def _indexed(receipts: Sequence[dict[str, Any]], address: str, topic: str) -> list[int]:
    """The first indexed argument of every ``topic`` log ``address`` emitted."""
    return [
        int(log["topics"][1], 16)
        for r in receipts
        for log in r["logs"]
        if log["address"].lower() == address.lower() and log["topics"][0] == topic
    ]


def _event_topic(client: ContractClient, event: str) -> str:
    abi: list[dict[str, Any]] = cast(list[dict[str, Any]], client.contract.abi)
    for item in abi:
        if item.get("type") == "event" and item.get("name") == event:
            types = ",".join(_abi_type(i) for i in item.get("inputs", []))
            return _topic(f"{event}({types})")
    raise BenchError(f"{type(client).__name__} has no event {event}")


def _abi_type(item: dict[str, Any]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + kind[5:]
    return kind


def configure_settlement(chain: BenchChain) -> None:
    """OPERATOR names a grid account per tariff region, the remainder and the balancing
    account (what settlement needs before any trade settles)."""
    operator = chain.client(SettlementEngineClient, role("OPERATOR"))
    for region in TARIFF_RATES:
        operator.set_grid_account(region, node_account(GRID_BASE_N + region).address)
    operator.set_remainder_account(node_account(REMAINDER_N).address)
    operator.set_balancing_account(node_account(BALANCING_N).address)


def _post_and_take_calls(
    market: Any, period: Any, sellers: list[Any], buyers: list[Any], first_listing: int
) -> tuple[list[Call], list[Call]]:
    """One sell listing per seller and the take of it by the matching buyer."""
    posts = [
        Call(
            s.account,
            market.address,
            market.encode(
                "post",
                int(ListingSide.SELL),
                period.id,
                0,
                95,
                TAKE_WH,
                PRICE,
                0,
                0,
                b"\x00" * 32,
            ),
            gas=800_000,
        )
        for s in sellers
    ]
    takes = [
        Call(
            buyer.account,
            market.address,
            market.encode("take", first_listing + i, TAKE_WH, 0),
            gas=2_000_000,
        )
        for i, buyer in enumerate(buyers)
    ]
    return posts, takes


def _dispatch_calls(
    chain: BenchChain, dispatch: DispatchResultsClient, period: Any, trade_ids: list[int]
) -> tuple[list[Call], float]:
    """The DISPATCH-signed results (executed in full), relayed in batches with one
    signature each (``submitResultBatch``, as the oracle relays them); and the seconds
    spent signing them."""
    chain_id = int(chain.w3.eth.chain_id)
    separator = eip712.domain_separator(eip712.DISPATCH_DOMAIN_NAME, chain_id, dispatch.address)
    dispatch_key = bytes(role("DISPATCH").key)
    sign_began = time.perf_counter()
    names = [name for name, _type in eip712.DISPATCH_RESULT_FIELDS]
    batches: list[tuple[list[tuple[int, int, int, int, int]], bytes]] = []
    for i in range(0, len(trade_ids), DISPATCH_BATCH):
        results = [(t, period.id, TAKE_WH, 0, 0) for t in trade_ids[i : i + DISPATCH_BATCH]]
        struct = eip712.dispatch_batch_struct_hash(
            [dict(zip(names, r, strict=True)) for r in results]
        )
        digest = eip712.typed_digest(separator, struct)
        batches.append((results, eip712.sign_digest(dispatch_key, digest)))
    sign_s = time.perf_counter() - sign_began
    calls = [
        Call(
            role("METER_ORACLE"),
            dispatch.address,
            dispatch.encode("submitResultBatch", results, signature),
            gas=20_000_000,
        )
        for results, signature in batches
    ]
    return calls, sign_s


def _meter_calls(
    oracle: MeterOracleClient, t: Traders, period: Any, sellers: list[Any], buyers: list[Any]
) -> tuple[list[Call], list[Call]]:
    """The period's Merkle root of node totals, and each node's total with its proof."""
    exported = Counter(s.account.address for s in sellers)
    imported = Counter(buyer.account.address for buyer in buyers)
    nodes = sorted(set(exported) | set(imported), key=str.lower)
    rows = [
        (
            node,
            period.id,
            imported[node] * TAKE_WH,
            exported[node] * TAKE_WH,
            96,
            bytes(Web3.keccak(text=f"bench-readings/{period.id}/{node}")),
        )
        for node in nodes
    ]
    tree = MerkleTree([eip712.node_total_leaf(*row) for row in rows])
    readings = sum(r[4] for r in rows)
    post_period = [
        Call(
            role("METER_ORACLE"),
            oracle.address,
            oracle.encode("postPeriod", period.id, tree.root, len(rows), readings),
            gas=500_000,
        )
    ]
    keys = {n.account.address: n.account for n in t.sellers + t.buyers}
    totals = [
        Call(
            keys[row[0]],
            oracle.address,
            oracle.encode("submitNodeTotal", row, tree.proof(i)),
            gas=500_000,
        )
        for i, row in enumerate(rows)
    ]
    return post_period, totals


def _settle_calls(
    engine: SettlementEngineClient, trade_ids: list[int], threads: int
) -> tuple[list[Call], int]:
    """``settleBatch`` calls of ``SETTLE_BATCH`` trades spread over settler keys; and how
    many settler keys."""
    settler_keys = [node_account(SETTLER_BASE_N + k) for k in range(max(1, threads))]
    batches = [trade_ids[i : i + SETTLE_BATCH] for i in range(0, len(trade_ids), SETTLE_BATCH)]
    calls = [
        Call(
            settler_keys[n % len(settler_keys)],
            engine.address,
            engine.encode("settleBatch", ids),
            gas=60_000_000,
        )
        for n, ids in enumerate(batches)
    ]
    return calls, len(settler_keys)


def _run_stages(chain: BenchChain, b: Blaster, stages: list[_Stage], opens_at: int) -> float:
    """Send every stage's pre-signed transactions in order; the wall time (s)."""
    began = time.perf_counter()
    for stage in stages:
        t0, kicks = time.perf_counter(), b.kicks
        stage.receipts, _ = b.send(stage.signed)
        stage.kicks = b.kicks - kicks
        if stage.name == "open_settlement":
            chain.advance(opens_at - chain.block_time() + 1)
        stage.seconds = time.perf_counter() - t0
    return time.perf_counter() - began


def _check_stages(
    b: Blaster,
    stages: list[_Stage],
    market: Any,
    engine: SettlementEngineClient,
    first_listing: int,
    trade_ids: list[int],
) -> None:
    """Every step did what it was meant to: no revert, the listings and trades the later
    stages were signed for, every trade settled."""
    for stage in stages:
        for c, r in zip(stage.calls, stage.receipts, strict=True):
            if int(r["status"], 16) != 1:
                raise BenchError(f"lifecycle stage {stage.name} reverted: {b.explain(c, r)}")
    count = len(trade_ids)
    by_name = {s.name: s for s in stages}
    posted = _event_topic(market, "ListingPosted")
    listings = sorted(_indexed(by_name["post"].receipts, market.address, posted))
    if listings != list(range(first_listing, first_listing + count)):
        raise BenchError("the posts did not create the listings the takes were signed for")
    created = _event_topic(market, "TradeCreated")
    formed = sorted(_indexed(by_name["take"].receipts, market.address, created))
    if formed != trade_ids:
        raise BenchError("the takes did not form the trades the dispatch results name")
    closed = _event_topic(engine, "TradeSettled")
    settled = _indexed(by_name["settle"].receipts, engine.address, closed)
    if sorted(settled) != trade_ids:
        raise BenchError(f"{len(settled)} of {count} trades settled")


def lifecycle_rate(
    chain: BenchChain,
    traders: Traders,
    *,
    quick: bool,
    blaster: Blaster | None = None,
    count: int | None = None,
) -> LifecycleResult:
    """Complete lifecycles per second on ``chain`` (see the module docstring); ``count``
    lifecycles (default by ``quick``)."""
    t = traders
    b = blaster or Blaster(chain, threads=8, batch=25)
    if count is None:
        count = QUICK_COUNT if quick else FULL_COUNT
    market = t.market
    dispatch = chain.client(DispatchResultsClient, role("METER_ORACLE"))
    oracle = chain.client(MeterOracleClient, role("METER_ORACLE"))
    engine = chain.client(SettlementEngineClient, role("OPERATOR"))
    configure_settlement(chain)
    period = open_period(chain)
    chain.advance(max(0, period.taking_opens_at - chain.block_time()) + 1)

    # -- every transaction, signed before the clock starts ---------------------------------
    first_listing = market.listing_count() + 1
    first_trade = market.trade_count() + 1
    sellers = [t.sellers[i % len(t.sellers)] for i in range(count)]
    buyers = [t.buyers[i % len(t.buyers)] for i in range(count)]
    posts, takes = _post_and_take_calls(market, period, sellers, buyers, first_listing)
    trade_ids = list(range(first_trade, first_trade + count))
    dispatches, dispatch_sign_s = _dispatch_calls(chain, dispatch, period, trade_ids)
    post_period, totals = _meter_calls(oracle, t, period, sellers, buyers)
    opens_at = chain.block_time() + OPENS_IN_S
    schedule = [
        Call(
            role("OPERATOR"),
            dispatch.address,
            dispatch.encode("setSettlementOpensAt", period.id, opens_at),
            gas=200_000,
        )
    ]
    settles, settler_count = _settle_calls(engine, trade_ids, b.threads)
    stages = [
        _Stage("post", posts),
        _Stage("take", takes),
        _Stage("dispatch", dispatches),
        _Stage("meter_root", post_period),
        _Stage("meter_totals", totals),
        _Stage("open_settlement", schedule),
        _Stage("settle", settles),
    ]
    began = time.perf_counter()
    for stage in stages:
        stage.signed = b.sign(stage.calls)
    sign_s = time.perf_counter() - began + dispatch_sign_s
    kicks_before = b.kicks

    wall_s = _run_stages(chain, b, stages, opens_at)
    _check_stages(b, stages, market, engine, first_listing, trade_ids)
    txs = sum(len(s.calls) for s in stages)
    return LifecycleResult(
        per_s=count / wall_s,
        details={
            "lifecycles": count,
            "wall_s": wall_s,
            "transactions": txs,
            "transactions_per_lifecycle": txs / count,
            "tx_per_s": txs / wall_s,
            "stages": {s.name: s.report() for s in stages},
            "dispatch_batch": DISPATCH_BATCH,
            "settle_batch": SETTLE_BATCH,
            "settler_keys": settler_count,
            "nodes_metered": len(totals),
            "signing_s": sign_s,
            "stuck_kicks": b.kicks - kicks_before,
            "period": period.id,
        },
    )
