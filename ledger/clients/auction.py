"""Client of ``CentralAuction``: the centralised auction (集中竞价), docs/auction.md.

Units: energy in Wh, prices in fen/MWh, money in fen. A bid escrows
``value_fen(energy, limit) + value_fen(energy, fee cap)``; an offer reserves
``exposure_fen(value_fen(energy, price cap), exposure bps)`` on its seller's bond.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from pydantic import BaseModel, ConfigDict
from web3.types import EventData, TxReceipt

from ledger.auction_clearing import BookOrder, priority_order
from ledger.clients.base import ContractClient
from ledger.clients.base import model_from_values as _model
from ledger.errors import NotFoundError

#: Orders per rank transaction and steps per clear transaction the helpers use.
RANK_BATCH = 100
CLEAR_STEPS = 40


class ClearingRule(IntEnum):
    """``UNIFORM``: all pairs at the marginal pair's average; ``PAIR_AVERAGE``: each pair
    at its own average (high-low matching)."""

    UNIFORM = 0
    PAIR_AVERAGE = 1


class OrderSide(IntEnum):
    BID = 0
    OFFER = 1


class OrderStatus(IntEnum):
    NONE = 0
    LIVE = 1
    CANCELLED = 2
    SETTLED = 3


class Phase(IntEnum):
    NONE = 0
    OPEN = 1
    MATCHING = 2
    FORMING = 3
    REFUNDING = 4
    CLEARED = 5


class Auction(BaseModel):
    """``ICentralAuction.Auction`` (field order as the struct's)."""

    model_config = ConfigDict(frozen=True)

    period_id: int
    first_interval: int
    last_interval: int
    opens_at: int
    gate_closes_at: int
    min_lot_wh: int
    rule: ClearingRule
    phase: Phase
    floor_fen_per_mwh: int
    cap_fen_per_mwh: int
    fee_cap_fen_per_mwh: int
    live_bids: int
    live_offers: int
    ranked_bids: int
    ranked_offers: int
    bid_pos: int
    offer_pos: int
    pair_count: int
    form_pos: int
    refund_pos: int
    last_bid_price_fen_per_mwh: int
    last_offer_price_fen_per_mwh: int
    last_ranked_bid: int
    last_ranked_offer: int
    matched_wh: int
    traded_wh: int
    trade_count: int


class Order(BaseModel):
    """``ICentralAuction.Order``; ``held_fen`` is escrow (bid) or bond reservation (offer)."""

    model_config = ConfigDict(frozen=True)

    node: str
    auction_id: int
    side: OrderSide
    status: OrderStatus
    seq: int
    energy_wh: int
    price_fen_per_mwh: int
    matched_wh: int
    traded_wh: int
    held_fen: int


class Fill(BaseModel):
    """A pair of clearing that became a trade (``PairTraded``)."""

    model_config = ConfigDict(frozen=True)

    pair_index: int
    bid_id: int
    offer_id: int
    trade_id: int
    energy_wh: int
    price_fen_per_mwh: int


class CentralAuctionClient(ContractClient):
    """Auctions (REGULATOR limits, OPERATOR opens), orders (nodes), clearing (anyone)."""

    ARTIFACT = "CentralAuction"

    # -- REGULATOR, OPERATOR -----------------------------------------------------------

    def set_price_limits(self, floor_fen_per_mwh: int, cap_fen_per_mwh: int) -> TxReceipt:
        return self._transact("setPriceLimits", floor_fen_per_mwh, cap_fen_per_mwh)

    def open_auction(
        self,
        period_id: int,
        first_interval: int,
        last_interval: int,
        opens_at: int,
        gate_closes_at: int,
        min_lot_wh: int,
        rule: ClearingRule,
        fee_cap_fen_per_mwh: int,
    ) -> TxReceipt:
        return self._transact(
            "openAuction",
            period_id,
            first_interval,
            last_interval,
            opens_at,
            gate_closes_at,
            min_lot_wh,
            int(rule),
            fee_cap_fen_per_mwh,
        )

    # -- nodes ---------------------------------------------------------------------------

    def place_order(
        self, auction_id: int, side: OrderSide, energy_wh: int, price_fen_per_mwh: int
    ) -> TxReceipt:
        return self._transact("placeOrder", auction_id, int(side), energy_wh, price_fen_per_mwh)

    def amend_order(self, order_id: int, energy_wh: int, price_fen_per_mwh: int) -> TxReceipt:
        return self._transact("amendOrder", order_id, energy_wh, price_fen_per_mwh)

    def cancel_order(self, order_id: int) -> TxReceipt:
        return self._transact("cancelOrder", order_id)

    # -- clearing ------------------------------------------------------------------------

    def rank(self, auction_id: int, order_ids: Sequence[int]) -> TxReceipt:
        return self._transact("rank", auction_id, list(order_ids))

    def clear(self, auction_id: int, max_steps: int) -> TxReceipt:
        return self._transact("clear", auction_id, max_steps)

    def clear_all(
        self, auction_id: int, *, batch: int = RANK_BATCH, steps: int = CLEAR_STEPS
    ) -> list[TxReceipt]:
        """Rank the live book in priority order (derived from the events) and crank until
        the auction is cleared; the receipts in order."""
        receipts: list[TxReceipt] = []
        a = self.auction(auction_id)
        if a.phase == Phase.OPEN:
            bids, offers = priority_order(self.book(auction_id))
            todo = [o.order_id for o in bids[a.ranked_bids :] + offers[a.ranked_offers :]]
            for k in range(0, len(todo), batch):
                receipts.append(self.rank(auction_id, todo[k : k + batch]))
        while self.auction(auction_id).phase != Phase.CLEARED:
            receipts.append(self.clear(auction_id, steps))
        return receipts

    # -- views ---------------------------------------------------------------------------

    def price_limits(self) -> tuple[int, int]:
        floor, cap = self._call("priceLimits")
        return int(floor), int(cap)

    def auction_count(self) -> int:
        return int(self._call("auctionCount"))

    def auction(self, auction_id: int) -> Auction:
        return _model(Auction, self._call("auction", auction_id))

    def order_count(self) -> int:
        return int(self._call("orderCount"))

    def order(self, order_id: int) -> Order:
        return _model(Order, self._call("order", order_id))

    def order_ids(self, auction_id: int) -> list[int]:
        """Every order id of the auction, in placing order (OrderPlaced logs)."""
        logs = self._logs("OrderPlaced", auction_id)
        return [int(log["args"]["orderId"]) for log in logs]

    def book(self, auction_id: int) -> list[BookOrder]:
        """The live orders of the auction as the clearing reference reads them (the chain's
        order state, which amendments and cancellations updated)."""
        out: list[BookOrder] = []
        for order_id in self.order_ids(auction_id):
            o = self.order(order_id)
            if o.status == OrderStatus.CANCELLED:
                continue
            out.append(
                BookOrder(
                    order_id=order_id,
                    node=o.node,
                    bid=o.side == OrderSide.BID,
                    seq=o.seq,
                    energy_wh=o.energy_wh,
                    price_fen_per_mwh=o.price_fen_per_mwh,
                )
            )
        return out

    def fills(self, auction_id: int) -> list[Fill]:
        """The pairs that became trades, in pair order (PairTraded logs)."""
        return [
            Fill(
                pair_index=int(log["args"]["pairIndex"]),
                bid_id=int(log["args"]["bidId"]),
                offer_id=int(log["args"]["offerId"]),
                trade_id=int(log["args"]["tradeId"]),
                energy_wh=int(log["args"]["energyWh"]),
                price_fen_per_mwh=int(log["args"]["priceFenPerMwh"]),
            )
            for log in self._logs("PairTraded", auction_id)
        ]

    def _logs(self, event: str, auction_id: int) -> list[EventData]:
        if not 0 < auction_id <= self.auction_count():
            raise NotFoundError(f"no auction {auction_id}")
        logs = self._contract.events[event]().get_logs(
            from_block=0, argument_filters={"auctionId": auction_id}
        )
        return sorted(logs, key=lambda log: (int(log["blockNumber"]), int(log["logIndex"])))

    # -- receipts ------------------------------------------------------------------------

    def opened_auction_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "AuctionOpened")[0]["args"]["auctionId"])

    def placed_order_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "OrderPlaced")[0]["args"]["orderId"])
