"""The portal's chain reads at market size: what a page reads is kept until a new block,
and the contracts' event logs are indexed incrementally.

The contracts keep no per-node trade list and no open-listing set: ``TradingMarketClient``
finds a node's trades and the open listings by decoding every ``TradeCreated`` (and listing)
event from block 0, about a millisecond a log in web3, so seconds per page on a day of the
full market; a statement reads the settlement engine's events trade by trade.
:class:`MarketIndex` and :class:`EventIndex` decode each log once, from the block after the
last one they read; :class:`ChainReads` keeps any other read (statements, ratings, periods)
until the chain's head moves. What cannot change until an event says so is kept longer: a
settled or failed trade and the scores of a trade rated both ways for the process's life,
an open listing until its next event. The permissioned chain has final blocks (no
reorganisation), which is what the append-only indexes and the kept facts assume.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
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
LISTING_EVENTS = (
    "ListingPosted", "ListingAmended", "ListingCancelled", "ListingExpired", "TradeCreated",
)  # fmt: skip
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
        #: The block of each listing's last event (a listing changes only with one).
        self.touched: dict[int, int] = {}
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
                args, name = log["args"], log["event"]
                listing_id = int(args["listingId"])
                self.touched[listing_id] = int(log["blockNumber"])
                if name == "ListingPosted":
                    self.posted.add(listing_id)
                elif name in ("ListingCancelled", "ListingExpired"):
                    self.closed.add(listing_id)
                elif name == "TradeCreated":
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
        self.engine: EventIndex | None = None
        #: Open listings as last read, with the block of their last event then.
        self.listings: dict[int, tuple[int, Listing]] = {}
        #: Facts that no longer change: the scores of a trade rated both ways, a settled
        #: or failed trade.
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

    def engine_index(self, contract: Contract, from_block: int) -> EventIndex:
        """The settlement engine's event index (made on first use)."""
        with self._lock:
            if self.engine is None:
                self.engine = EventIndex(contract, from_block)
            return self.engine

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
            index = self.reads.synced(self.market)
            ids, kept = index.open_ids(), self.reads.listings
            stale = [i for i in ids if kept.get(i, (-1,))[0] != index.touched[i]]
            for o in range(0, len(stale), PAGE):
                for x in self.market.listings_by_ids(stale[o : o + PAGE]):
                    kept[x.id] = (index.touched[x.id], x)
            return [kept[i][1] for i in ids]

        return [
            x
            for x in self.reads.kept("open listings", read)
            if (period_id is None or x.period_id == period_id) and (side is None or x.side == side)
        ]


class EventIndex:
    """Events of one contract, each decoded once, found by any of their arguments."""

    def __init__(self, contract: Contract, from_block: int) -> None:
        self.contract = contract
        self.from_block = from_block
        self.synced: dict[str, int] = {}
        self.by: dict[tuple[str, str, object], list[EventData]] = defaultdict(list)
        self._lock = threading.Lock()

    def logs(self, event: str, head: int, **filters: Any) -> list[EventData]:
        """The ``event`` logs up to ``head`` whose arguments equal ``filters`` (at least one)."""
        with self._lock:
            last = self.synced.get(event, self.from_block - 1)
            if head > last:
                new = self.contract.events[event]().get_logs(from_block=last + 1, to_block=head)
                for log in new:
                    for name, value in log["args"].items():
                        if isinstance(value, int | str | bytes):
                            self.by[(event, name, value)].append(log)
                self.synced[event] = head
            (key, value), *rest = filters.items()
            found = list(self.by.get((event, key, value), []))
        return [log for log in found if all(log["args"][k] == v for k, v in rest)]


class KeptStatements(StatementBuilder):
    """The settlement statements of :mod:`node.settlement.statements`, with the node's
    trades and the settlement engine's events from the portal's indexes."""

    def __init__(self, trader: CachedTrader) -> None:
        super().__init__(trader.ctx, trader.account)
        self.trader = trader
        self.index = trader.reads.engine_index(self.engine.contract, self.from_block)

    def _node_trades(self, node: str, period: int) -> list[Trade]:
        return [t for t in self.trader.trades(node) if t.period_id == period]

    def _logs(self, event: str, **filters: Any) -> list[EventData]:
        if not filters:
            return super()._logs(event)
        return self.index.logs(event, self.trader.reads.head(), **filters)
