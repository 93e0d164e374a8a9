"""Section 13: the participant portal's pages for a busy participant at the full jibei size.

The chain is the market day of section 6 (:class:`scripts.bench.market_day.Day`: the full
``jibei`` preset, 3,513 nodes; QUICK ``jibei-mini``), run to its end: every listing posted,
taken, dispatched, metered, settled and rated. The busiest participant (the most trades as
buyer or seller) is then logged in to a portal over that chain (a session holding its key,
as a log-in leaves it) and each page is requested ``REQUESTS`` times through the ASGI app
in-process (Starlette's TestClient), after one warm-up request: status, offers (the open
listings it could take), trades, statements, one period's HTML statement, ratings, and the
retail page when it is a consumer or retailer. p50 and p99 per page; target p99 <= 200 ms.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.clients.registry import NodeKind, NodeRegistryClient
from ledger.scenario import Scenario, generate
from node.portal.app import PortalConfig, create_app
from node.portal.cache import CachedTrader, KeptStatements
from node.portal.sessions import COOKIE
from node.settlement.statements import StatementBuilder
from node.trading.trader import Trader
from scripts.bench.common import BenchChain, DeadlineExceeded, bench_chain, percentile
from scripts.bench.day_base import DayFacts, OverBudget
from scripts.bench.market_day import Day
from scripts.bench.report import Section

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient deprecation notice
    from fastapi.testclient import TestClient

TARGET_P99_MS = 200.0


#: The market day only builds the chain here (section 6 times it): on a loaded machine it
#: may take longer than section 6's budget.
DAY_BUDGET_S = 1_800


class BuildDay(Day):
    """Section 6's market day with :data:`DAY_BUDGET_S` to finish."""

    def __init__(self, chain: BenchChain, scenario: Scenario, began: float) -> None:
        super(Day, self).__init__(chain, scenario, began, DayFacts(), DAY_BUDGET_S)


@dataclass(frozen=True)
class Shape:
    preset: str
    requests: int
    max_s_per_page: float


FULL = Shape("jibei", 50, 60.0)
QUICK = Shape("jibei-mini", 8, 20.0)


def _pages(day: Day, kind: NodeKind) -> dict[str, str]:
    period = day.the_period().id
    pages = {
        "status": "/",
        "offers": "/offers",
        "trades": "/trades",
        "statements": "/statements",
        "statement html": f"/statements/{period}.html",
        "ratings": "/ratings",
    }
    if kind in (NodeKind.CONSUMER, NodeKind.RETAILER):
        pages["retail"] = "/retail"
    return pages


def _timed(http: Any, path: str, shape: Shape, before: Callable[[], None]) -> list[float]:
    """Milliseconds of each request of ``path`` (``before`` runs untimed before each)."""
    times: list[float] = []
    deadline = time.perf_counter() + shape.max_s_per_page
    for i in range(shape.requests):
        before()
        began = time.perf_counter()
        reply = http.get(path)
        times.append((time.perf_counter() - began) * 1000)
        if reply.status_code != 200:
            raise RuntimeError(f"{path}: {reply.status_code} {reply.text[:300]}")
        if i >= 4 and time.perf_counter() > deadline:
            break
    return times


def time_pages(
    app: Any, session_id: str, pages: dict[str, str], shape: Shape, mine: Callable[[], None]
) -> dict[str, Any]:
    """p50/p99 of each page through the ASGI app in-process: after one warm-up request
    with the head unchanged (the reads kept), then each after a new block (``mine``)."""
    results: dict[str, Any] = {}
    with TestClient(app, cookies={COOKIE: session_id}, follow_redirects=False) as http:
        for name, path in pages.items():
            first = time.perf_counter()
            reply = http.get(path)  # warm-up: templates, the market's event index
            first_ms = (time.perf_counter() - first) * 1000
            if reply.status_code != 200:
                raise RuntimeError(f"{path}: {reply.status_code} {reply.text[:300]}")
            kept = _timed(http, path, shape, lambda: None)
            fresh = _timed(http, path, shape, mine)
            results[name] = {
                "path": path,
                "p50_ms": percentile(kept, 0.5),
                "p99_ms": percentile(kept, 0.99),
                "new_block_p50_ms": percentile(fresh, 0.5),
                "new_block_p99_ms": percentile(fresh, 0.99),
                "first_ms": first_ms,
                "requests": len(kept) + len(fresh),
                "bytes": len(reply.content),
            }
    return results


def _check_index(cached: CachedTrader, plain: Trader) -> None:
    """The portal's indexes find what the clients' full scans find (trades, open listings,
    the statement of the participant's last period)."""
    if cached.trades() != plain.trades():
        raise RuntimeError("the portal's index disagrees with the chain on the trades")
    if cached.open_listings() != plain.open_listings():
        raise RuntimeError("the portal's index disagrees with the chain on the open listings")
    period = max(t.period_id for t in plain.trades())
    mine = KeptStatements(cached).build(plain.address, period).model_dump()
    full = StatementBuilder(plain.ctx, plain.account).build(plain.address, period).model_dump()
    if {**mine, "generated_at": 0} != {**full, "generated_at": 0}:
        raise RuntimeError("the portal's statement disagrees with the statement builder's")


def run(section: Section, quick: bool) -> None:
    shape = QUICK if quick else FULL
    began = time.perf_counter()
    scenario = generate(shape.preset, 1)
    with bench_chain() as chain:
        day = BuildDay(chain, scenario, began)
        try:
            day.run()
        except (OverBudget, DeadlineExceeded) as exc:
            why = f"the market day did not finish within {DAY_BUDGET_S} s ({exc})"
            section.na("worst_p99_ms", "worst p99", why, "ms", f"<= {TARGET_P99_MS:.0f}")
            return
        day_s = time.perf_counter() - began
        counts = Counter(n for t in day.trades for n in (t.buyer, t.seller))
        busiest, trades = counts.most_common(1)[0]
        account = day.node(busiest)
        info = chain.ctx.client(NodeRegistryClient, account).node_info(account.address)
        app = create_app(chain.ctx, PortalConfig(wallet=f"node-{busiest}"))
        session = app.state.portal.sessions.create(f"node-{busiest}", account)
        pages = _pages(day, NodeKind(info.kind))
        _check_index(app.state.portal.reads.trader(account), Trader(chain.ctx, account))
        results = time_pages(app, session.id, pages, shape, lambda: day.rpc.call("evm_mine", []))
    report(section, shape, results)
    section.details.update(
        {
            "preset": shape.preset,
            "day_s": round(day_s, 1),
            "chain_trades": len(day.trades),
            "participant": {
                "address": account.address,
                "kind": NodeKind(info.kind).name.lower(),
                "trades": trades,
            },
        }
    )


def report(section: Section, shape: Shape, results: dict[str, Any]) -> None:
    worst, worst_p99 = "", 0.0
    for name, r in results.items():
        key = name.replace(" ", "_")
        for prefix, label in (("", "head unchanged"), ("new_block_", "after a new block")):
            p99 = r[f"{prefix}p99_ms"]
            section.add(
                f"p99_{key}" + ("_new_block" if prefix else ""),
                f"{r['path']} p99, {label} (p50 {r[f'{prefix}p50_ms']:.0f} ms)",
                p99,
                "ms",
                target=f"<= {TARGET_P99_MS:.0f}",
                ok=p99 <= TARGET_P99_MS,
            )
            if p99 > worst_p99:
                worst, worst_p99 = f"{name}, {label}", p99
    section.add(
        "worst_p99_ms",
        f"worst p99 ({worst})",
        worst_p99,
        "ms",
        target=f"<= {TARGET_P99_MS:.0f}",
        ok=worst_p99 <= TARGET_P99_MS,
    )
    section.details["pages"] = results
    section.details["shape"] = shape.__dict__
