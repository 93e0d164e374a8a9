"""One market day of a scenario, end to end on a real chain, through the real services.

Stages (each reports progress): tariffs, onboarding (registration, review, bonds, funds),
meters, the delivery period, posting (both modes), taking through the recommendation
optimiser, the dispatch center's security check (through the oracle's API), signed meter
readings every quarter-hour (through the oracle's API), the period's meter totals,
settlement (trades, then deviations), ratings, surveillance, certificates and quotas,
bilateral contracts (:mod:`scripts.day.demo_contracts`), retail packages and bills
(:mod:`scripts.day.demo_retail`), then the gateway's index. Stages
whose contracts are not deployed are reported as skipped.

Time: a :class:`ChainClock` moves the day along. On a development chain (anvil, Hardhat)
the delivery day is compressed by moving the chain's clock forward with
``evm_setNextBlockTimestamp``; on any other chain (a proof-of-authority consortium) time
cannot be moved, so the clock waits until the chain's latest block reaches the moment,
and a :class:`DaySchedule` shrinks the day to a few short intervals that still stand for the
whole day (each interval aggregates its quarter-hours; meter capacities and corridor limits
are scaled by the same factor). The oracle's clock follows the chain's either way, so every
check (windows, reading ages) runs exactly as it would in real time.

The rules of the day (who posts, takes, meters, rates and buys what) are the plan's
(:mod:`scripts.day.plan`), shared with the benchmark's engine (:mod:`scripts.bench.market_day`);
the stages are in :mod:`scripts.day.demo_market`, :mod:`scripts.day.demo_delivery` and
:mod:`scripts.day.demo_after`.
"""

from __future__ import annotations

from ledger.clients.registry import NodeRegistryClient
from scripts.day.clock import STALL_TIMEOUT_S, ChainClock, DaySchedule
from scripts.day.demo_after import AfterStages
from scripts.day.demo_auction import AuctionStages
from scripts.day.demo_base import GAS_FLOAT_WEI, GAS_LOW_WEI, DaySummary, Report
from scripts.day.demo_contracts import ContractStages
from scripts.day.demo_delivery import DeliveryStages
from scripts.day.demo_market import MarketStages
from scripts.day.demo_retail import RetailStages
from scripts.day.plan import (
    BALANCING_N,
    BLOCKS,
    CERT_PRICE_FEN,
    CREDIT,
    FINE_FEN_PER_MWH,
    FUND_N,
    GRID_BASE,
    KINDS,
    QUOTA_WEIGHT_BPS,
    RAMP_DOWN_FEN_PER_MWH,
    RAMP_UP_FEN_PER_MWH,
    REMAINDER_N,
    SETTLER_N,
    compact_scenario,
    stages,
)


class MarketDay(
    MarketStages, AuctionStages, DeliveryStages, AfterStages, ContractStages, RetailStages
):
    """Runs one delivery day of ``scenario`` on the chain behind ``ctx`` (demo keys): the
    plan's stages (:data:`scripts.day.plan.STAGES`) in order, the centralised auction right
    after taking (its trades then go through dispatch, metering and settlement with the
    posted ones), then the conservation check (arguments:
    :class:`scripts.day.demo_base.DemoBase`).
    """

    def run(self) -> DaySummary:
        self.fund_gas()
        for name, step in stages(self):
            with self.stage(name):
                step()
            if name == "taking":
                with self.stage("auction"):
                    self.auction()
            elif name == "settlement":
                self.count_auction_settled()
        with self.stage("contracts"):
            self.bilateral_contracts()
        with self.stage("retail"):
            self.retail()
        self.conservation()
        return self.summary


__all__ = [
    "BALANCING_N",
    "BLOCKS",
    "CERT_PRICE_FEN",
    "CREDIT",
    "FINE_FEN_PER_MWH",
    "FUND_N",
    "GAS_FLOAT_WEI",
    "GAS_LOW_WEI",
    "GRID_BASE",
    "KINDS",
    "QUOTA_WEIGHT_BPS",
    "RAMP_DOWN_FEN_PER_MWH",
    "RAMP_UP_FEN_PER_MWH",
    "REMAINDER_N",
    "SETTLER_N",
    "STALL_TIMEOUT_S",
    "ChainClock",
    "DaySchedule",
    "DaySummary",
    "MarketDay",
    "NodeRegistryClient",
    "Report",
    "compact_scenario",
]
