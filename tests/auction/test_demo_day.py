"""The demo day's auction: on a compact mini day on anvil, right after taking, its trades
go through dispatch, metering and settlement with the posted ones and are counted apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.clients.auction import CentralAuctionClient, Phase
from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.manifest import Manifest
from ledger.scenario import generate
from scripts.market_day import DaySchedule, MarketDay, compact_scenario
from tests.conftest import make_settings


@pytest.mark.slow
def test_auction_trades_settle_in_the_day(
    ctx: LedgerContext, deployed: Manifest, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    day_ctx = LedgerContext(settings, w3=ctx.w3, manifest=deployed)
    schedule = DaySchedule.compact(interval_s=20, intervals=4, blocks=2, trading_s=120)
    scenario = compact_scenario(generate("jibei-mini", 1), 4)
    messages: list[str] = []
    day = MarketDay(day_ctx, scenario, messages.append, schedule=schedule, workers=4)
    for step in (day.tariffs, day.onboard, day.register_meters, day.open_period, day.post):
        step()
    day.take()
    posted = (day.summary.trades, day.summary.traded_wh, list(day.trade_ids))
    day.auction()
    s = day.summary
    assert (s.trades, s.traded_wh) == posted[:2]  # the posted figures are untouched
    assert s.auction_orders == len(scenario.participants)
    assert s.auction_trades > 0
    assert day.trade_ids == posted[2] + day.auction_trade_ids
    auction = day_ctx.client(CentralAuctionClient, day.role("operator"))
    a = auction.auction(auction.auction_count())
    assert a.phase == Phase.CLEARED
    assert (a.trade_count, a.traded_wh) == (s.auction_trades, s.auction_traded_wh)
    for step in (day.dispatch, day.metering, day.settle):
        step()
    day.count_auction_settled()
    day.conservation()
    market = day_ctx.client(TradingMarketClient, day.role("operator"))
    assert all(market.trade(t).status == TradeStatus.SETTLED for t in day.trade_ids)
    assert s.auction_trades_settled == s.auction_trades
    assert s.trades_settled == s.trades
    assert s.conserved
    assert any(m.startswith("auction 1: ") for m in messages)
