"""The market day's schedule, clock and compact market; a compact day on anvil.

The default schedule must be the day-ahead day the demo has always run (same blocks, same
energies, same powers); the compact one sums quarter-hours into short intervals and scales
powers by the same factor. The real-time clock waits for blocks (and gives up on a chain
that stops sealing). A compact day with parallel senders settles every trade on anvil.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.errors import GridLedgerError
from ledger.manifest import Manifest
from ledger.scenario import generate
from ledger.settings import Settings
from ledger.units import value_fen
from ledger.web3factory import make_web3
from scripts.market_day import BLOCKS, ChainClock, DaySchedule, MarketDay, compact_scenario
from tests.conftest import make_settings


def test_default_schedule_is_the_day_ahead_day() -> None:
    schedule = DaySchedule()
    assert (schedule.interval_s, schedule.intervals, schedule.trading_s) == (900, 96, None)
    assert schedule.block_ranges() == BLOCKS
    assert schedule.represented_s == 900
    assert schedule.scaled(123_456) == 123_456
    profile = generate("jibei-mini", 1).participants[0].profile_wh
    assert schedule.profile(profile) == profile


def test_compact_schedule_sums_quarter_hours_and_scales_power() -> None:
    schedule = DaySchedule.compact(interval_s=15, intervals=8, blocks=4, trading_s=40)
    assert schedule.block_ranges() == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert schedule.quarter_hours_per_interval == 12
    assert schedule.represented_s == 3 * 3600
    # 1 kW for 3 h is 3 kWh; in 15 s that takes 720 kW.
    assert schedule.scaled(1_000) == 720_000
    assert schedule.oracle_max_age_s == 15
    assert schedule.gate_s == 0
    profile = list(range(96))
    summed = schedule.profile(profile)
    assert summed == [sum(range(12 * k, 12 * k + 12)) for k in range(8)]
    assert sum(summed) == sum(profile)
    assert DaySchedule.compact(intervals=2, blocks=4).block_ranges() == [(0, 0), (1, 1)]
    assert DaySchedule.compact(intervals=3, blocks=2).block_ranges() == [(0, 0), (1, 2)]
    with pytest.raises(ValidationError):
        DaySchedule.compact(intervals=7)
    with pytest.raises(ValidationError):
        DaySchedule(intervals=2, blocks=3)


def test_compact_scenario_keeps_honest_nodes_of_each_kind_in_turn() -> None:
    full = generate("jibei-mini", 1)
    small = compact_scenario(full, 5)
    assert small.preset == "jibei-mini/5"
    # Sellers coal, wind, (solar: both PV companies of this preset are violators), coal...
    assert [p.kind for p in small.participants] == [
        "coal",
        "retailer",
        "wind",
        "consumer",
        "coal",
    ]
    assert [p.index for p in small.participants] == [0, 1, 2, 3, 4]
    assert all(p.violation is None for p in small.participants)
    assert all(1 <= p.meters <= 2 for p in small.participants)
    by_name = {p.name: p for p in full.participants}
    for p in small.participants:
        original = by_name[p.name]
        assert p.profile_wh == original.profile_wh
        assert p.meters == min(original.meters, 2)
    assert small.regions == full.regions
    assert small.corridors == full.corridors
    assert len(compact_scenario(full, 10_000).participants) == sum(
        p.violation is None for p in full.participants
    )
    with pytest.raises(ValueError, match="at least 2"):
        compact_scenario(full, 1)


class _Chain:
    """A fake node whose latest block advances by one second per sleep."""

    def __init__(self, start: int, *, sealing: bool = True) -> None:
        self.timestamp = start
        self.sealing = sealing
        self.sleeps = 0
        self.eth = self

    def get_block(self, _which: str) -> dict[str, Any]:
        return {"timestamp": self.timestamp}

    def sleep(self, _seconds: float) -> None:
        self.sleeps += 1
        if self.sealing:
            self.timestamp += 1


def test_real_time_clock_waits_for_the_chain() -> None:
    chain = _Chain(1_000)
    clock = ChainClock(chain, warps=False, sleep=chain.sleep)  # type: ignore[arg-type]
    assert clock.now() == 1_000
    clock.advance_to(1_005)
    assert chain.timestamp == 1_005
    assert chain.sleeps == 5
    clock.advance_to(990)  # never backwards, no wait
    assert chain.sleeps == 5


def test_real_time_clock_gives_up_on_a_stalled_chain() -> None:
    chain = _Chain(1_000, sealing=False)

    def sleep(seconds: float) -> None:
        chain.sleep(seconds)
        time.sleep(seconds)

    clock = ChainClock(
        chain,  # type: ignore[arg-type]
        warps=False,
        poll_s=0.01,
        stall_timeout_s=0.2,
        sleep=sleep,
    )
    started = time.monotonic()
    with pytest.raises(GridLedgerError, match="short of 1001"):
        clock.advance_to(1_001)
    assert 0.2 <= time.monotonic() - started < 5


def test_clock_warps_on_anvil(anvil_url: str, tmp_path: Path) -> None:
    w3 = make_web3(make_settings(tmp_path, anvil_url))
    assert ChainClock.client_version(w3).startswith("anvil")
    assert ChainClock(w3).warps


@pytest.mark.slow
def test_compact_day_with_parallel_senders_settles_on_anvil(
    ctx: LedgerContext, deployed: Manifest, tmp_path: Path
) -> None:
    # Its own data dir: the oracle's database starts empty.
    settings: Settings = make_settings(tmp_path, ctx.settings.rpc_url)
    day_ctx = LedgerContext(settings, w3=ctx.w3, manifest=deployed)
    schedule = DaySchedule.compact(interval_s=20, intervals=4, blocks=2, trading_s=120)
    scenario = compact_scenario(generate("jibei-mini", 1), 4)
    messages: list[str] = []
    day = MarketDay(day_ctx, scenario, messages.append, schedule=schedule, workers=4)
    assert day.clock.warps
    assert day.fund_gas() == 0  # free gas on anvil
    for step in (
        day.tariffs,
        day.onboard,
        day.register_meters,
        day.open_period,
        day.post,
        day.take,
        day.dispatch,
        day.metering,
        day.settle,
    ):
        step()
    day.conservation()
    summary = day.summary
    market = day_ctx.client(TradingMarketClient, day.role("operator"))
    period = market.period(day.period_id)
    assert (period.interval_s, period.intervals) == (20, 4)
    assert period.delivery_start % 20 == 0
    assert period.taking_closes_at <= period.delivery_start
    assert summary.trades > 0
    assert summary.trades_settled == summary.trades
    assert all(market.trade(t).status == TradeStatus.SETTLED for t in day.trade_ids)
    # Every meter sent one reading per interval, all taken.
    assert summary.readings_accepted == summary.meters * 4
    assert summary.deviation_nodes == 4
    # The summary's payments are the settled trades' amounts (no substitution here).
    settled = [market.trade(t) for t in day.trade_ids]
    assert summary.seller_income_fen == sum(
        value_fen(t.executed_wh, t.price_fen_per_mwh) for t in settled
    )
    assert summary.seller_income_fen > 0
    assert summary.refunds_fen == sum(
        t.escrow_fen
        - value_fen(t.executed_wh, t.price_fen_per_mwh)
        - value_fen(t.executed_wh, t.sum_rate_fen_per_mwh)
        for t in settled
    )
    assert summary.conserved
    assert any("4 intervals of 20 s" in m for m in messages)
