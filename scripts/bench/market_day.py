"""Section 6: the full jibei preset market day, wall time and peak memory.

What the figure covers (full run: ``generate("jibei", 1)``: 3,513 nodes, 12,903 meters):

1. the tariff (7 regions, 10 corridors) and onboarding of *every* node (register, verifier
   approval, licences submitted and approved, bank mint, bond approval and deposit, market
   allowance);
2. one delivery day opened; every seller posts four listings (one per six hours of its
   profile, at its reference price);
3. every buyer takes its day's energy (greedy over the cheapest listings, at most two
   takes per buyer);
4. metering aggregated per node: the day's node totals (import for buyers, export for
   sellers) in one ``postPeriod`` Merkle root and every node's ``submitNodeTotal`` with its
   proof (the 12,903 x 96 individual readings are *not* signed here: their ingestion rate
   is section 4's figure);
5. a DISPATCH-signed result for every trade (EIP-712, 50 per ``submitResults``).

Settlement is not run (see section 1's lifecycle). Everything goes through the pre-signed
harness of :mod:`scripts.bench.common`. Peak memory is this process's max RSS and the
anvil's ``VmHWM``. QUICK mode runs the ``jibei-mini`` preset instead.
"""

from __future__ import annotations

import resource
import time
from typing import Any

from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.registry import NodeKind, Side
from ledger.clients.trading import ListingSide, TradingMarketClient
from oracle.eip712 import dispatch_typed_data, node_total_leaf, sign_typed
from oracle.merkle import MerkleTree
from scripts.bench.common import (
    Blaster,
    Call,
    DeadlineExceeded,
    NodeSpec,
    bench_chain,
    define_tariff,
    first_indexed,
    onboard_many,
    open_period,
    role,
)
from scripts.bench.report import Section
from scripts.scenario import INTERVALS_PER_DAY, Participant, generate

KINDS = {
    "coal": NodeKind.COAL,
    "wind": NodeKind.WIND,
    "solar": NodeKind.SOLAR,
    "consumer": NodeKind.CONSUMER,
    "retailer": NodeKind.RETAILER,
}
BLOCKS_PER_DAY = 4
#: Seconds the day may take; checked between phases (a stopped day reports n/a, never an
#: extrapolation).
BUDGET_S = 600
DISPATCH_PER_TX = 50
EXTRA_BOND_FEN = 1_000_000_000
LISTING_POSTED = (
    "ListingPosted(uint256,address,uint32,uint8,uint8,uint16,uint16,uint256,uint256,uint256,"
    "uint64,bytes32)"
)
TRADE_CREATED = (
    "TradeCreated(uint256,uint256,uint32,address,address,address,uint256,uint256,uint256,uint256)"
)
FUNDS_FEN = 1_000_000_000


def _spec(p: Participant) -> NodeSpec:
    return NodeSpec(
        n=p.index + 1,
        kind=KINDS[p.kind],
        side=Side.SELLER if p.side == "seller" else Side.BUYER,
        region=p.region,
        capacity_kw=p.capacity_kw,
        carbon_g_per_kwh=p.carbon_g_per_kwh,
    )


class OverBudget(Exception):  # noqa: N818 - a stop condition
    """The day did not finish within :data:`BUDGET_S`."""


def run(section: Section, quick: bool) -> None:
    phases: dict[str, float] = {}
    try:
        _run(section, quick, phases)
    except (OverBudget, DeadlineExceeded) as exc:
        why = str(exc)
        if isinstance(exc, DeadlineExceeded):
            why = f"over the {BUDGET_S} s budget during phase {len(phases) + 1} ({exc}); " + (
                f"phases done: {', '.join(phases)}" if phases else "no phase finished"
            )
        section.na("wall_s", "market day wall time", why, "s")
        section.details["phases_s"] = phases
        section.details["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(section: Section, quick: bool, phases: dict[str, float]) -> None:
    preset = "jibei-mini" if quick else "jibei"
    began = time.perf_counter()

    def mark(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = now - since
        if now - began > BUDGET_S:
            raise OverBudget(
                f"stopped after phase {name!r}: {now - began:.0f} s > the {BUDGET_S} s budget "
                f"(phases done: {', '.join(phases)})"
            )
        return now

    scenario = generate(preset, 1)
    people = scenario.participants
    with bench_chain() as chain:
        t0 = mark("generate+chain", began)
        b = Blaster(chain, threads=8, batch=50)
        b.deadline = time.monotonic() + BUDGET_S - (time.perf_counter() - began)
        define_tariff(
            chain,
            {r.id: r.stamp_rate_fen_per_mwh for r in scenario.regions},
            [(c.a, c.b) for c in scenario.corridors],
            {r.id: r.name for r in scenario.regions},
        )
        specs = {p.index: _spec(p) for p in people}
        onboarding = onboard_many(
            chain,
            list(specs.values()),
            extra_bond_fen=EXTRA_BOND_FEN,
            funds_fen=FUNDS_FEN,
            blaster=b,
        )
        t0 = mark("tariff+onboarding", t0)
        period = open_period(chain)
        market = chain.client(TradingMarketClient, role("OPERATOR"))
        sellers = [p for p in people if p.side == "seller"]
        buyers = [p for p in people if p.side == "buyer"]
        block = INTERVALS_PER_DAY // BLOCKS_PER_DAY
        listings: list[dict[str, Any]] = []
        posts: list[Call] = []
        for p in sellers:
            for k in range(BLOCKS_PER_DAY):
                energy = sum(p.profile_wh[k * block : (k + 1) * block])
                if energy <= 0:
                    continue
                listings.append({"price": p.price_fen_per_mwh, "left": energy, "seller": p})
                posts.append(
                    Call(
                        specs[p.index].account,
                        market.address,
                        market.encode(
                            "post",
                            int(ListingSide.SELL),
                            period.id,
                            k * block,
                            (k + 1) * block - 1,
                            energy,
                            p.price_fen_per_mwh,
                            0,
                            0,
                            b"\x00" * 32,
                        ),
                        gas=800_000,
                    )
                )
        posted = b.run(posts)
        for lst, receipt in zip(listings, posted.receipts, strict=True):
            lst["id"] = first_indexed(receipt, market.address, LISTING_POSTED)
        t0 = mark("posting", t0)
        chain.advance(max(0, period.taking_opens_at - chain.block_time()) + 1)
        book = sorted(listings, key=lambda x: x["price"])
        takes: list[Call] = []
        trades: list[tuple[int, int]] = []  # (listing id, energy)
        cursor = 0
        for p in buyers:
            need = sum(p.profile_wh)
            for _ in range(2):
                while cursor < len(book) and book[cursor]["left"] == 0:
                    cursor += 1
                if need <= 0 or cursor >= len(book):
                    break
                lst = book[cursor]
                qty = min(need, lst["left"])
                lst["left"] -= qty
                need -= qty
                trades.append((lst["id"], qty))
                takes.append(
                    Call(
                        specs[p.index].account,
                        market.address,
                        market.encode("take", lst["id"], qty, 0),
                        gas=2_000_000,
                    )
                )
        formed = b.run(takes)
        trade_ids = [first_indexed(r, market.address, TRADE_CREATED) for r in formed.receipts]
        t0 = mark("taking", t0)
        oracle = chain.client(MeterOracleClient, role("METER_ORACLE"))
        rows = []
        for p in people:
            total = sum(p.profile_wh)
            imp, exp = (total, 0) if p.side == "buyer" else (0, total)
            rows.append(
                (
                    specs[p.index].account.address,
                    period.id,
                    imp,
                    exp,
                    p.meters * INTERVALS_PER_DAY,
                    b"\x11" * 32,
                )
            )
        tree = MerkleTree([node_total_leaf(*r) for r in rows])
        oracle.post_period(period.id, tree.root, len(rows), sum(r[4] for r in rows))
        b.run(
            [
                Call(
                    specs[p.index].account,
                    oracle.address,
                    oracle.encode("submitNodeTotal", rows[i], tree.proof(i)),
                    gas=500_000,
                )
                for i, p in enumerate(people)
            ]
        )
        t0 = mark("metering (node totals)", t0)
        dispatch = chain.client(DispatchResultsClient, role("METER_ORACLE"))
        chain_id = int(chain.w3.eth.chain_id)
        results: list[tuple[int, int, int, int, int]] = []
        signatures: list[bytes] = []
        for trade_id, (_listing, qty) in zip(trade_ids, trades, strict=True):
            message = {
                "tradeId": trade_id,
                "period": period.id,
                "executedWh": qty,
                "curtailedWh": 0,
                "reasonCode": 0,
            }
            full = dispatch_typed_data(message, chain_id, dispatch.address)
            signatures.append(sign_typed(role("DISPATCH"), full))
            results.append((trade_id, period.id, qty, 0, 0))
        b.run(
            [
                Call(
                    role("METER_ORACLE"),
                    dispatch.address,
                    dispatch.encode(
                        "submitResults",
                        results[i : i + DISPATCH_PER_TX],
                        signatures[i : i + DISPATCH_PER_TX],
                    ),
                    gas=10_000_000,
                )
                for i in range(0, len(results), DISPATCH_PER_TX)
            ]
        )
        mark("dispatch results", t0)
        if len(set(trade_ids)) != len(trades):
            raise RuntimeError("not every take formed a trade")
        wall = time.perf_counter() - began
        anvil_mb = chain.anvil_peak_rss_mb()
        traded_wh = sum(q for _, q in trades)
    py_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    txs = onboarding["transactions"] + len(posts) + len(takes) + 1 + len(people)
    txs += -(-len(results) // DISPATCH_PER_TX)
    section.add("nodes", f"nodes ({preset})", float(len(people)), "nodes")
    section.add("wall_s", "market day wall time", wall, "s")
    section.add("transactions", "transactions in the day", float(txs), "tx")
    section.add("trades", "trades formed", float(len(trades)), "trades")
    section.add("peak_rss_mb", "peak RSS, benchmark process", py_mb, "MB")
    if anvil_mb is None:
        section.na("anvil_peak_rss_mb", "peak RSS, anvil", "no /proc on this platform", "MB")
    else:
        section.add("anvil_peak_rss_mb", "peak RSS, anvil", anvil_mb, "MB")
    section.na(
        "settlement_s",
        "settlement of the day",
        "settlement is not wired into the benchmark yet (see throughput lifecycle)",
        "s",
    )
    section.details.update(
        {
            "preset": preset,
            "meters": scenario.meter_count,
            "phases_s": phases,
            "onboarding_s": onboarding,
            "listings": len(posts),
            "traded_mwh": traded_wh / 1e6,
            "covers": "tariff, onboarding of every node, posting, taking, per-node metered "
            "totals (postPeriod + submitNodeTotal each), dispatch results; not individual "
            "meter readings (section 4), not settlement",
        }
    )
