"""The market's own price history: ``GET /api/v1/analytics/prices`` over indexed trades
(spread over their period's quarter-hours, volume-weighted, unplaced and cancelled trades
left out), and four weeks of indexed trades driving the forecast: the API's cells are the
trades', the back-test on them beats the seasonal-naive baseline (both computed), and the
explorer page and ``gridledger analytics backtest --from-gateway`` use them."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.analytics_prices import cells_of, market_prices
from gateway.app import create_app
from gateway.db import make_engine, upgrade
from gateway.decode import DecodedEvent
from gateway.indexer import Indexer
from ledger.analytics.forecast import backtest
from ledger.analytics.history import MIN_MARKET_DAYS, generate_history, history_from_cells
from ledger.cli import run
from ledger.context import LedgerContext
from ledger.settings import Settings
from tests.analytics.test_forecast_page import _ready
from tests.gateway.conftest import LiveServer, node
from tests.gateway.synthetic import ev, store

LOCAL = timezone(timedelta(hours=8))
#: Local midnight of 2026-06-01 (UTC+8), in unix seconds.
MIDNIGHT = int(datetime(2026, 6, 1, tzinfo=LOCAL).timestamp())
WEEKS, SEED = 4, 3


def period_opened(
    block: int, period: int, start: int, interval_s: int, intervals: int
) -> DecodedEvent:
    return ev(block, "PeriodOpened", "Trading", period=period, deliveryStart=start,
              intervalS=interval_s, intervals=intervals, postingOpensAt=start - 7200,
              takingOpensAt=start - 3600, takingClosesAt=start - 900, operator=node(9))  # fmt: skip


def trade(
    block: int, trade_id: int, period: int, region: str, price: int, energy_wh: int
) -> DecodedEvent:
    return ev(block, "TradeCreated", "Trading", tradeId=trade_id, listingId=0, seller=node(1),
              buyer=node(2), taker=node(2), energyWh=energy_wh, priceFenPerMwh=price,
              period=period, region=region, prepaymentFen=0)  # fmt: skip


def test_prices_api_spreads_and_weights_trades(
    indexer: Indexer, gw_engine: Engine, live: tuple[str, httpx.Client]
) -> None:
    store(
        indexer,
        gw_engine,
        [
            # period 1: two hours from local midnight (8 quarter-hours); period 2: 00:15-00:30
            period_opened(5_000, 1, MIDNIGHT, 3600, 2),
            period_opened(5_000, 2, MIDNIGHT + 900, 900, 1),
            trade(5_001, 90_001, 1, "North", 30_000, 8_000_003),  # 1,000,001 Wh x 3, 1,000,000 x 5
            trade(5_001, 90_002, 2, "North", 30_001, 3_000_000),
            trade(5_001, 90_003, 2, "South", 41_000, 500_000),
            trade(5_001, 90_004, 77, "North", 99_000, 1_000_000),  # period never indexed
            ev(5_002, "TradeCreated", "Trading", tradeId=90_005, listingId=0, seller=node(1),
               buyer=node(2), energyWh=1_000_000, priceFenPerMwh=1, period=2, region="North"),
            ev(5_003, "TradeCancelled", "Trading", tradeId=90_005),
        ],
    )  # fmt: skip
    _, client = live
    response = client.get("/api/v1/analytics/prices")
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["trades"], data["unplaced_trades"], data["days"]) == (3, 1, 1)
    assert data["regions"] == ["North", "South"]
    cells = {(c["region"], c["interval"]): c for c in data["cells"]}
    assert sorted(cells) == [("North", i) for i in range(8)] + [("South", 1)]
    assert {c["day"] for c in data["cells"]} == {"2026-06-01"}
    # 00:15-00:30: 1,000,001 Wh at 30,000 and 3,000,000 at 30,001 -> 30,000.75 -> 30,001
    assert cells[("North", 1)] == {
        "region": "North",
        "day": "2026-06-01",
        "interval": 1,
        "price_fen_per_mwh": 30_001,
        "volume_wh": 4_000_001,
        "trades": 2,
    }
    assert [cells[("North", i)]["volume_wh"] for i in (0, 2, 3, 7)] == [1_000_001, 1_000_001] + [
        1_000_000
    ] * 2
    assert cells[("North", 5)]["price_fen_per_mwh"] == 30_000
    assert cells[("South", 1)]["price_fen_per_mwh"] == 41_000


def _market_events() -> tuple[list[DecodedEvent], np.ndarray, list[str]]:
    """Four weeks of quarter-hour periods and one trade per region and quarter-hour at the
    generated history's price and volume (2 regions), less one trade (a quarter-hour
    nobody traded in)."""
    source = generate_history(7 * WEEKS, SEED, regions=2)
    events: list[DecodedEvent] = []
    trade_id = 200_000
    for d in range(source.days):
        for i in range(96):
            period = 1_000 + d * 96 + i
            block = 10_000 + d * 96 + i
            events.append(period_opened(block, period, MIDNIGHT + d * 86_400 + i * 900, 900, 1))
            for r, name in enumerate(source.regions):
                if (d, i, r) == (20, 40, 1):
                    continue
                trade_id += 1
                price = int(source.price_fen_per_mwh[r, d, i])
                energy_wh = int(source.volume_mwh[r, d, i]) * 1_000_000
                events.append(trade(block, trade_id, period, name, price, energy_wh))
    return events, source.price_fen_per_mwh, list(source.regions)


def test_weeks_of_indexed_trades_drive_the_forecast(ctx: LedgerContext, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/gw.db")
    upgrade(engine)
    try:
        events, prices, regions = _market_events()
        store(Indexer(ctx, engine, confirmations=0), engine, events)
        with engine.connect() as conn:
            market = market_prices(conn)
        assert (market.trades, market.unplaced_trades) == (len(events) - 96 * 7 * WEEKS, 0)
        assert market.days == 7 * WEEKS >= MIN_MARKET_DAYS
        history = history_from_cells(cells_of(market))
        assert history.regions == tuple(sorted(regions))
        assert history.filled_cells == 1
        order = [regions.index(name) for name in history.regions]
        expected = prices[order].copy()
        r = history.regions.index(regions[1])
        expected[r, 20, 40] = expected[r, 19, 40]  # filled: the same quarter-hour the day before
        assert np.array_equal(history.price_fen_per_mwh, expected)
        result = backtest(history, 7, SEED)
        baseline = np.mean(
            [
                np.abs(history.price_fen_per_mwh[:, d - 7] - history.price_fen_per_mwh[:, d])
                / history.price_fen_per_mwh[:, d]
                for d in range(history.days - 7, history.days)
            ]
        )
        assert result.baseline_mape == pytest.approx(float(baseline * 100), rel=1e-12)
        assert result.mape < result.baseline_mape

        settings = Settings(data_dir=tmp_path, gateway_api_keys_file=None)
        app = create_app(settings, engine=engine)
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=120) as client:
            html = _ready(client, f"/analytics/forecast?region={regions[0].lower()}")
            assert 'id="history-source">History: <b>the market' in html
            assert f"{7 * WEEKS} days from 2026-06-01" in html
            assert "synthetic" not in html
            assert f"<b>{regions[0]}</b>" in html
            assert f"{result.mape:.2f} %" in html
            code, out = _cli(["analytics", "backtest", "--from-gateway", server.url, "--holdout",
                              "7", "--seed", str(SEED), "--json"])  # fmt: skip
            assert code == 0, out
            data = json.loads(out)
            assert data["history"] == "market"
            assert (data["history_days"], data["filled_cells"]) == (7 * WEEKS, 1)
            assert data["mape"] == result.mape
            assert data["beats_baseline"] is True
            code, out = _cli(["analytics", "forecast", "--from-gateway", server.url, "--json"])
            assert code == 0, out
            data = json.loads(out)
            assert (data["history"], data["trained_on_days"]) == ("market", 7 * WEEKS)
            assert data["day"] == "2026-06-29"
            assert sorted(data["regions"]) == sorted(regions)
    finally:
        engine.dispose()


def _cli(args: list[str]) -> tuple[int, str]:
    runner = CliRunner()
    with runner.isolation() as (out, err, *_):
        code = run(args)
        return code, out.getvalue().decode() + err.getvalue().decode()


def test_forecast_page_is_synthetic_without_enough_history(
    live: tuple[str, httpx.Client], indexer: Indexer, gw_engine: Engine
) -> None:
    store(indexer, gw_engine, [period_opened(5_000, 1, MIDNIGHT, 900, 1),
                               trade(5_001, 90_001, 1, "North", 30_000, 1_000_000)])  # fmt: skip
    url, client = live
    # the page may show a finished analysis of an earlier test's database of the same URL
    # while this one's runs: wait for this one's
    for _ in range(600):
        html = _ready(client, "/analytics/forecast?region=Beijing")
        if "synthetic (not enough market history: 1 days indexed)" in html:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(html)
    code, out = _cli(["analytics", "forecast", "--from-gateway", url])
    assert code == 1
    assert "not enough market history: 1 days indexed, the forecast needs 21" in out
