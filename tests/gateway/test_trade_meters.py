"""A trade's meter section reads its nodes' totals and deviations of the trade's period
only (matched in SQL, so a node with many periods still finds the right one)."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.decode import DecodedEvent
from gateway.indexer import Indexer
from gateway.queries import EventFilter, events_page, trade_life, trade_meters
from tests.gateway.conftest import node
from tests.gateway.synthetic import VINTAGE, ev, market_events, store


def _totals(n: str, period: int, import_wh: int, export_wh: int, block: int) -> list[DecodedEvent]:
    return [
        ev(
            block,
            "NodeTotalRecorded",
            "MeterOracle",
            node=n,
            period=period,
            importWh=import_wh,
            exportWh=export_wh,
            readingsRoot="0x" + f"{period:064x}",
        ),
        ev(
            block,
            "DeviationSettled",
            "SettlementEngine",
            node=n,
            period=period,
            deviationWh=import_wh - 1_000_000,
            amountFen=period % 1000,
        ),
    ]


def test_trade_meters_pick_the_trades_period_among_many(
    indexer: Indexer, gw_engine: Engine
) -> None:
    s, b = node(1), node(2)
    others = [p for p in range(VINTAGE - 40, VINTAGE + 40) if p != VINTAGE]
    noise = [e for i, p in enumerate(others) for e in _totals(b, p, 7_000_000 + i, 0, 20 + i)]
    mine = _totals(b, VINTAGE, 1_960_000, 0, 15) + _totals(s, VINTAGE, 0, 1_900_000, 15)
    indexer.run_once()
    store(indexer, gw_engine, market_events() + mine + noise)

    with gw_engine.connect() as conn:
        life = trade_life(conn, 7)
        assert life is not None
        assert life["trade"]["period"] == VINTAGE
        rows = {m["side"]: m for m in trade_meters(conn, life["trade"], life["events"])}
        by_period = events_page(
            conn, EventFilter(participant=b, event="NodeTotalRecorded", arg=("period", "2025")), 10
        )[0]

    assert rows["buyer"]["metered_wh"] == 1_960_000  # the total, not TradeMetered's 1.95
    assert rows["buyer"]["deviation_wh"] == 960_000
    assert rows["buyer"]["deviation_fen"] == VINTAGE % 1000
    assert rows["buyer"]["readings_root"] == "0x" + f"{VINTAGE:064x}"
    assert rows["seller"]["metered_wh"] == 1_900_000
    assert rows["seller"]["export_wh"] == 1_900_000
    # A period that is the prefix of another's digits matches only itself.
    assert by_period == []


def test_a_dispatch_result_reads_in_mwh_with_its_reason_by_name(
    indexer: Indexer, gw_engine: Engine
) -> None:
    result = ev(
        20,
        "DispatchResultRecorded",
        "DispatchResults",
        tradeId=7,
        period=VINTAGE,
        executedWh=1_900_000,
        curtailedWh=100_000,
        reasonCode=1,
    )
    indexer.run_once()
    store(indexer, gw_engine, [*market_events(), result])

    with gw_engine.connect() as conn:
        life = trade_life(conn, 7)
    assert life is not None
    assert life["trade"]["dispatch_reason"] == (
        "executed 1.900000 MWh, curtailed 0.100000 MWh, reason: corridor limit"
    )
