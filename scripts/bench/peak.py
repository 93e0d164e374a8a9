"""Section 9: the peak. N distinct onboarded participants, each with its own key, each
submitting one order at the same moment (issue #20: "thousands of participants bidding at
once", every order answered within 3 s).

Per engine (``anvil``: the mining mode ``gridledger chain up`` ships, mixed; ``clique``:
the 4-validator network of ``gridledger consortium up``, 1 s period, when geth 1.13 is
available):

1. Onboarding, measured apart (``<engine>_onboarding_s``): every participant registered,
   approved, funded and bonded, with its market allowance, in phases of pre-signed
   transactions sent with concurrency (:func:`scripts.bench.common.onboard_many`); a few
   sellers post big listings.
2. The burst: one posted-offer take per participant, all pre-signed before the clock
   starts, sent at once (:mod:`scripts.bench.peak_burst`); a take's binding
   acknowledgement is its receipt, so its ack and on-chain times are the same figure.
   Figures ``<engine>_take_p50_ms`` / ``_p95_ms`` / ``_p99_ms`` / ``_max_ms`` /
   ``_failed``; the details say where the time went (intake, blocks, pool; on the
   consortium each geth's block build and import times).
3. One auction bid per participant directly on chain (:mod:`scripts.bench.peak_orders`,
   ack = receipt): kind ``direct_order``.
4. One signed bid per participant through the order intake (:mod:`scripts.bench.peak_intake`):
   ``order_ack`` (the signed receipt) and ``order_onchain`` (its anchor batch's block);
   then ``<engine>_clear_s`` / ``<engine>_clear_gas``: ranking and clearing that book
   (the bids and the sellers' offers), every transaction summed.

Sizes: ``--quick`` 100 participants on anvil only; the default run 500 on both engines
(bounded for ``make bench``); ``GRIDLEDGER_BENCH_PEAK_N=3000`` for the issue's full run;
``GRIDLEDGER_BENCH_PEAK_ENGINES`` (``anvil,clique``) picks engines.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from ledger.clients.registry import NodeKind, Side
from ledger.clients.trading import ListingSide, TradingMarketClient
from ledger.settings import Settings
from ledger.tx import fee_policy
from scripts.bench.common import (
    BenchChain,
    Blaster,
    Call,
    NodeSpec,
    bench_chain,
    define_tariff,
    onboard_many,
    open_period,
)
from scripts.bench.peak_burst import BurstResult, fire
from scripts.bench.peak_intake import clear_book, intake_burst
from scripts.bench.peak_orders import AuctionUnavailable, order_calls
from scripts.bench.report import Section

QUICK_N = 100
DEFAULT_N = 500
SELLERS = 8
#: Energy of one take (Wh) and of one listing (Wh), price (fen/MWh), as in the throughput
#: section.
TAKE_WH = 1_000
LISTING_WH = 1_000_000_000
PRICE = 350_000
EXTRA_BOND_FEN = 100_000_000
FUNDS_FEN = 1_000_000_000
#: Sender threads of the burst.
THREADS = 48
#: Targets (issue #20).
ACK_TARGET_MS = 3_000.0
ONCHAIN_TARGET_MS = 10_000.0


@dataclass
class Engine:
    """A chain under test: the chain, the node URLs orders go to, what it can explain."""

    name: str
    chain: BenchChain
    urls: list[str]
    explain: Callable[[], dict[str, Any]] | None = None
    mark: Callable[[], None] | None = None


@dataclass
class Market:
    period_id: int
    participants: list[NodeSpec]
    listings: list[int]
    market: TradingMarketClient
    onboarding: dict[str, float]


def participants_wanted(quick: bool) -> int:
    explicit = os.environ.get("GRIDLEDGER_BENCH_PEAK_N")
    if explicit:
        return int(explicit)
    return QUICK_N if quick else DEFAULT_N


def engines_wanted(quick: bool) -> list[str]:
    """``GRIDLEDGER_BENCH_PEAK_ENGINES``, else anvil (QUICK: starting four gethes would
    double the QUICK run) or anvil and clique."""
    default = "anvil" if quick else "anvil,clique"
    return os.environ.get("GRIDLEDGER_BENCH_PEAK_ENGINES", default).split(",")


def specs(n: int) -> tuple[list[NodeSpec], list[NodeSpec]]:
    """Sellers (wind) and the ``n`` participants (consumers), distinct demo keys."""
    sellers = [
        NodeSpec(i + 1, NodeKind.WIND, Side.SELLER, i % 4, capacity_kw=100_000)
        for i in range(SELLERS)
    ]
    buyers = [
        NodeSpec(SELLERS + i + 1, NodeKind.CONSUMER, Side.BUYER, (i + 2) % 4) for i in range(n)
    ]
    return sellers, buyers


def blaster_for(chain: BenchChain) -> Blaster:
    """A harness whose fees follow the sender's fee policy on this chain."""
    b = Blaster(chain, threads=8, batch=50)
    base = int(chain.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
    fees = fee_policy(
        base,
        tip_wei=chain.settings.priority_fee_wei,
        ceiling_wei=chain.settings.max_fee_per_gas_wei,
    )
    b.max_fee_per_gas = fees.max_fee_per_gas
    b.priority_fee_per_gas = fees.max_priority_fee_per_gas
    return b


def build_market(chain: BenchChain, n: int, blaster: Blaster) -> Market:
    """Tariff, onboarding (timed), an open period taking now, the sellers' listings."""
    sellers, buyers = specs(n)
    define_tariff(chain)
    began = time.perf_counter()
    phases = onboard_many(
        chain,
        sellers + buyers,
        extra_bond_fen=EXTRA_BOND_FEN,
        funds_fen=FUNDS_FEN,
        blaster=blaster,
    )
    phases["total_s"] = time.perf_counter() - began
    period = open_period(chain, taking_in_s=0)
    market = chain.client(TradingMarketClient, sellers[0].account)
    first = market.listing_count() + 1
    data = market.encode(
        "post", int(ListingSide.SELL), period.id, 0, 95, LISTING_WH, PRICE, 0, 0, b"\x00" * 32
    )
    blaster.run([Call(s.account, market.address, data, gas=800_000) for s in sellers])
    listings = list(range(first, first + len(sellers)))
    return Market(
        period_id=period.id,
        participants=buyers,
        listings=listings,
        market=market,
        onboarding=phases,
    )


def take_calls(m: Market, gas: int) -> list[Call]:
    mk = m.market
    return [
        Call(
            p.account,
            mk.address,
            mk.encode("take", m.listings[i % len(m.listings)], TAKE_WH, 0),
            gas=gas,
        )
        for i, p in enumerate(m.participants)
    ]


def take_gas(chain: BenchChain, m: Market) -> int:
    """One take's gas estimate plus the senders' margin (a block packs by gas limit)."""
    call = take_calls(m, 0)[0]
    estimate = chain.w3.eth.estimate_gas(
        {"from": call.account.address, "to": m.market.address, "data": call.data}  # type: ignore[typeddict-item]
    )
    return int(estimate * (100 + chain.settings.gas_margin_percent) // 100)


def record(section: Section, engine: str, kind: str, burst: BurstResult, target: float) -> None:
    """``<engine>_<kind>_p50_ms`` .. ``_max_ms`` and ``_failed`` of one burst."""
    stats = burst.summary()
    for key, label in (("p50", "p50"), ("p95", "p95"), ("p99", "p99"), ("max", "max")):
        fig = f"{engine}_{kind}_{key}_ms"
        value = stats.get(f"{key}_ms")
        text = f"{engine} {kind}: {label} to answer"
        if value is None:
            section.na(fig, text, "no order answered", "ms")
        elif key == "p99":
            section.add(fig, text, value, "ms", target=f"<= {target:,.0f}", ok=value <= target)
        else:
            section.add(fig, text, value, "ms")
    failed = burst.failed
    section.add(
        f"{engine}_{kind}_failed", f"{engine} {kind}: failed", failed, "", target="0", ok=not failed
    )


def burst(
    engine: Engine, blaster: Blaster, calls: list[Call]
) -> tuple[BurstResult, dict[str, Any]]:
    """Sign ``calls`` (before the clock), send them at once; the result and its details."""
    blaster.reset_nonces()
    signed = blaster.sign(calls)
    if engine.mark is not None:
        engine.mark()
    load_before = os.getloadavg()
    result = fire(signed, engine.urls, threads=THREADS, timeout_s=600.0, watch_url=engine.chain.url)
    details = result.details()
    if engine.explain is not None:
        details["block_work"] = engine.explain()
    details["load_average_before"] = list(load_before)
    details["load_average_after"] = list(os.getloadavg())
    return result, details


def run_engine(section: Section, engine: Engine, n: int) -> None:
    chain = engine.chain
    blaster = blaster_for(chain)
    m = build_market(chain, n, blaster)
    takes, details = burst(engine, blaster, take_calls(m, take_gas(chain, m)))
    record(section, engine.name, "take", takes, ACK_TARGET_MS)
    section.details[f"{engine.name}_take"] = details
    try:
        orders = order_calls(chain, m, blaster)
    except AuctionUnavailable as exc:
        for kind, target in (("order_ack", ACK_TARGET_MS), ("order_onchain", ONCHAIN_TARGET_MS)):
            section.na(
                f"{engine.name}_{kind}_p99_ms",
                f"{engine.name} {kind}: p99 to answer",
                str(exc),
                "ms",
                target=f"<= {target:,.0f}",
            )
    else:
        placed, details = burst(engine, blaster, orders)
        record(section, engine.name, "direct_order", placed, ACK_TARGET_MS)
        section.details[f"{engine.name}_direct_order"] = details
        through_intake(section, engine, m)
    section.add(
        f"{engine.name}_onboarding_s",
        f"{engine.name}: onboarding {n} participants",
        sum(v for k, v in m.onboarding.items() if k in ("total_s", "auction_allowance")),
        "s",
    )
    section.details[f"{engine.name}_onboarding"] = m.onboarding


def through_intake(section: Section, engine: Engine, m: Market) -> None:
    """The same participants' bids through the signed-receipt intake, then the book's
    clearing (``<engine>_clear_s`` / ``_clear_gas``)."""
    chain, name = engine.chain, engine.name
    sellers, _ = specs(len(m.participants))
    ack, onchain, details, auction_id = intake_burst(chain, name, m, sellers)
    record(section, name, "order_ack", ack, ACK_TARGET_MS)
    record(section, name, "order_onchain", onchain, ONCHAIN_TARGET_MS)
    section.details[f"{name}_order_intake"] = details
    clear_s, clear_gas, txs = clear_book(chain, name, auction_id)
    book = len(m.participants) + len(sellers)
    section.add(f"{name}_clear_s", f"{name}: clearing the {book}-order book", clear_s, "s")
    section.add(f"{name}_clear_gas", f"{name}: clearing gas ({txs} transactions)", clear_gas, "gas")


@contextmanager
def anvil_engine() -> Iterator[Engine]:
    """anvil in the mining mode ``gridledger chain up`` ships (``GRIDLEDGER_MINING``)."""
    with bench_chain(mining=Settings().mining) as chain:
        yield Engine(name="anvil", chain=chain, urls=[chain.url])


@contextmanager
def clique_engine(n: int) -> Iterator[Engine]:
    from scripts.bench.peak_clique import clique_network

    sellers, buyers = specs(n)
    with clique_network([s.account.address for s in sellers + buyers]) as net:
        offsets: list[int] = []

        def mark() -> None:
            offsets[:] = net.log_offsets()

        yield Engine(
            name="clique",
            chain=net.chain,
            urls=net.urls,
            explain=lambda: net.block_work(offsets),
            mark=mark,
        )


def run(section: Section, quick: bool) -> None:
    from scripts.bench.peak_clique import geth_available

    n = participants_wanted(quick)
    section.add("participants", "participants, one order each, all at once", n, "")
    starts: dict[str, Callable[[], AbstractContextManager[Engine]]] = {
        "anvil": anvil_engine,
        "clique": lambda: clique_engine(n),
    }
    for name in engines_wanted(quick):
        if name == "clique" and not geth_available():
            section.na("clique_take_p99_ms", "clique take: p99", "geth 1.13 not available", "ms")
            continue
        with starts[name]() as engine:
            run_engine(section, engine, n)
