"""Where the oracle gets the trades the dispatch center checks.

The trading contract is not part of this area; the oracle reads trades through the small
:class:`TradeSource` protocol. :class:`MemoryTradeSource` serves tests, the simulator and
``gridledger oracle serve --trades-file``; a client of the trading contract plugs in by
implementing the same two methods.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from oracle.models import Trade


class TradeSource(Protocol):
    """Read access to trades by delivery period and by id."""

    def trades(self, period: int) -> list[Trade]:
        """Every trade of delivery ``period`` (ordered by trade id)."""
        ...

    def trade(self, trade_id: int) -> Trade | None:
        """The trade ``trade_id``, or None."""
        ...


class MemoryTradeSource:
    """Trades held in memory (optionally loaded from a JSON list of :class:`Trade`)."""

    def __init__(self, trades: Iterable[Trade] = ()) -> None:
        self._trades: dict[int, Trade] = {}
        self.add(trades)

    def add(self, trades: Iterable[Trade]) -> None:
        for trade in trades:
            self._trades[trade.trade_id] = trade

    def trades(self, period: int) -> list[Trade]:
        return sorted(
            (t for t in self._trades.values() if t.period == period), key=lambda t: t.trade_id
        )

    def trade(self, trade_id: int) -> Trade | None:
        return self._trades.get(trade_id)

    @classmethod
    def from_file(cls, path: Path) -> MemoryTradeSource:
        raw = json.loads(path.read_text())
        return cls(Trade.model_validate(item) for item in raw)
