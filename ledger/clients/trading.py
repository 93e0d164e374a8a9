"""Client of ``TradingMarket``: periods, listings (挂牌), takes (摘牌), trades and escrow.

Units: energy in Wh, prices in fen/MWh, money in fen. A trade's prepayment (escrow) is
``floor(energy_wh * price / 1e6) + fee_fen`` with formula 1's fee on the cheapest route
(see ``contracts/interfaces/ITradingMarket.sol`` and docs/trading.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient
from ledger.clients.base import model_from_values as _model

#: Page size the iterating helpers use.
PAGE = 200
#: Default period shape: a delivery day of 96 fifteen-minute intervals.
DEFAULT_INTERVAL_S = 900
DEFAULT_INTERVALS = 96


class ListingSide(IntEnum):
    """``SELL`` is mode 1 (a seller posts, buyers take); ``BUY`` is mode 2."""

    SELL = 0
    BUY = 1


class ListingStatus(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4


class TradeStatus(IntEnum):
    NONE = 0
    FORMED = 1
    DISPATCHED = 2
    SETTLED = 3
    FAILED = 4


class Period(BaseModel):
    """A delivery period and its windows (block time)."""

    model_config = ConfigDict(frozen=True)

    id: int
    delivery_start: int
    interval_s: int
    intervals: int
    posting_opens_at: int
    taking_opens_at: int
    taking_closes_at: int

    @property
    def delivery_end(self) -> int:
        return self.delivery_start + self.interval_s * self.intervals


class Listing(BaseModel):
    """``ITradingMarket.Listing``; ``energy_wh`` is the total over the delivery window."""

    model_config = ConfigDict(frozen=True)

    id: int
    maker: str
    side: ListingSide
    status: ListingStatus
    region: int
    period_id: int
    first_interval: int
    last_interval: int
    posted_at: int
    expires_at: int
    energy_wh: int
    remaining_wh: int
    taken_wh: int
    min_take_wh: int
    price_fen_per_mwh: int
    terms_hash: bytes

    @field_serializer("terms_hash")
    def _hash_as_hex(self, value: bytes) -> str:
        """JSON shows the hash as 0x hex (raw bytes would print as NUL characters)."""
        return "0x" + value.hex()


class Trade(BaseModel):
    """``ITradingMarket.Trade``."""

    model_config = ConfigDict(frozen=True)

    id: int
    listing_id: int
    buyer: str
    seller: str
    period_id: int
    first_interval: int
    last_interval: int
    status: TradeStatus
    formed_at: int
    energy_wh: int
    price_fen_per_mwh: int
    energy_fen: int
    route: list[int]
    sum_rate_fen_per_mwh: int
    fee_fen: int
    escrow_fen: int
    exposure_fen: int
    executed_wh: int
    curtailed_wh: int
    paid_out_fen: int


class Quote(BaseModel):
    """What a take would cost now."""

    model_config = ConfigDict(frozen=True)

    price_fen_per_mwh: int
    energy_wh: int
    energy_fen: int
    route: list[int]
    sum_rate_fen_per_mwh: int
    fee_fen: int
    escrow_fen: int
    exposure_fen: int


def _period(raw: Any) -> Period:
    return Period(
        id=int(raw[0]),
        delivery_start=int(raw[1]),
        interval_s=int(raw[2]),
        intervals=int(raw[3]),
        posting_opens_at=int(raw[4]),
        taking_opens_at=int(raw[5]),
        taking_closes_at=int(raw[6]),
    )


class TradingMarketClient(ContractClient):
    """Periods (OPERATOR), listings and takes (nodes), settlement hooks (MARKET_CONTRACT)."""

    ARTIFACT = "TradingMarket"

    # -- OPERATOR -------------------------------------------------------------------------

    def open_period(
        self,
        delivery_start: int,
        posting_opens_at: int,
        taking_opens_at: int,
        taking_closes_at: int,
        *,
        interval_s: int = DEFAULT_INTERVAL_S,
        intervals: int = DEFAULT_INTERVALS,
    ) -> TxReceipt:
        return self._transact(
            "openPeriod",
            delivery_start,
            interval_s,
            intervals,
            posting_opens_at,
            taking_opens_at,
            taking_closes_at,
        )

    def set_exposure_bps(self, exposure_bps: int) -> TxReceipt:
        return self._transact("setExposureBps", exposure_bps)

    def set_dispatch_results(self, dispatch_results: str) -> TxReceipt:
        """Name DispatchResults once (ADMIN): where ``trade`` reads the energies of a trade
        settled from Formed (docs/gas.md)."""
        return self._transact("setDispatchResults", dispatch_results)

    def dispatch_results(self) -> str:
        return str(self._call("dispatchResults"))

    # -- nodes ----------------------------------------------------------------------------

    def post(
        self,
        side: ListingSide,
        period_id: int,
        first_interval: int,
        last_interval: int,
        energy_wh: int,
        price_fen_per_mwh: int,
        *,
        min_take_wh: int = 0,
        expires_at: int = 0,
        terms_hash: bytes = b"\x00" * 32,
    ) -> TxReceipt:
        return self._transact(
            "post",
            int(side),
            period_id,
            first_interval,
            last_interval,
            energy_wh,
            price_fen_per_mwh,
            min_take_wh,
            expires_at,
            terms_hash,
        )

    def amend(self, listing_id: int, price_fen_per_mwh: int, remaining_wh: int) -> TxReceipt:
        return self._transact("amend", listing_id, price_fen_per_mwh, remaining_wh)

    def cancel(self, listing_id: int) -> TxReceipt:
        return self._transact("cancel", listing_id)

    def expire_listing(self, listing_id: int) -> TxReceipt:
        return self._transact("expireListing", listing_id)

    def take(self, listing_id: int, energy_wh: int, limit_price_fen_per_mwh: int = 0) -> TxReceipt:
        return self._transact("take", listing_id, energy_wh, limit_price_fen_per_mwh)

    # -- VENUE ----------------------------------------------------------------------------

    def form_venue_trade(
        self,
        seller: str,
        buyer: str,
        payer: str,
        period_id: int,
        first_interval: int,
        last_interval: int,
        energy_wh: int,
        price_fen_per_mwh: int,
    ) -> TxReceipt:
        """Form a trade of a venue (VENUE role) in the common trade store; escrow from
        ``payer`` (ITradingMarket.formVenueTrade)."""
        return self._transact(
            "formVenueTrade",
            Web3.to_checksum_address(seller),
            Web3.to_checksum_address(buyer),
            Web3.to_checksum_address(payer),
            period_id,
            first_interval,
            last_interval,
            energy_wh,
            price_fen_per_mwh,
        )

    # -- MARKET_CONTRACT ------------------------------------------------------------------

    def mark_dispatched(self, trade_id: int, executed_wh: int, curtailed_wh: int) -> TxReceipt:
        return self._transact("markDispatched", trade_id, executed_wh, curtailed_wh)

    def pay_out(self, trade_id: int, to: str, amount_fen: int) -> TxReceipt:
        return self._transact("payOut", trade_id, Web3.to_checksum_address(to), amount_fen)

    def close_trade(self, trade_id: int, status: TradeStatus) -> TxReceipt:
        return self._transact("closeTrade", trade_id, int(status))

    # -- views ----------------------------------------------------------------------------

    def exposure_bps(self) -> int:
        return int(self._call("exposureBps"))

    def period_count(self) -> int:
        return int(self._call("periodCount"))

    def period(self, period_id: int) -> Period:
        return _period(self._call("period", period_id))

    def listing_count(self) -> int:
        return int(self._call("listingCount"))

    def listing(self, listing_id: int) -> Listing:
        return _model(Listing, self._call("listing", listing_id))

    def open_listing_ids(self) -> list[int]:
        """Ids of the open listings, from the events (the contract keeps no open set): the
        ListingPosted ones less those cancelled, expired or filled (a TradeCreated with
        ``remainingWh`` 0), replayed in log order as a swap-and-pop set, so the order is
        the one the former on-chain set had."""
        logs = [
            log
            for event in ("ListingPosted", "ListingCancelled", "ListingExpired", "TradeCreated")
            for log in self._contract.events[event]().get_logs(from_block=0)
        ]
        logs.sort(key=lambda log: (int(log["blockNumber"]), int(log["logIndex"])))
        ids: list[int] = []
        position: dict[int, int] = {}
        for log in logs:
            listing_id = int(log["args"]["listingId"])
            if log["event"] == "ListingPosted":
                position[listing_id] = len(ids)
                ids.append(listing_id)
            elif log["event"] != "TradeCreated" or int(log["args"]["remainingWh"]) == 0:
                at, moved = position.pop(listing_id), ids.pop()
                if moved != listing_id:
                    ids[at], position[moved] = moved, at
        return ids

    def open_listing_count(self) -> int:
        return len(self.open_listing_ids())

    def open_listings(self, offset: int = 0, limit: int = PAGE) -> list[Listing]:
        """A page of the open listings (current state; the order changes as listings
        close, see ``open_listing_ids``)."""
        return self.listings_by_ids(self.open_listing_ids()[offset : offset + limit])

    def iter_open_listings(self) -> Iterator[Listing]:
        """Every open listing, page by page (one snapshot of the ids)."""
        ids = self.open_listing_ids()
        for offset in range(0, len(ids), PAGE):
            yield from self.listings_by_ids(ids[offset : offset + PAGE])

    def listings_by_ids(self, listing_ids: list[int]) -> list[Listing]:
        if not listing_ids:
            return []
        return [_model(Listing, r) for r in self._call("listingsByIds", list(listing_ids))]

    def listing_ids_of(self, maker: str) -> list[int]:
        """Ids of ``maker``'s listings in posting order, from the ListingPosted events
        (``maker`` is an indexed topic; the contract keeps no per-maker list)."""
        return self._event_ids(
            "ListingPosted", "listingId", {"maker": Web3.to_checksum_address(maker)}
        )

    def listing_count_of(self, maker: str) -> int:
        return len(self.listing_ids_of(maker))

    def listings_of(self, maker: str, offset: int = 0, limit: int = PAGE) -> list[Listing]:
        """A page of ``maker``'s listings in posting order (current state)."""
        return self.listings_by_ids(self.listing_ids_of(maker)[offset : offset + limit])

    def _event_ids(self, event: str, field: str, filters: dict[str, Any]) -> list[int]:
        logs = self._contract.events[event]().get_logs(from_block=0, argument_filters=filters)
        return sorted(int(log["args"][field]) for log in logs)

    def quote(self, listing_id: int, taker_region: int, energy_wh: int) -> Quote:
        return _model(Quote, self._call("quote", listing_id, taker_region, energy_wh))

    def trade_count(self) -> int:
        return int(self._call("tradeCount"))

    def trade(self, trade_id: int) -> Trade:
        return _model(Trade, self._call("trade", trade_id))

    def trade_ids_of(self, node: str) -> list[int]:
        """Ids of the trades ``node`` is buyer or seller of, in formation order, from the
        buyer and seller fields of the TradeCreated events (the contract keeps only a
        count per node and period, ``trade_count_in``)."""
        node = Web3.to_checksum_address(node)
        logs = self._contract.events["TradeCreated"]().get_logs(from_block=0)
        return sorted(
            int(log["args"]["tradeId"])
            for log in logs
            if node in (log["args"]["buyer"], log["args"]["seller"])
        )

    def trade_count_of(self, node: str) -> int:
        return len(self.trade_ids_of(node))

    def trades_of(self, node: str, offset: int = 0, limit: int = PAGE) -> list[Trade]:
        """A page of ``node``'s trades in formation order (current state)."""
        return self.trades_by_ids(self.trade_ids_of(node)[offset : offset + limit])

    def trade_count_in(self, node: str, period_id: int) -> int:
        """How many trades of ``period_id`` ``node`` is buyer or seller of."""
        return int(self._call("tradeCountIn", Web3.to_checksum_address(node), period_id))

    def period_trade_ids(self, period_id: int) -> list[int]:
        """Ids of period ``period_id``'s trades in formation order, from the TradeCreated
        events (``period`` is an indexed topic; the contract keeps no per-period list)."""
        return self._event_ids("TradeCreated", "tradeId", {"period": period_id})

    def period_trade_count(self, period_id: int) -> int:
        return len(self.period_trade_ids(period_id))

    def period_trades(self, period_id: int, offset: int = 0, limit: int = PAGE) -> list[Trade]:
        """A page of period ``period_id``'s trades in formation order (current state)."""
        return self.trades_by_ids(self.period_trade_ids(period_id)[offset : offset + limit])

    def trades_by_ids(self, trade_ids: list[int]) -> list[Trade]:
        if not trade_ids:
            return []
        return [_model(Trade, r) for r in self._call("tradesByIds", list(trade_ids))]

    def trades_in_pages(self, trade_ids: list[int]) -> list[Trade]:
        """The trades of ``trade_ids``, read ``PAGE`` at a time."""
        return [
            t
            for o in range(0, len(trade_ids), PAGE)
            for t in self.trades_by_ids(trade_ids[o : o + PAGE])
        ]

    def all_period_trades(self, period_id: int) -> list[Trade]:
        """Every trade of ``period_id`` in formation order: the ids read from the logs once
        (paging ``period_trades`` would read them once per page)."""
        return self.trades_in_pages(self.period_trade_ids(period_id))

    def all_trades_of(self, node: str) -> list[Trade]:
        """Every trade ``node`` is buyer or seller of, in formation order (ids read once)."""
        return self.trades_in_pages(self.trade_ids_of(node))

    def all_listings_of(self, maker: str) -> list[Listing]:
        """Every listing of ``maker`` in posting order (ids read once)."""
        ids = self.listing_ids_of(maker)
        return [
            x for o in range(0, len(ids), PAGE) for x in self.listings_by_ids(ids[o : o + PAGE])
        ]

    def escrow_of(self, trade_id: int) -> int:
        return int(self._call("escrowOf", trade_id))

    def total_escrow_fen(self) -> int:
        return int(self._call("totalEscrowFen"))

    # -- receipts -------------------------------------------------------------------------

    def posted_listing_id(self, receipt: TxReceipt) -> int:
        """The id of the listing ``post`` created in ``receipt``."""
        return int(self.events(receipt, "ListingPosted")[0]["args"]["listingId"])

    def created_trade_id(self, receipt: TxReceipt) -> int:
        """The id of the trade ``take`` formed in ``receipt``."""
        return int(self.events(receipt, "TradeCreated")[0]["args"]["tradeId"])

    def opened_period_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "PeriodOpened")[0]["args"]["period"])
