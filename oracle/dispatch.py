"""Where the oracle gets the trades the dispatch center checks.

The oracle reads trades through the small :class:`TradeSource` protocol.
:class:`ChainTradeSource` reads ``TradingMarket`` (the default when it is deployed);
:class:`MemoryTradeSource` serves tests, the simulator and
``gridledger oracle serve --trades-file``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from eth_account.signers.local import LocalAccount

from ledger.clients.registry import NodeRegistryClient
from ledger.clients.trading import Period as TradingPeriod
from ledger.clients.trading import Trade as ChainTrade
from ledger.clients.trading import TradingMarketClient
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError
from oracle.periods import MAX_TRADING_PERIOD
from oracle.schemas import MAX_SQL_INT, Trade


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


class ChainTradeSource:
    """Trades of ``TradingMarket``, read page by page (``TradeCreated`` ids, ``tradesByIds``).

    A trade's regions are the ends of its route (the cheapest path from the seller's region
    to the buyer's, fixed when the trade formed), as decimal strings (the tariff's region
    ids, which the dispatch simulator's corridors name); a trade without a route falls back
    to the registry's regions. Its window is its delivery intervals: ``interval_start`` =
    the period's delivery start + first interval x interval length, ``interval_seconds`` =
    the window's length (the energy is delivered evenly over it). Periods are cached
    (immutable once opened); trades are read fresh on every request.
    """

    def __init__(
        self, market: TradingMarketClient, registry: NodeRegistryClient | None = None
    ) -> None:
        self.market = market
        self.registry = registry
        self._periods: dict[int, TradingPeriod] = {}

    @classmethod
    def from_context(cls, ctx: LedgerContext, account: LocalAccount) -> ChainTradeSource:
        registry = (
            ctx.client(NodeRegistryClient, account)
            if "NodeRegistry" in ctx.manifest.contracts
            else None
        )
        return cls(ctx.client(TradingMarketClient, account), registry)

    def _period(self, period_id: int) -> TradingPeriod:
        cached = self._periods.get(period_id)
        if cached is None:
            cached = self._periods[period_id] = self.market.period(period_id)
        return cached

    def _regions(self, t: ChainTrade) -> tuple[str, str]:
        if t.route:
            return str(t.route[0]), str(t.route[-1])
        if self.registry is None:
            return "", ""
        return (
            str(self.registry.node_info(t.seller).region),
            str(self.registry.node_info(t.buyer).region),
        )

    def _convert(self, t: ChainTrade) -> Trade:
        p = self._period(t.period_id)
        src, dst = self._regions(t)
        return Trade(
            trade_id=t.id,
            period=t.period_id,
            seller=t.seller,
            buyer=t.buyer,
            from_region=src,
            to_region=dst,
            energy_wh=min(t.energy_wh, MAX_SQL_INT),
            interval_start=p.delivery_start + t.first_interval * p.interval_s,
            interval_seconds=(t.last_interval - t.first_interval + 1) * p.interval_s,
        )

    def trades(self, period: int) -> list[Trade]:
        if not 0 < period <= MAX_TRADING_PERIOD:
            return []
        out = [self._convert(t) for t in self.market.all_period_trades(period)]
        return sorted(out, key=lambda t: t.trade_id)

    def trade(self, trade_id: int) -> Trade | None:
        if trade_id <= 0:
            return None
        try:
            return self._convert(self.market.trade(trade_id))
        except ContractRevertError as exc:
            if exc.name == "UnknownTrade":
                return None
            raise


def make_trade_source(ctx: LedgerContext, account: LocalAccount) -> TradeSource:
    """``TradingMarket``'s trades when it is deployed, else an empty in-memory source."""
    if "TradingMarket" in ctx.manifest.contracts:
        return ChainTradeSource.from_context(ctx, account)
    return MemoryTradeSource()
