"""What a market day produced: the figures both engines count (:class:`DayFigures`); the
demo's :class:`scripts.day.demo_base.DaySummary` and the benchmark's
:class:`scripts.bench.day_base.DayFacts` add their own."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DayFigures(BaseModel):
    """Counts, energies and amounts of the day (to the Wh and the fen)."""

    meters: int = 0
    listings: int = 0
    listings_cancelled: int = 0
    trades: int = 0
    traded_wh: int = 0
    executed_wh: int = 0
    curtailed_wh: int = 0
    trades_settled: int = 0
    seller_income_fen: int = 0
    transmission_fees_fen: int = 0
    refunds_fen: int = 0
    deviation_nodes: int = 0
    deviation_paid_fen: int = 0
    deviation_received_fen: int = 0
    ratings: int = 0
    certificates_issued: int = 0
    total_supply_fen: int = 0
    accounted_fen: int = 0
    conserved: bool = False
    skipped: list[str] = Field(default_factory=list)
