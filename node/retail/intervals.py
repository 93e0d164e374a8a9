"""The retailer's position per 15-minute interval: purchases against metered consumption.

A trade's ``energy_wh`` is the total over its intervals ``[first_interval, last_interval]``
of its period, delivered evenly (``docs/trading.md``): it is split over them with
:func:`ledger.units.split_even_wh` (floor shares, the remainder 1 Wh each to the first
intervals; the parts sum to the trade's energy exactly). Consumption is the ``import_wh`` of
the customers' readings (the same sources as the bills: readings files or the oracle
store): a reading counts when its meter is the consumer's at that interval (the account's
meter windows) and the consumer is bound to the retailer over the interval. The imbalance
is consumed - purchased (positive: short, the retailer bought too little), the same sign
as the per-period deviation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from ledger.clients.retail import Binding
from ledger.clients.trading import Period, Trade
from ledger.errors import ValidationError
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.readings import Readings
from ledger.units import split_even_wh


class IntervalPosition(BaseModel):
    """One delivery interval of the retailer's position."""

    model_config = ConfigDict(frozen=True)

    period_id: int
    interval: int
    interval_start: int
    purchased_wh: int
    consumed_wh: int

    @property
    def imbalance_wh(self) -> int:
        return self.consumed_wh - self.purchased_wh


def purchased_by_interval(periods: Sequence[Period], trades: Iterable[Trade]) -> dict[int, int]:
    """Wh bought per interval start (every interval of ``periods``, 0 if none bought)."""
    by_id = {p.id: p for p in periods}
    out = {p.delivery_start + i * p.interval_s: 0 for p in periods for i in range(p.intervals)}
    for t in trades:
        period = by_id.get(t.period_id)
        if period is None:
            continue
        count = t.last_interval - t.first_interval + 1
        for offset, wh in enumerate(split_even_wh(t.energy_wh, count)):
            out[period.delivery_start + (t.first_interval + offset) * period.interval_s] += wh
    return out


def consumed_by_interval(
    accounts: Sequence[ConsumerAccount],
    readings: Sequence[Readings],
    customers: Sequence[Binding],
    starts: Iterable[int],
    interval_s: dict[int, int],
) -> dict[int, int]:
    """Wh imported per interval start in ``starts`` by the retailer's bound customers.

    ``interval_s`` gives each start's interval length (for the binding check)."""
    out = dict.fromkeys(starts, 0)
    bound: dict[str, list[Binding]] = {}
    for b in customers:
        bound.setdefault(b.consumer.lower(), []).append(b)
    by_meter: dict[str, list[ConsumerAccount]] = {}
    for account in accounts:
        for meter_id in account.meter_ids:
            by_meter.setdefault(meter_id, []).append(account)
    for rows in readings:
        for i in range(len(rows)):
            start = int(rows.interval_start[i])
            meter_id = rows.meter_ids[int(rows.meter[i])]
            if start not in out or meter_id not in by_meter:
                continue
            end = start + interval_s[start]
            for account in by_meter[meter_id]:
                bindings = bound.get(account.node.lower(), [])
                if account.counts(meter_id, start) and any(b.covers(start, end) for b in bindings):
                    out[start] += int(rows.import_wh[i])
    return out


def interval_positions(
    periods: Sequence[Period],
    trades: Iterable[Trade],
    accounts: Sequence[ConsumerAccount],
    readings: Sequence[Readings],
    customers: Sequence[Binding],
) -> list[IntervalPosition]:
    """A row per interval of ``periods`` (see the module doc)."""
    nodes = [a.node.lower() for a in accounts]
    if len(set(nodes)) != len(nodes):
        raise ValidationError("two consumer accounts name the same node")
    purchased = purchased_by_interval(periods, trades)
    lengths = {
        p.delivery_start + i * p.interval_s: p.interval_s
        for p in periods
        for i in range(p.intervals)
    }
    consumed = consumed_by_interval(accounts, readings, customers, purchased, lengths)
    return [
        IntervalPosition(
            period_id=p.id,
            interval=i,
            interval_start=start,
            purchased_wh=purchased[start],
            consumed_wh=consumed[start],
        )
        for p in periods
        for i in range(p.intervals)
        for start in (p.delivery_start + i * p.interval_s,)
    ]


INTERVAL_COLUMNS = (
    "period_id",
    "interval",
    "interval_start",
    "purchased_wh",
    "consumed_wh",
    "imbalance_wh",
)


def intervals_csv(
    rows: Sequence[IntervalPosition], wholesale_cost_fen: int, revenue_fen: int
) -> str:
    """A CSV row per interval, then a ``total`` row with the month's wholesale cost, retail
    revenue and margin (revenue - cost)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*INTERVAL_COLUMNS, "wholesale_cost_fen", "revenue_fen", "margin_fen"])
    for r in rows:
        writer.writerow([*(getattr(r, c) for c in INTERVAL_COLUMNS), "", "", ""])
    purchased = sum(r.purchased_wh for r in rows)
    consumed = sum(r.consumed_wh for r in rows)
    margin_fen = revenue_fen - wholesale_cost_fen
    writer.writerow(
        [
            *("total", "", "", purchased, consumed, consumed - purchased),
            *(wholesale_cost_fen, revenue_fen, margin_fen),
        ]
    )
    return out.getvalue()
