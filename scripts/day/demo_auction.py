"""The demo day's centralised auction (集中竞价), run right after posted-offer taking.

The regulator sets the price floor and cap, the operator opens an auction for the whole
delivery period with a short order window, every participant orders one lot at its own
reference price (sellers offer at it, buyers bid a fifth above it, both clamped into the
limits), the gate closes (the clock moves to it), the operator cranks the clearing, and
the auction's trades join the day's trades: dispatch, metering, settlement, ratings and
certificates treat them like posted trades. The summary counts them apart (``auction_*``),
so the posted-offer figures stay what they were without the auction.
"""

from __future__ import annotations

from ledger.clients.auction import ClearingRule, OrderSide
from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.errors import GridLedgerError
from ledger.scenario import Participant
from node.auction.api import AuctionDesk
from scripts.day.demo_base import DemoBase

#: Price floor and cap (fen/MWh): 100 and 1,500 CNY/MWh.
FLOOR_FEN_PER_MWH = 10_000
CAP_FEN_PER_MWH = 150_000
#: Every order is one lot of 0.2 MWh (the minimum lot is 0.1 MWh).
LOT_WH = 200_000
MIN_LOT_WH = 100_000
#: Buyers bid this share above their reference price (basis points).
BID_MARKUP_BPS = 12_000
#: The longest order window (s); shorter when delivery is nearer.
WINDOW_S = 120


def order_price_fen_per_mwh(p: Participant) -> int:
    """``p``'s limit: its reference price (sellers) or a fifth above it (buyers), clamped."""
    price = p.price_fen_per_mwh or CAP_FEN_PER_MWH // 2
    if p.side != "seller":
        price = price * BID_MARKUP_BPS // 10_000
    return max(FLOOR_FEN_PER_MWH, min(CAP_FEN_PER_MWH, price))


class AuctionStages(DemoBase):
    """The auction stage (only when ``CentralAuction`` is deployed)."""

    auction_trade_ids: list[int]

    def auction(self) -> None:
        self.auction_trade_ids = []
        if not self.has("CentralAuction"):
            self.summary.skipped.append("auction")
            return
        AuctionDesk(self.ctx, self.role("regulator")).set_price_limits(
            FLOOR_FEN_PER_MWH, CAP_FEN_PER_MWH
        )
        operator = AuctionDesk(self.ctx, self.role("operator"))
        period = operator.ctx.client(TradingMarketClient, self.role("operator")).period(
            self.period_id
        )
        now = self.chain_time()
        gate = now + max(2, min(WINDOW_S, (period.delivery_start - now) // 2))
        auction_id = operator.open(
            self.period_id, 0, period.intervals - 1, now, gate, MIN_LOT_WH, ClearingRule.UNIFORM
        )
        placed = [0]

        def order(p: Participant) -> None:
            desk = AuctionDesk(self.ctx, self.account(p))
            side = OrderSide.OFFER if p.side == "seller" else OrderSide.BID
            try:
                desk.order(auction_id, side, LOT_WH, order_price_fen_per_mwh(p))
                placed[0] += 1
            except GridLedgerError as exc:  # a node without the bond or funds sits it out
                self.report(f"auction: node-{p.index + 1} could not order: {exc}")

        self.each(self.scenario.participants, order)
        self.set_time(gate)
        operator.clear(auction_id)
        result = operator.result(auction_id)
        self.auction_trade_ids = [f.trade_id for f in result.fills]
        self.trade_ids = self.trade_ids + self.auction_trade_ids
        self.summary.auction_orders = placed[0]
        self.summary.auction_trades = len(result.fills)
        self.summary.auction_traded_wh = result.auction.traded_wh
        pairs = operator.auction.auction(auction_id).pair_count
        self.summary.auction_price_fen_per_mwh = (
            result.fills[0].price_fen_per_mwh if result.fills else 0
        )
        self.report(
            f"auction {auction_id}: {placed[0]} orders, {len(result.fills)} trades, "
            f"{result.auction.traded_wh / 1e6:,.1f} MWh at "
            f"{self.summary.auction_price_fen_per_mwh / 100:,.2f} CNY/MWh (uniform price; "
            f"{pairs} pairs matched)"
        )

    def count_auction_settled(self) -> None:
        """After settlement: the auction's settled trades are counted apart."""
        ids = getattr(self, "auction_trade_ids", [])
        if not ids:
            return
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        settled = sum(1 for t in ids if market.trade(t).status == TradeStatus.SETTLED)
        self.summary.auction_trades_settled = settled
        self.summary.trades_settled -= settled
