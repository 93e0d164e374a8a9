"""The portal's chain reads at market size: what a page reads is kept until a new block,
and the market's event logs are indexed incrementally.

The contracts keep no per-node trade list and no open-listing set: ``TradingMarketClient``
finds a node's trades and the open listings by decoding every ``TradeCreated`` (and listing)
event from block 0, about a millisecond a log in web3, so seconds per page on a day of the
full market. :class:`MarketIndex` decodes each log once, from the block after the last one
it read; :class:`ChainReads` keeps any other read (statements, ratings, periods) until the
chain's head moves. What can no longer change is kept for the process's life: a settled
or failed trade, the settlement events of a settled trade (:class:`KeptStatements`), the
scores of a trade rated both ways. The permissioned chain has final blocks (no
reorganisation), which is what an append-only index and the kept final facts assume.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from web3.types import EventData

from ledger.addresses import checksum_address
from ledger.clients.reputation import ReputationLedgerClient, TradeScores
from ledger.clients.trading import (
    Listing,
    ListingSide,
    Period,
    Trade,
    TradeStatus,
    TradingMarketClient,
)
from ledger.context import LedgerContext
from node.settlement.statements import StatementBuilder
from node.trading.trader import Trader

T = TypeVar("T")
LISTING_EVENTS = ("ListingPosted", "ListingCancelled", "ListingExpired", "TradeCreated")
#: A trade in these states no longer changes.
CLOSED = (TradeStatus.SETTLED, TradeStatus.FAILED)
#: Listings / trades read per ``listingsByIds`` / ``tradesByIds`` call.
PAGE = 200


class MarketIndex:
    """``TradingMarket``'s listing and trade events, read once each, in block order."""

    def __init__(self, market: TradingMarketClient) -> None:
        self.market = market
        self.synced = -1
        self.posted: set[int] = set()
        self.closed: set[int] = set()
        self.trades_of: dict[str, list[int]] = defaultdict(list)
        self._lock = threading.Lock()

    def sync(self, block: int) -> None:
        """Read the events of the blocks after the last read up to ``block``."""
        with self._lock:
            if block <= self.synced:
                return
            events = self.market.contract.events
            found = [
                log
                for name in LISTING_EVENTS
                for log in events[name]().get_logs(from_block=self.synced + 1, to_block=block)
            ]
            for log in sorted(found, key=lambda x: (x["blockNumber"], x["logIndex"])):
                args = log["args"]
                listing_id = int(args["listingId"])
                if log["event"] == "ListingPosted":
                    self.posted.add(listing_id)
                elif log["event"] != "TradeCreated":
                    self.closed.add(listing_id)
                else:
                    trade_id = int(args["tradeId"])
                    self.trades_of[args["buyer"]].append(trade_id)
                    self.trades_of[args["seller"]].append(trade_id)
                    if int(args["remainingWh"]) == 0:
                        self.closed.add(listing_id)
            self.synced = block

    def open_ids(self) -> list[int]:
        return sorted(self.posted - self.closed)


class ChainReads:
    """One portal's reads: values kept per chain head, and the market's event index."""

    def __init__(self, ctx: LedgerContext) -> None:
        self.ctx = ctx
        self.index: MarketIndex | None = None
        self._block = -1
        self._values: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        #: Facts that no longer change: a settled trade's settlement events, the scores
        #: of a trade rated both ways.
        self.final_events: dict[int, list[EventData]] = {}
        self.final_scores: dict[int, TradeScores] = {}
        self.final_trades: dict[int, Trade] = {}

    def head(self) -> int:
        """The chain's head now; a new head drops every kept value."""
        block = int(self.ctx.w3.eth.block_number)
        with self._lock:
            if block != self._block:
                self._values.clear()
                self._block = block
        return block

    def kept(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, or its value kept since the chain's head last moved."""
        block = self.head()
        with self._lock:
            if key in self._values:
                found: T = self._values[key]
                return found
        value = compute()
        with self._lock:
            if self._block == block:
                self._values[key] = value
        return value

    def synced(self, market: TradingMarketClient) -> MarketIndex:
        """The market's event index, read up to the chain's head."""
        with self._lock:
            if self.index is None:
                self.index = MarketIndex(market)
            index = self.index
        index.sync(self.head())
        return index

    def trader(self, account: LocalAccount) -> CachedTrader:
        return CachedTrader(self.ctx, account, self)

    def scores(self, ledger: ReputationLedgerClient) -> Callable[[int], TradeScores]:
        """``ledger.trade_scores``, kept once both parties have rated."""

        def read(trade_id: int) -> TradeScores:
            found = self.final_scores.get(trade_id)
            if found is None:
                found = ledger.trade_scores(trade_id)
                if found.buyer_score and found.seller_score:
                    self.final_scores[trade_id] = found
            return found

        return read


class CachedTrader(Trader):
    """A :class:`Trader` whose market reads go through the portal's :class:`ChainReads`."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount, reads: ChainReads) -> None:
        super().__init__(ctx, account)
        self.reads = reads

    def periods(self) -> list[Period]:
        return self.reads.kept("periods", super().periods)

    def trades(self, node: str | None = None) -> list[Trade]:
        owner = checksum_address(node or self.address)

        def read() -> list[Trade]:
            ids = sorted(self.reads.synced(self.market).trades_of.get(owner, []))
            final, fresh = self.reads.final_trades, {}
            for t in self.market.trades_in_pages([i for i in ids if i not in final]):
                if t.status in CLOSED:
                    final[t.id] = t
                else:
                    fresh[t.id] = t
            return [final.get(i) or fresh[i] for i in ids]

        return self.reads.kept(("trades", owner), read)

    def open_listings(
        self, *, period_id: int | None = None, side: ListingSide | None = None
    ) -> list[Listing]:
        def read() -> list[Listing]:
            ids = self.reads.synced(self.market).open_ids()
            read_page = self.market.listings_by_ids
            return [x for o in range(0, len(ids), PAGE) for x in read_page(ids[o : o + PAGE])]

        return [
            x
            for x in self.reads.kept("open listings", read)
            if (period_id is None or x.period_id == period_id) and (side is None or x.side == side)
        ]


class KeptStatements(StatementBuilder):
    """The settlement statements of :mod:`node.settlement.statements`, with the node's
    trades from the portal's index and a settled trade's settlement events read once."""

    def __init__(self, trader: CachedTrader) -> None:
        super().__init__(trader.ctx, trader.account)
        self.trader = trader
        self.final = trader.reads.final_events

    def _node_trades(self, node: str, period: int) -> list[Trade]:
        return [t for t in self.trader.trades(node) if t.period_id == period]

    def _trade_events(self, trade_id: int) -> list[EventData]:
        found = self.final.get(trade_id)
        if found is None:
            found = super()._trade_events(trade_id)
            if any(e["event"] == "TradeSettled" for e in found):
                self.final[trade_id] = found
        return found

    def _logs(self, event: str, **filters: Any) -> list[EventData]:
        kept = self.final.get(filters["tradeId"]) if set(filters) == {"tradeId"} else None
        if kept is not None:
            return [e for e in kept if e["event"] == event]
        return super()._logs(event, **filters)
