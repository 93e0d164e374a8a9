"""Section 5: gateway query latency with at least 1,000,000 indexed events.

Synthetic market history is bulk-inserted straight into the gateway's schema (Alembic
migrations, then SQLAlchemy Core inserts into ``gw_events``, ``gw_event_refs``,
``gw_blocks`` and the participants/listings/trades projections, keeping the overview's
summaries through the indexer's own ``gateway.summary`` functions) in a temporary SQLite
file, then again in a throwaway PostgreSQL server (``scripts/pgserver.py``; keys suffixed
``_postgresql``): the point is query latency at that size, not indexing speed. Each trade brings
eight events (ListingPosted, TradeCreated, TradeRouted, two token Transfers, a dispatch
result, a node total, a settlement), so 1,000,000 events are 125,000 trades among the
jibei preset's 3,513 nodes. Each trade also brings its rating, its period's certificate
token of the seller and quota row of the buyer (first trade of the period), every fourth
trade a certificate retirement, and each period a quota rule (projection rows only, for
the certificate, quota and rating lists; the event count stays eight per trade).
Then the main history API queries and explorer pages are
requested through the ASGI app in-process (Starlette's TestClient), each ``N`` times with
varying arguments; p50/p99 per query and the worst p99 are reported. No chain is needed.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert

from gateway import summary
from gateway.db import make_engine, upgrade
from gateway.queries import encode_cursor
from gateway.tables import (
    Block,
    CertificateRetirement,
    CertificateToken,
    Event,
    EventRef,
    Listing,
    Participant,
    Quota,
    QuotaPeriod,
    Rating,
    Trade,
    table_of,
)
from ledger.settings import Settings
from scripts.bench.common import percentile
from scripts.bench.report import Section
from scripts.pgserver import Databases, PostgresServer, find_bindir

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient deprecation notice
    from fastapi.testclient import TestClient

TARGET_P99_MS = 100.0
EVENTS_PER_TRADE = 8
EVENTS_PER_BLOCK = 10
NODES = 3_513
BASE_TIME = 1_767_225_600
API_KEY = "bench-auditor-key"
CONTRACT_ADDR = {
    "TradingMarket": "0x" + "31" * 20,
    "SettlementToken": "0x" + "11" * 20,
    "DispatchResults": "0x" + "41" * 20,
    "MeterOracle": "0x" + "42" * 20,
    "SettlementEngine": "0x" + "51" * 20,
    "NodeRegistry": "0x" + "12" * 20,
}


#: Projection rows of the certificate, quota and rating lists: name -> model.
EXTRA_TABLES = {
    "ratings": Rating,
    "tokens": CertificateToken,
    "quotas": Quota,
    "retirements": CertificateRetirement,
    "quota_rules": QuotaPeriod,
}


@dataclass(frozen=True)
class Shape:
    events: int
    requests: int
    max_s_per_query: float


FULL = Shape(events=1_000_000, requests=100, max_s_per_query=30.0)
QUICK = Shape(events=20_000, requests=20, max_s_per_query=5.0)


def node(n: int) -> str:
    return f"0x{0xA0000 + n:040x}"


class Generator:
    """Synthetic events in chain order, with their refs and projections."""

    def __init__(self, seed: int = 12) -> None:
        self.rng = random.Random(seed)
        self.events: list[dict[str, Any]] = []
        self.refs: list[dict[str, Any]] = []
        self.blocks: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.listings: list[dict[str, Any]] = []
        self.extra: dict[str, list[dict[str, Any]]] = {name: [] for name in EXTRA_TABLES}
        self.seen: set[tuple[str, int]] = set()
        self.event_id = 0
        self.block = 100
        self.in_block = 0

    def _block(self) -> int:
        if self.in_block >= EVENTS_PER_BLOCK:
            self.blocks.append(self._block_row(self.block, self.in_block))
            self.block += 1
            self.in_block = 0
        self.in_block += 1
        return self.block

    @staticmethod
    def _block_row(number: int, count: int) -> dict[str, Any]:
        return {
            "number": number,
            "hash": f"0x{number:064x}",
            "parent_hash": f"0x{number - 1:064x}",
            "timestamp": BASE_TIME + number * 2,
            "tx_count": count,
            "event_count": count,
        }

    def add(self, contract: str, name: str, **args: Any) -> None:
        block = self._block()
        self.event_id += 1
        eid = self.event_id
        values = {k: (str(v) if isinstance(v, int) else v) for k, v in args.items()}
        self.events.append(
            {
                "id": eid,
                "block_number": block,
                "block_hash": f"0x{block:064x}",
                "block_time": BASE_TIME + block * 2,
                "tx_hash": f"0x{eid:064x}",
                "tx_index": 0,
                "log_index": self.in_block,
                "contract": contract,
                "address": CONTRACT_ADDR[contract],
                "event": name,
                "args": json.dumps(values, sort_keys=True, separators=(",", ":")),
            }
        )
        for key, value in values.items():
            if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
                kind, ref = "address", value.lower()
            elif key in ("tradeId", "listingId"):
                kind, ref = key[:-2], value
            else:
                continue
            self.refs.append({"event_id": eid, "block_number": block, "kind": kind, "value": ref})

    def trade(self, trade_id: int) -> None:
        seller = node(self.rng.randrange(284))
        buyer = node(284 + self.rng.randrange(NODES - 284))
        energy = self.rng.randrange(100_000, 50_000_000)
        price = self.rng.randrange(300_000, 420_000)
        period = 1 + trade_id // 5_000
        escrow = energy * price // 1_000_000
        block = self.block
        self.add(
            "TradingMarket",
            "ListingPosted",
            listingId=trade_id,
            maker=seller,
            energyWh=energy,
            priceFenPerMwh=price,
            period=period,
        )
        self.add(
            "TradingMarket",
            "TradeCreated",
            tradeId=trade_id,
            listingId=trade_id,
            buyer=buyer,
            seller=seller,
            energyWh=energy,
            escrowFen=escrow,
        )
        self.add("TradingMarket", "TradeRouted", tradeId=trade_id, feeFen=escrow // 50)
        self.add(
            "SettlementToken",
            "Transfer",
            **{"from": buyer, "to": CONTRACT_ADDR["TradingMarket"], "value": escrow},
        )
        self.add(
            "DispatchResults",
            "DispatchResultRecorded",
            tradeId=trade_id,
            executedWh=energy,
            curtailedWh=0,
        )
        self.add(
            "MeterOracle",
            "NodeTotalRecorded",
            node=seller,
            period=period,
            importWh=0,
            exportWh=energy,
        )
        self.add("SettlementEngine", "TradeSettled", tradeId=trade_id, paidToSellerFen=escrow)
        self.add(
            "SettlementToken",
            "Transfer",
            **{"from": CONTRACT_ADDR["TradingMarket"], "to": seller, "value": escrow},
        )
        row = {
            "energy_wh": energy,
            "price_fen_per_mwh": price,
            "period": period,
            "created_block": block,
            "created_time": BASE_TIME + block * 2,
            "tx_hash": f"0x{self.event_id:064x}",
            "block_number": block,
        }
        self.listings.append(
            row
            | {
                "listing_id": trade_id,
                "maker": seller,
                "side": "sell",
                "remaining_wh": 0,
                "region": "Tangshan",
                "status": "filled",
            }
        )
        self.trades.append(
            row
            | {
                "trade_id": trade_id,
                "listing_id": trade_id,
                "seller": seller,
                "buyer": buyer,
                "region": "Tangshan",
                "prepayment_fen": escrow,
                "status": "settled",
                "delivered_wh": energy,
                "paid_to_seller_fen": escrow,
            }
        )
        self.certificates(self.trades[-1])

    def certificates(self, trade: dict[str, Any]) -> None:
        """The trade's rating, and its seller's token, buyer's quota, a retirement."""
        trade_id, seller, buyer = trade["trade_id"], trade["seller"], trade["buyer"]
        period, block, at = trade["period"], trade["block_number"], trade["created_time"]
        tx = trade["tx_hash"]
        token = str(1 << 248 | int(seller, 16) << 64 | period)
        on_chain = {"block_number": block, "tx_hash": tx}
        self.extra["ratings"].append(
            on_chain
            | {"trade_id": trade_id, "rater": buyer, "ratee": seller, "score": 3 + trade_id % 3}
            | {"block_time": at, "log_index": 99}
        )
        if (seller, period) not in self.seen:
            self.seen.add((seller, period))
            self.extra["tokens"].append(
                on_chain
                | {"token_id": token, "type_id": 1, "source": "wind", "generator": seller}
                | {"vintage": period, "issued": 40, "generation_wh": 40_000_000, "retired": 0}
                | {"revoked": 0, "created_block": block, "created_time": at}
            )
        if (buyer, period) not in self.seen:
            self.seen.add((buyer, period))
            assessed = period % 2 == 1
            self.extra["quotas"].append(
                {"party": buyer, "period": period, "obligation_wh": trade["energy_wh"] // 5}
                | {"covered_wh": (trade_id % 3) * 1_000_000, "assessed": assessed}
                | {"block_number": block}
            )
        if trade_id % 4 == 0:
            self.extra["retirements"].append(
                on_chain
                | {"retirement_id": trade_id // 4, "token_id": token, "holder": seller}
                | {"beneficiary": buyer, "amount": 1, "period": period, "trade_id": trade_id}
                | {"retired_by": seller, "covered_wh": 1_000_000, "block_time": at}
            )
        if trade_id % 5_000 == 1:
            self.extra["quota_rules"].append(
                {"period": period, "weight_bps": 1_500, "deadline": at + 86_400 * 30}
                | {"fine_rate_fen_per_mwh": 8_000, "regulator": node(0), "block_number": block}
            )

    def drain(self) -> dict[str, list[dict[str, Any]]]:
        out = {
            "events": self.events,
            "refs": self.refs,
            "blocks": self.blocks,
            "trades": self.trades,
            "listings": self.listings,
            **self.extra,
        }
        self.events, self.refs, self.blocks, self.trades, self.listings = [], [], [], [], []
        self.extra = {name: [] for name in EXTRA_TABLES}
        return out


def keep_summary(conn: Connection, name: str, table: Table, rows: list[dict[str, Any]]) -> None:
    """Keep the overview's summaries of the rows just inserted, as the indexer does."""
    if name == "events":
        summary.events_added(conn, ((r["contract"], r["event"]) for r in rows))
    elif name != "refs":  # event refs are not counted
        summary.add_rows(conn, table, len(rows))
    if name == "trades":
        summary.trades_changed(conn, [], rows)


def populate(engine: Engine, events: int) -> dict[str, float]:
    """Insert about ``events`` synthetic events (and their refs and projections)."""
    began = time.perf_counter()
    gen = Generator()
    tables = {
        "events": table_of(Event),
        "refs": table_of(EventRef),
        "blocks": table_of(Block),
        "trades": table_of(Trade),
        "listings": table_of(Listing),
        **{name: table_of(model) for name, model in EXTRA_TABLES.items()},
    }
    with engine.begin() as conn:
        conn.execute(
            insert(table_of(Participant)),
            [
                {
                    "address": node(n),
                    "kind": "wind" if n < 284 else "consumer",
                    "region": "Tangshan",
                    "status": "active",
                    "bond_fen": 100_000_000,
                    "credit_level": n % 7,
                    "reputation": 500 + n % 400,
                    "registered_block": 1,
                    "registered_time": BASE_TIME,
                    "block_number": 1,
                    "tx_hash": f"0x{n:064x}",
                }
                for n in range(NODES)
            ],
        )
        summary.add_rows(conn, table_of(Participant), NODES)
        trades = events // EVENTS_PER_TRADE
        for trade_id in range(1, trades + 1):
            gen.trade(trade_id)
            if trade_id % 5_000 == 0 or trade_id == trades:
                if trade_id == trades:
                    gen.blocks.append(gen._block_row(gen.block, gen.in_block))
                for name, rows in gen.drain().items():
                    if rows:
                        conn.execute(insert(tables[name]), rows)
                        keep_summary(conn, name, tables[name], rows)
    inserted = gen.event_id
    return {"events": float(inserted), "insert_s": time.perf_counter() - began}


#: The databases the benchmark runs on; SQLite's figures keep the unsuffixed keys.
DATABASES = ("sqlite", "postgresql")


def run(section: Section, quick: bool) -> None:
    shape = QUICK if quick else FULL
    for database in DATABASES:
        with tempfile.TemporaryDirectory(prefix="gl-bench-gw-") as tmp:
            if database == "sqlite":
                db = Path(tmp) / "gateway.db"
                results, info = measure(shape, Path(tmp), f"sqlite:///{db}")
                info.update(
                    database="SQLite (WAL) temporary file", db_size_mb=db.stat().st_size / 1e6
                )
                report(section, shape, results, info, suffix="")
                continue
            if find_bindir() is None:
                section.details["postgresql"] = "skipped: PostgreSQL is not installed"
                continue
            with PostgresServer(durable=True) as server:
                maker = Databases(server.url)
                url = maker.create("bench")
                maker.dispose()
                results, info = measure(shape, Path(tmp), url)
            info["database"] = "PostgreSQL (throwaway server of scripts/pgserver.py, fsync on)"
            report(section, shape, results, info, suffix="_postgresql")


def measure(
    shape: Shape, tmp: Path, url: str
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Fill the database at ``url`` and time every query; returns results and details."""
    keys = tmp / "keys.json"
    keys.write_text(json.dumps({API_KEY: "auditor"}))
    settings = Settings.model_validate(
        {
            "data_dir": tmp,
            "GRIDLEDGER_DATABASE_URL": url,
            "gateway_api_keys_file": keys,
            "gateway_rate_limit_per_s": 1e9,
            "gateway_rate_limit_burst": 1_000_000_000,
        }
    )
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        filled = populate(engine, shape.events)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
            size_mb = None
            if engine.dialect.name == "postgresql":
                size = conn.exec_driver_sql("SELECT pg_database_size(current_database())")
                size_mb = int(size.scalar_one()) / 1e6
        from gateway.app import create_app

        results = time_queries(create_app(settings, engine=engine), shape, int(filled["events"]))
    finally:
        engine.dispose()
    info: dict[str, Any] = {"events": int(filled["events"]), "insert_s": filled["insert_s"]}
    if size_mb is not None:
        info["db_size_mb"] = size_mb
    return results, info


def query_paths(n_events: int) -> dict[str, Callable[[], str]]:
    """Each benchmarked request, as a maker of its next URL (varying arguments)."""
    trades = n_events // EVENTS_PER_TRADE
    last_block = 100 + n_events // EVENTS_PER_BLOCK
    rng = random.Random(7)

    def addr() -> str:
        return node(rng.randrange(NODES))

    return {
        "api events (first page)": lambda: "/api/v1/events?limit=100",
        "api events by participant": lambda: f"/api/v1/events?participant={addr()}&limit=100",
        "api events by name": lambda: "/api/v1/events?event=TradeCreated&limit=100",
        "api events by block range": lambda: (
            f"/api/v1/events?from_block={(b := rng.randrange(100, last_block))}"
            f"&to_block={b + 500}&contract=TradingMarket&limit=100"
        ),
        "api events cursor (deep page)": lambda: (
            "/api/v1/events?limit=100&cursor=" + encode_cursor(rng.randrange(100, last_block), 0)
        ),
        "api trades (first page)": lambda: "/api/v1/trades?limit=100",
        "api trades by participant": lambda: f"/api/v1/trades?participant={addr()}&limit=100",
        "api trades cursor": lambda: f"/api/v1/trades?limit=100&cursor={rng.randrange(trades)}",
        "api trade life": lambda: f"/api/v1/trades/{rng.randrange(1, trades + 1)}",
        "api participants": lambda: "/api/v1/participants?limit=100",
        "api participant": lambda: f"/api/v1/participants/{addr()}",
        "page overview /": lambda: "/",
        "page participants": lambda: "/participants",
        "page participant": lambda: f"/participants/{addr()}",
        "page trades": lambda: "/trades",
        "page trade": lambda: f"/trades/{rng.randrange(1, trades + 1)}",
        "page listings": lambda: "/listings",
        # the explorer's paged and filtered lists (keyset pages, filters, both directions)
        "page trades older (deep page)": lambda: f"/trades?before={rng.randrange(trades)}",
        "page trades newer (deep page)": lambda: f"/trades?after={rng.randrange(trades)}",
        "page trades by period": lambda: f"/trades?period={1 + rng.randrange(trades) // 5_000}",
        "page trades by status + region": lambda: (
            f"/trades?status=settled&region=Tangshan&before={rng.randrange(trades)}"
        ),
        "page trades by participant": lambda: f"/trades?participant={addr()}",
        "page trades by time range": lambda: (
            f"/trades?from_time={(t := BASE_TIME + rng.randrange(100, last_block) * 2)}"
            f"&to_time={t + 3_600}"
        ),
        "page trades no match (status)": lambda: "/trades?status=failed",
        "page listings by side + period": lambda: (
            f"/listings?side=sell&period={1 + rng.randrange(trades) // 5_000}"
        ),
        "page violations": lambda: "/violations",
        # every other list paged: certificates, quotas, quota rules, retirements, ratings
        "page certificates": lambda: "/certificates",
        "page certificates older (deep page)": lambda: (
            f"/certificates?before={rng.randrange(100, last_block)}~{rng.randrange(10**70)}"
        ),
        "page certificates by vintage + generator": lambda: (
            f"/certificates?period={1 + rng.randrange(trades) // 5_000}"
            f"&participant={node(rng.randrange(284))}"
        ),
        "page quotas by period + status": lambda: (
            f"/certificates/quotas?period={1 + rng.randrange(trades) // 5_000}&status=short"
        ),
        "page quotas older (deep page)": lambda: (
            f"/certificates/quotas?before={1 + rng.randrange(trades) // 5_000}~{addr()}"
        ),
        "page quotas by participant": lambda: f"/certificates/quotas?participant={addr()}",
        "page quota rules": lambda: "/certificates/quota-rules",
        "page retirements by participant": lambda: (
            f"/certificates/retirements?participant={addr()}"
        ),
        "page retirements older (deep page)": lambda: (
            f"/certificates/retirements?before={rng.randrange(trades // 4)}"
        ),
        "page ratings received": lambda: f"/ratings?ratee={node(rng.randrange(284))}",
        "page ratings given (older)": lambda: (
            f"/ratings?rater={addr()}&before={rng.randrange(trades)}"
        ),
        "page ratings older (deep page)": lambda: f"/ratings?before={rng.randrange(trades)}",
        # the auditors' decoded events, paged both ways, and a block's events
        "page events": lambda: "/events",
        "page events by participant": lambda: f"/events?participant={addr()}",
        "page events older (deep page)": lambda: (
            "/events?before=" + encode_cursor(rng.randrange(100, last_block), 0)
        ),
        "page events newer (deep page)": lambda: (
            "/events?contract=TradingMarket&after="
            + encode_cursor(rng.randrange(100, last_block), 0)
        ),
        "page block": lambda: f"/blocks/{rng.randrange(100, last_block)}",
        # any list's page as JSON (the same filters and cursors)
        "api lists quotas by period + status": lambda: (
            f"/api/v1/lists/quotas?period={1 + rng.randrange(trades) // 5_000}&status=short"
        ),
        "api lists ratings (deep page)": lambda: (
            f"/api/v1/lists/ratings?before={rng.randrange(trades)}&limit=100"
        ),
    }


def time_queries(app: Any, shape: Shape, n_events: int) -> dict[str, dict[str, float]]:
    """p50/p99 of each query through the ASGI app in-process."""
    results: dict[str, dict[str, float]] = {}
    with TestClient(app, headers={"X-API-Key": API_KEY}) as http:
        for name, path in query_paths(n_events).items():
            times: list[float] = []
            deadline = time.perf_counter() + shape.max_s_per_query
            http.get(path())  # warm-up (templates, statement cache)
            for i in range(shape.requests):
                url = path()
                began = time.perf_counter()
                reply = http.get(url)
                times.append((time.perf_counter() - began) * 1000)
                if reply.status_code != 200:
                    raise RuntimeError(f"{url}: {reply.status_code} {reply.text[:200]}")
                if i >= 4 and time.perf_counter() > deadline:
                    break
            results[name] = {
                "p50_ms": percentile(times, 0.5),
                "p99_ms": percentile(times, 0.99),
                "requests": float(len(times)),
            }
    return results


def report(
    section: Section,
    shape: Shape,
    results: dict[str, dict[str, float]],
    info: dict[str, Any],
    *,
    suffix: str,
) -> None:
    """The figures of one database (keys end in ``suffix``; SQLite's have none)."""
    quick = shape == QUICK
    on = " on PostgreSQL" if suffix == "_postgresql" else ""
    n_events = info["events"]
    worst = max(results, key=lambda k: results[k]["p99_ms"])
    worst_p99 = results[worst]["p99_ms"]
    section.add(
        f"indexed_events{suffix}",
        f"indexed events{on}",
        float(n_events),
        "events",
        target=">= 1,000,000" if not quick else None,
        ok=(n_events >= 1_000_000) if not quick else None,
    )
    for name, r in results.items():
        key = name.replace(" ", "_").replace("/", "").replace("(", "").replace(")", "")
        section.add(
            f"p99_{key}{suffix}",
            f"{name} p99{on} (p50 {r['p50_ms']:.0f} ms)",
            r["p99_ms"],
            "ms",
            target=f"<= {TARGET_P99_MS:.0f}",
            ok=r["p99_ms"] <= TARGET_P99_MS,
        )
    section.add(
        f"worst_p99_ms{suffix}",
        f"worst p99{on} ({worst})",
        worst_p99,
        "ms",
        target=f"<= {TARGET_P99_MS:.0f} (source: 1,000)",
        ok=worst_p99 <= TARGET_P99_MS,
    )
    details = {"queries": results, "insert_s": info["insert_s"], "database": info["database"]}
    details["db_size_mb"] = info.get("db_size_mb")
    if suffix:
        section.details[suffix.lstrip("_")] = details
    else:
        section.details.update({"shape": shape.__dict__, **details})
