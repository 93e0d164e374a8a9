"""The retailer's report: its wholesale position against its customers' consumption.

For a retailer and a month (YYYYMM, local time): per delivery period starting in the
month, the energy it bought wholesale as buyer (posted trades, auction and bilateral
trades of the common trade store) and their cost (energy value + transmission fee),
against the metered consumption of the consumers bound to it over that period (the
oracle's node totals on chain, ``MeterOracle.meteredEnergyOf``); the deviation it carries is
consumption - purchase (positive: short, bought too little). Its retail revenue is the
total of its anchored bills of the month (``RetailBills``), its margin revenue - cost.

Given the customers' accounts and readings (files or the oracle store), the report also
holds the position per 15-minute interval (``node.retail.intervals``): purchased Wh (each
trade spread evenly over its intervals), consumed Wh (metered imports), imbalance Wh.
"""

from __future__ import annotations

import csv
import io

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict, Field

from ledger.clients.bilateral import BilateralContractsClient
from ledger.clients.oracle import MeterOracleClient
from ledger.clients.retail import Binding, RetailBillsClient, RetailPackagesClient
from ledger.clients.trading import Period, Trade, TradingMarketClient
from ledger.context import LedgerContext
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.months import month_bounds
from ledger.retail.readings import Readings
from node.retail.intervals import IntervalPosition, interval_positions

MODES = ("posted", "auction", "bilateral")


class PeriodPosition(BaseModel):
    """One delivery period of the retailer's position."""

    model_config = ConfigDict(frozen=True)

    period_id: int
    delivery_start: int
    bought_wh: dict[str, int] = Field(description="energy bought, by trade mode")
    wholesale_cost_fen: int
    customers: int
    consumption_wh: int

    @property
    def purchased_wh(self) -> int:
        return sum(self.bought_wh.values())

    @property
    def deviation_wh(self) -> int:
        return self.consumption_wh - self.purchased_wh


class RetailerReport(BaseModel):
    """A retailer's month."""

    model_config = ConfigDict(frozen=True)

    retailer: str
    month: int
    periods: list[PeriodPosition]
    bills: int
    revenue_fen: int
    paid_fen: int
    intervals: list[IntervalPosition] = Field(
        default_factory=list, description="per interval (only with accounts and readings)"
    )

    @property
    def wholesale_cost_fen(self) -> int:
        return sum(p.wholesale_cost_fen for p in self.periods)

    @property
    def margin_fen(self) -> int:
        return self.revenue_fen - self.wholesale_cost_fen

    @property
    def purchased_wh(self) -> int:
        return sum(p.purchased_wh for p in self.periods)

    @property
    def consumption_wh(self) -> int:
        return sum(p.consumption_wh for p in self.periods)

    @property
    def deviation_wh(self) -> int:
        return self.consumption_wh - self.purchased_wh


def _mode(trade: Trade, bilateral_ids: set[int]) -> str:
    if trade.listing_id != 0:
        return "posted"
    return "bilateral" if trade.id in bilateral_ids else "auction"


def _bilateral_trade_ids(ctx: LedgerContext, reader: LocalAccount) -> set[int]:
    if "BilateralContracts" not in ctx.manifest.contracts:
        return set()
    client = ctx.client(BilateralContractsClient, reader)
    logs = client.contract.events["PeriodTradeFormed"]().get_logs(from_block=0)
    return {int(e["args"]["tradeId"]) for e in logs}


def _position(
    period: Period,
    trades: list[Trade],
    bilateral_ids: set[int],
    customers: list[Binding],
    oracle: MeterOracleClient,
) -> PeriodPosition:
    bought = dict.fromkeys(MODES, 0)
    for t in trades:
        bought[_mode(t, bilateral_ids)] += t.energy_wh
    bound = {b.consumer for b in customers if b.covers(period.delivery_start, period.delivery_end)}
    consumption = 0
    for consumer in sorted(bound):
        metered = oracle.metered_energy_of(consumer, period.id)
        consumption += metered.import_wh if metered.recorded else 0
    return PeriodPosition(
        period_id=period.id,
        delivery_start=period.delivery_start,
        bought_wh=bought,
        wholesale_cost_fen=sum(t.energy_fen + t.fee_fen for t in trades),
        customers=len(bound),
        consumption_wh=consumption,
    )


def retailer_report(
    ctx: LedgerContext,
    reader: LocalAccount,
    retailer: str,
    month: int,
    accounts: list[ConsumerAccount] | None = None,
    readings: list[Readings] | None = None,
) -> RetailerReport:
    """``retailer``'s report for ``month`` from the chain (see the module doc); with
    ``accounts`` (and their ``readings``) also per interval."""
    start, end = month_bounds(month)
    market = ctx.client(TradingMarketClient, reader)
    periods = [
        p
        for p in (market.period(i) for i in range(1, market.period_count() + 1))
        if start <= p.delivery_start < end
    ]
    bought = [t for t in market.all_trades_of(retailer) if t.buyer == retailer]
    bilateral_ids = _bilateral_trade_ids(ctx, reader)
    customers = ctx.client(RetailPackagesClient, reader).customers_of(retailer)
    oracle = ctx.client(MeterOracleClient, reader)
    positions = [
        _position(p, [t for t in bought if t.period_id == p.id], bilateral_ids, customers, oracle)
        for p in periods
    ]
    intervals = (
        interval_positions(periods, bought, accounts, readings or [], customers) if accounts else []
    )
    bills = ctx.client(RetailBillsClient, reader)
    batch_id = bills.batch_id_of(retailer, month)
    batch = bills.batch_of(batch_id) if batch_id else None
    return RetailerReport(
        retailer=retailer,
        month=month,
        periods=positions,
        bills=batch.count if batch else 0,
        revenue_fen=batch.total_fen if batch else 0,
        paid_fen=batch.paid_fen if batch else 0,
        intervals=intervals,
    )


CSV_COLUMNS = (
    "period_id",
    "delivery_start",
    *(f"{m}_wh" for m in MODES),
    "purchased_wh",
    "customers",
    "consumption_wh",
    "deviation_wh",
    "wholesale_cost_fen",
)


def report_csv(report: RetailerReport) -> str:
    """The report as CSV: a row per period, then a ``total`` row (revenue, margin)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, "revenue_fen", "margin_fen"])
    for p in report.periods:
        writer.writerow(
            [
                p.period_id,
                p.delivery_start,
                *(p.bought_wh[m] for m in MODES),
                p.purchased_wh,
                p.customers,
                p.consumption_wh,
                p.deviation_wh,
                p.wholesale_cost_fen,
                "",
                "",
            ]
        )
    totals = [sum(p.bought_wh[m] for p in report.periods) for m in MODES]
    writer.writerow(
        [
            "total",
            "",
            *totals,
            report.purchased_wh,
            "",
            report.consumption_wh,
            report.deviation_wh,
            report.wholesale_cost_fen,
            report.revenue_fen,
            report.margin_fen,
        ]
    )
    return out.getvalue()
