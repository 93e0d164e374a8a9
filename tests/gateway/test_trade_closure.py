"""A trade closed without a dispatch result (TradeCloser, issue 19) projects as "not
dispatched" and counts against the dispatch center on the overview."""

from __future__ import annotations

from sqlalchemy import Engine, select

from gateway.indexer import Indexer
from gateway.queries import undispatched_trades
from gateway.tables import Trade
from tests.gateway.conftest import node
from tests.gateway.synthetic import REGULATOR, ev, store


def test_a_closed_undispatched_trade_is_not_dispatched(indexer: Indexer, gw_engine: Engine) -> None:
    s, b = node(1), node(2)
    store(
        indexer,
        gw_engine,
        [
            ev(5, "TradeCreated", "TradingMarket", tradeId=4, buyer=b, seller=s, energyWh=600),
            ev(
                9,
                "TradeClosedUndispatched",
                "TradeCloser",
                tradeId=4,
                period=9,
                buyer=b,
                seller=s,
                refundFen=1,
                dueAt=1_000,
                closer=REGULATOR,
            ),
            ev(9, "TradeStatusChanged", "TradingMarket", tradeId=4, previous=1, status=4),
        ],
    )
    t = Trade.__table__  # type: ignore[attr-defined]
    with gw_engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.trade_id == 4)).mappings().one()
        assert (row["status"], row["refund_fen"], row["dispatch_accepted"]) == (
            "not dispatched",
            1,
            False,
        )
        assert row["dispatch_reason"] == "no dispatch result by the closure deadline"
        assert undispatched_trades(conn) == 1
