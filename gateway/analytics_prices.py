"""The market's own price history from the index: ``GET /api/v1/analytics/prices``.

Every indexed trade (``gw_trades``: period, region, agreed price, energy; posted-listing
and venue trades alike, auction pairs included) is spread evenly over the quarter-hours of
its period's delivery window (the period's ``PeriodOpened`` event in ``gw_events``:
``deliveryStart``, ``intervalS``, ``intervals``; ``ledger.units.split_even_wh``), and each
(region, local day, quarter-hour) gets the volume-weighted average of the prices traded in
it (``ledger.units.average_rate_fen_per_mwh``) and its energy. A trade whose period was
never indexed (or that has no price, energy or region) cannot be placed in time: it is
counted (``unplaced_trades``), not used. Cancelled trades are skipped; every other trade
counts whatever its dispatch and settlement did (its price is what the parties agreed).

``ledger.analytics.history.history_from_cells`` turns the cells into the forecast's dense
history, filling the quarter-hours nobody traded in (docs/analytics.md)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from gateway.deps import ConnDep, PublicRole
from gateway.tables import Event, Trade, table_of
from ledger.analytics.history import PRICES_API_PATH, QUARTER_S, PriceCell, local_slot
from ledger.units import average_rate_fen_per_mwh, split_even_wh

api = APIRouter(prefix="/api/v1", tags=["history"])
T, E = table_of(Trade), table_of(Event)
#: Trades that never delivered a price to the history.
SKIPPED_STATUSES = ("cancelled",)


class PriceCellOut(BaseModel):
    region: str
    day: date = Field(description="Local day (UTC+8).")
    interval: int = Field(ge=0, le=95, description="Quarter-hour of the local day.")
    price_fen_per_mwh: int = Field(description="Volume-weighted average, rounded half up.")
    volume_wh: int
    trades: int


class MarketPricesOut(BaseModel):
    trades: int = Field(description="Trades placed in time and used.")
    unplaced_trades: int = Field(description="Trades without an indexed period window.")
    days: int = Field(description="Local days from the first traded interval to the last.")
    regions: list[str]
    cells: list[PriceCellOut]


def period_windows(conn: Connection) -> dict[int, tuple[int, int, int]]:
    """Each indexed period's delivery window: ``(deliveryStart, intervalS, intervals)``."""
    rows = conn.execute(select(E.c.args).where(E.c.event == "PeriodOpened")).scalars()
    out: dict[int, tuple[int, int, int]] = {}
    for raw in rows:
        a = json.loads(raw)
        window = (int(a["deliveryStart"]), int(a["intervalS"]), int(a["intervals"]))
        if window[1] > 0 and window[2] > 0:
            out[int(a["period"])] = window
    return out


def market_prices(conn: Connection) -> MarketPricesOut:
    """Every (region, local day, quarter-hour) the indexed trades traded in."""
    windows = period_windows(conn)
    query = select(T.c.period, T.c.region, T.c.price_fen_per_mwh, T.c.energy_wh).where(
        T.c.status.not_in(SKIPPED_STATUSES)
    )
    # (region, day, interval) -> [sum of price x energy, energy (Wh), trades]
    sums: dict[tuple[str, date, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    used = unplaced = 0
    for period, region, price, energy_wh in conn.execute(query):
        window = windows.get(period) if period is not None else None
        if window is None or region is None or not price or not energy_wh:
            unplaced += 1
            continue
        used += 1
        start, interval_s, intervals = window
        quarters = intervals * max(interval_s // QUARTER_S, 1)
        step = interval_s * intervals // quarters
        for q, share_wh in enumerate(split_even_wh(energy_wh, quarters)):
            cell = sums[(region, *local_slot(start + q * step))]
            cell[0] += price * share_wh
            cell[1] += share_wh
            cell[2] += 1
    cells = [
        PriceCell(region, day, i, average_rate_fen_per_mwh(value, energy), energy, count)
        for (region, day, i), (value, energy, count) in sorted(sums.items())
        if energy > 0
    ]
    return MarketPricesOut(
        trades=used,
        unplaced_trades=unplaced,
        days=(max(c.day for c in cells) - min(c.day for c in cells)).days + 1 if cells else 0,
        regions=sorted({c.region for c in cells}),
        cells=[PriceCellOut(**c.__dict__) for c in cells],
    )


def cells_of(prices: MarketPricesOut) -> list[PriceCell]:
    """The API's cells as the forecast's :class:`PriceCell`s."""
    return [PriceCell(**c.model_dump()) for c in prices.cells]


@api.get(
    PRICES_API_PATH.removeprefix("/api/v1"),
    response_model=MarketPricesOut,
    summary="Volume-weighted average price per region, local day and quarter-hour",
)
def prices(_role: PublicRole, conn: ConnDep) -> MarketPricesOut:
    return market_prices(conn)
