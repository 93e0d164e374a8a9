"""The overview's summaries (``gateway/summary.py``) stay exactly right: after indexing,
re-indexing, reorg rewinds, reproject, and on an existing database migrated to 0003."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect, select

from gateway import summary
from gateway.db import MIGRATIONS_DIR, alembic_config, make_engine, upgrade
from gateway.decode import DecodedEvent
from gateway.indexer import Indexer
from gateway.projections import counted_tables, reproject_all
from gateway.queries import counts, event_counts, market_series, trades_filter
from gateway.tables import Base, Trade, table_of
from tests.gateway.conftest import assert_summaries_exact, node, summary_rows
from tests.gateway.synthetic import BASE_BLOCK, ev, market_events, store


def test_summaries_through_indexing_reindexing_reproject_and_reorgs(
    indexer: Indexer, gw_engine: Engine, tmp_path: Path
) -> None:
    events = market_events()
    store(indexer, gw_engine, events)
    shown = assert_summaries_exact(gw_engine)
    assert shown == {
        "events": len(events),
        "blocks": 15,
        "participants": 2,
        "listings": 1,
        "trades": 1,
        "settlements": 1,
        "ratings": 2,
        "reports": 1,
        "certificate_tokens": 1,
        "certificate_retirements": 1,
        "quotas": 1,
        "meter_anchors": 1,
        "role_changes": 0,
    }
    with gw_engine.connect() as conn:
        kept = summary_rows(conn)
        top = event_counts(conn)
    assert top[0] == ("GreenCertificate.TransferSingle", 3)
    assert sum(n for _name, n in top) == len(events) == 34

    # re-indexing the same events stores nothing and changes no figure
    store(indexer, gw_engine, events)
    with gw_engine.connect() as conn:
        assert summary_rows(conn) == kept

    # reproject rebuilds every projection (and their counts) from gw_events
    with gw_engine.begin() as conn:
        reproject_all(conn)
    assert assert_summaries_exact(gw_engine) == shown
    with gw_engine.connect() as conn:
        assert summary_rows(conn) == kept

    # a reorg back to block 8 leaves the summaries of a database that never saw block 9
    keep = BASE_BLOCK + 8
    with gw_engine.begin() as conn:
        indexer.rewind(conn, keep, "0x" + f"{keep:064x}")
    early = assert_summaries_exact(gw_engine)
    assert (early["events"], early["blocks"], early["ratings"], early["reports"]) == (15, 8, 0, 0)
    other = make_engine(f"sqlite:///{tmp_path}/early.db")
    upgrade(other)
    store(indexer, other, [e for e in events if e.block_number <= keep])
    with gw_engine.connect() as a, other.connect() as b:
        assert summary_rows(a) == summary_rows(b)
    other.dispose()

    # a reorg below everything empties them; indexing again brings the same figures back
    with gw_engine.begin() as conn:
        indexer.rewind(conn, BASE_BLOCK, None)
    assert assert_summaries_exact(gw_engine) == dict.fromkeys(shown, 0)
    with gw_engine.connect() as conn:
        assert summary_rows(conn) == {t: [] for t in kept}
    store(indexer, gw_engine, events)
    with gw_engine.connect() as conn:
        assert summary_rows(conn) == kept


def test_market_series_follows_every_trade_row(indexer: Indexer, gw_engine: Engine) -> None:
    s, b = node(1), node(2)

    def take(block: int, trade_id: int, **args: object) -> DecodedEvent:
        return ev(
            block, "TradeCreated", "TradingMarket", tradeId=trade_id, seller=s, buyer=b, **args
        )

    store(
        indexer,
        gw_engine,
        [
            take(1, 1, energyWh=2_000_000, priceFenPerMwh=350_000, period=1, region="Tangshan"),
            take(1, 2, energyWh=1_000_000, priceFenPerMwh=380_000, period=1, region="Tangshan"),
            take(2, 3, energyWh=500_000, period=2),  # no price, no region
            take(2, 4, energyWh=700_000, priceFenPerMwh=300_000),  # no period: not in the series
            take(3, 5, energyWh=1_500_000, priceFenPerMwh=400_000, period=2, region="Langfang"),
            # created again in another period: the trade moves there
            take(4, 5, energyWh=1_500_000, priceFenPerMwh=400_000, period=3, region="Langfang"),
            ev(4, "TradeSettled", "SettlementEngine", tradeId=1, executedWh=2_000_000),
        ],
    )
    assert assert_summaries_exact(gw_engine)["trades"] == 5
    expected = {
        "volume_mwh": {"Tangshan": [("1", 3.0)], "?": [("2", 0.5)], "Langfang": [("3", 1.5)]},
        "price": {
            "Tangshan": [("1", 360_000.0)],
            "?": [("2", 0.0)],
            "Langfang": [("3", 400_000.0)],
        },
    }
    with gw_engine.connect() as conn:
        series = market_series(conn)
        assert {k: series[k] for k in expected} == expected
        assert summary.market_rows(conn) == [
            (1, "Tangshan", 3_000_000, 2_000_000 * 350_000 + 1_000_000 * 380_000),
            (2, None, 500_000, 0),
            (3, "Langfang", 1_500_000, 1_500_000 * 400_000),
        ]

    # sums beyond 64 bits stay exact (SQL's SUM would overflow)
    big = 2**62
    store(
        indexer,
        gw_engine,
        [
            take(5, 6, energyWh=big, priceFenPerMwh=400_000, period=4, region="Tangshan"),
            take(5, 7, energyWh=big, priceFenPerMwh=200_000, period=4, region="Tangshan"),
        ],
    )
    with gw_engine.connect() as conn:
        assert summary.market_rows(conn)[-1] == (4, "Tangshan", 2 * big, big * 600_000)
        series = market_series(conn)
        assert series["volume_mwh"]["Tangshan"][-1] == ("4", float(2 * big) / 1e6)
        assert series["price"]["Tangshan"][-1] == ("4", 300_000.0)
        assert counts(conn)["trades"] == 7

    # a reorg to block 3 rebuilds the trades: trade 5 back in period 2, no period 3 or 4
    with gw_engine.begin() as conn:
        indexer.rewind(conn, BASE_BLOCK + 3, "0x" + f"{BASE_BLOCK + 3:064x}")
    assert assert_summaries_exact(gw_engine)["trades"] == 5
    with gw_engine.connect() as conn:
        assert [(p, r) for p, r, _e, _v in summary.market_rows(conn)] == [
            (1, "Tangshan"),
            (2, None),
            (2, "Langfang"),
        ]


def _migration_0003(prefix: str = "0003") -> object:
    path = next((MIGRATIONS_DIR / "versions").glob(f"{prefix}_*.py"))
    spec = importlib.util.spec_from_file_location(f"gw_migration_{prefix}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_0003_backfills_an_existing_database(indexer: Indexer, gw_engine: Engine) -> None:
    store(indexer, gw_engine, market_events())
    with gw_engine.connect() as conn:
        kept = summary_rows(conn)
        shown = counts(conn)
    cfg = alembic_config(gw_engine)
    command.downgrade(cfg, "0002")
    assert "gw_row_counts" not in inspect(gw_engine).get_table_names()
    command.upgrade(cfg, "0003")  # on a database with data
    # it counts every table the indexer counts that exists at 0003
    existing = set(inspect(gw_engine).get_table_names())
    migration = _migration_0003()
    assert sorted(migration.COUNTED) == sorted(  # type: ignore[attr-defined]
        t for t in counted_tables() if t in existing
    )
    upgrade(gw_engine)
    with gw_engine.connect() as conn:
        assert summary_rows(conn) == kept
    assert assert_summaries_exact(gw_engine) == shown

    # the models declare the indexes the migration (and 0006, for more lists) makes
    lower = {
        ix.name: (t.name, str(next(iter(ix.expressions))))
        for t in Base.metadata.tables.values()
        for ix in t.indexes
        if ix.name and "_lower_" in ix.name
    }
    assert lower == {
        name: (table, f"lower({table}.{column})")
        for name, table, column in (
            migration.LOWER_INDEXES  # type: ignore[attr-defined]
            + _migration_0003("0006").LOWER_INDEXES  # type: ignore[attr-defined]
        )
    }
    # and the planner (SQLite's, PostgreSQL's) uses them for a participant's trades
    query = (
        select(table_of(Trade))
        .where(trades_filter(node(1), None, None))
        .order_by(table_of(Trade).c.trade_id.desc())
        .limit(200)
    )
    compiled = query.compile(gw_engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN"
    with gw_engine.connect() as conn:
        if gw_engine.dialect.name == "postgresql":  # a tiny table: scanning it is cheaper
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_indexscan = off")  # (the primary key's, backward)
            explain = "EXPLAIN"
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"{explain} {compiled}"))
    assert "ix_gw_trades_lower_seller" in plan
    assert "ix_gw_trades_lower_buyer" in plan


def test_the_benchmark_generator_keeps_the_summaries_as_the_indexer_does(
    gw_engine: Engine,
) -> None:
    from scripts.bench.gateway_bench import EVENTS_PER_TRADE, NODES, populate

    filled = populate(gw_engine, 2_000)
    shown = assert_summaries_exact(gw_engine)
    assert shown["events"] == filled["events"] == 2_000
    assert shown["trades"] == shown["listings"] == 2_000 // EVENTS_PER_TRADE
    assert shown["participants"] == NODES
