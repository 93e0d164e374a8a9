"""The market history the surveillance indicators read: the domain view of on-chain events.

Everything here is what the chain records (listings and their cancellation, trades and the
dispatch center's execution results, metered deviations per trading period, mutual
ratings), keyed by node address. Amounts are integers in the units their names say (Wh,
fen/MWh); times are Unix seconds (block timestamps). A trading period is an integer id set by
the trading contract; every listing is posted for one period and can be taken until its
``closes_at``.

:class:`HistorySource` is the adapter the indicators are computed from: the in-memory
:class:`InMemoryHistorySource` (simulated histories, JSON files) now, a chain- or
gateway-backed source later. :func:`collect` reads a window of periods from any source into
one :class:`MarketHistory`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class Side(StrEnum):
    """A node's registered side (a node that can both sell and buy registers as seller)."""

    SELLER = "seller"
    BUYER = "buyer"


class ListingMode(StrEnum):
    """Posted-offer mode: mode 1 sellers post and buyers take, mode 2 the reverse."""

    SELL = "sell"
    BUY = "buy"


class TradeStatus(StrEnum):
    """The dispatch center's execution result of a trade."""

    PENDING = "pending"
    """Formed, not yet reported by dispatch."""
    EXECUTED = "executed"
    """Everything dispatch did not curtail was executed."""
    PARTIAL = "partial"
    """Less than the uncurtailed quantity was executed."""
    FAILED = "failed"
    """Nothing was executed."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Node(_Frozen):
    """A registered market node."""

    address: str
    side: Side
    name: str | None = None
    """A human label (simulations and demos); never used by the indicators."""


class Listing(_Frozen):
    """A posted offer (mode 1, poster sells) or request (mode 2, poster buys)."""

    id: int
    poster: str
    mode: ListingMode
    period: int
    quantity_wh: int = Field(gt=0)
    price_fen_per_mwh: int = Field(gt=0)
    posted_at: int
    closes_at: int
    """End of the taking window."""
    cancelled_at: int | None = None
    amended: int = Field(default=0, ge=0)
    """How many times the poster changed price or quantity."""


class Trade(_Frozen):
    """A take of (part of) a listing and what dispatch executed of it."""

    id: int
    listing_id: int
    buyer: str
    seller: str
    period: int
    quantity_wh: int = Field(gt=0)
    price_fen_per_mwh: int = Field(gt=0)
    formed_at: int
    executed_wh: int = Field(default=0, ge=0)
    curtailed_wh: int = Field(default=0, ge=0)
    """Energy dispatch curtailed for security reasons (no party's fault)."""
    status: TradeStatus = TradeStatus.PENDING


class Deviation(_Frozen):
    """A node's contracted versus metered energy in one period (generation or consumption)."""

    node: str
    period: int
    contracted_wh: int = Field(ge=0)
    metered_wh: int = Field(ge=0)


class Rating(_Frozen):
    """A mutual rating after a trade."""

    rater: str
    ratee: str
    trade_id: int
    score: int = Field(ge=1, le=5)
    at: int


class MarketHistory(BaseModel):
    """A window of market history: nodes, listings, trades, deviations and ratings."""

    model_config = ConfigDict(extra="forbid")

    first_period: int
    last_period: int
    nodes: list[Node] = Field(default_factory=list)
    listings: list[Listing] = Field(default_factory=list)
    trades: list[Trade] = Field(default_factory=list)
    deviations: list[Deviation] = Field(default_factory=list)
    ratings: list[Rating] = Field(default_factory=list)

    def window(self, first_period: int, last_period: int) -> MarketHistory:
        """The part of this history in periods ``first_period..last_period`` (inclusive).

        Ratings go with the window of the trade they rate.
        """
        trades = [t for t in self.trades if first_period <= t.period <= last_period]
        ids = {t.id for t in trades}
        return MarketHistory(
            first_period=first_period,
            last_period=last_period,
            nodes=list(self.nodes),
            listings=[x for x in self.listings if first_period <= x.period <= last_period],
            trades=trades,
            deviations=[d for d in self.deviations if first_period <= d.period <= last_period],
            ratings=[r for r in self.ratings if r.trade_id in ids],
        )

    def save(self, path: Path) -> None:
        """Write this history as JSON."""
        path.write_text(self.model_dump_json())

    @classmethod
    def load(cls, path: Path) -> MarketHistory:
        """Read a history written by :meth:`save`."""
        return cls.model_validate(json.loads(path.read_text()))


class HistorySource(Protocol):
    """Where market history comes from (in memory now; chain events or the gateway later)."""

    def nodes(self) -> Sequence[Node]:
        """Every registered node."""
        ...

    def period_range(self) -> tuple[int, int]:
        """The first and last period with any recorded activity."""
        ...

    def listings(self, first_period: int, last_period: int) -> Sequence[Listing]:
        """Listings posted for periods in the range (inclusive)."""
        ...

    def trades(self, first_period: int, last_period: int) -> Sequence[Trade]:
        """Trades for periods in the range (inclusive), with their execution results."""
        ...

    def deviations(self, first_period: int, last_period: int) -> Sequence[Deviation]:
        """Contracted versus metered energy per node and period in the range."""
        ...

    def ratings(self, trade_ids: set[int]) -> Sequence[Rating]:
        """Ratings of the given trades."""
        ...


class InMemoryHistorySource:
    """A :class:`HistorySource` over a :class:`MarketHistory` held in memory."""

    def __init__(self, history: MarketHistory) -> None:
        self._h = history

    def nodes(self) -> Sequence[Node]:
        return self._h.nodes

    def period_range(self) -> tuple[int, int]:
        return self._h.first_period, self._h.last_period

    def listings(self, first_period: int, last_period: int) -> Sequence[Listing]:
        return [x for x in self._h.listings if first_period <= x.period <= last_period]

    def trades(self, first_period: int, last_period: int) -> Sequence[Trade]:
        return [t for t in self._h.trades if first_period <= t.period <= last_period]

    def deviations(self, first_period: int, last_period: int) -> Sequence[Deviation]:
        return [d for d in self._h.deviations if first_period <= d.period <= last_period]

    def ratings(self, trade_ids: set[int]) -> Sequence[Rating]:
        return [r for r in self._h.ratings if r.trade_id in trade_ids]


def collect(source: HistorySource, first_period: int, last_period: int) -> MarketHistory:
    """Read periods ``first_period..last_period`` of ``source`` into one history."""
    trades = list(source.trades(first_period, last_period))
    return MarketHistory(
        first_period=first_period,
        last_period=last_period,
        nodes=list(source.nodes()),
        listings=list(source.listings(first_period, last_period)),
        trades=trades,
        deviations=list(source.deviations(first_period, last_period)),
        ratings=list(source.ratings({t.id for t in trades})),
    )
