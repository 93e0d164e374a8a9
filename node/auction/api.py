"""The centralised auction (集中竞价) for the operator, the regulator and participants:
open, order, amend, cancel, read the book, crank the clearing, read and export results.

``AuctionDesk`` wraps ``ledger.clients.auction.CentralAuctionClient``; the CLI
(``node/auction/cli.py``) and the demo day (``scripts/day``) use it. A bid approves the
auction contract for its escrow when the allowance is short. The default fee cap of a new
auction is the sum of every region's current stamp rate, an upper bound of any cheapest
route's rate sum (as ``node.trading.trader`` bounds a buy listing's prepayment).
"""

from __future__ import annotations

import csv
import io

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel
from web3.types import TxReceipt

from ledger.auction_clearing import BookOrder, step_curves
from ledger.clients.auction import (
    Auction,
    CentralAuctionClient,
    ClearingRule,
    Fill,
    OrderSide,
)
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.units import value_fen


class NodeFill(BaseModel):
    """A fill with both parties, for results and CSV."""

    pair_index: int
    trade_id: int
    bid_id: int
    offer_id: int
    buyer: str
    seller: str
    energy_wh: int
    price_fen_per_mwh: int
    value_fen: int


class AuctionResult(BaseModel):
    """An auction, its book size, its step curves and its fills."""

    auction_id: int
    auction: Auction
    bids: int
    offers: int
    demand: list[tuple[int, int]]
    supply: list[tuple[int, int]]
    fills: list[NodeFill]


class AuctionDesk:
    """The auction for one signing account (any role; each call checks its own)."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.ctx = ctx
        self.account = account
        self.auction = ctx.client(CentralAuctionClient, account)
        self.token = ctx.client(SettlementTokenClient, account)

    # -- REGULATOR, OPERATOR -----------------------------------------------------------

    def set_price_limits(self, floor_fen_per_mwh: int, cap_fen_per_mwh: int) -> TxReceipt:
        return self.auction.set_price_limits(floor_fen_per_mwh, cap_fen_per_mwh)

    def default_fee_cap_fen_per_mwh(self) -> int:
        """The sum of every region's current stamp rate (>= any route's rate sum)."""
        tariff = self.ctx.client(TransmissionTariffClient, self.account)
        return sum(r.rate_fen_per_mwh for r in tariff.regions() if r.has_rate)

    def open(
        self,
        period_id: int,
        first_interval: int,
        last_interval: int,
        opens_at: int,
        gate_closes_at: int,
        min_lot_wh: int,
        rule: ClearingRule,
        fee_cap_fen_per_mwh: int | None = None,
    ) -> int:
        """Open an auction; returns its id."""
        fee_cap = (
            self.default_fee_cap_fen_per_mwh()
            if fee_cap_fen_per_mwh is None
            else fee_cap_fen_per_mwh
        )
        receipt = self.auction.open_auction(
            period_id,
            first_interval,
            last_interval,
            opens_at,
            gate_closes_at,
            min_lot_wh,
            rule,
            fee_cap,
        )
        return self.auction.opened_auction_id(receipt)

    # -- participants --------------------------------------------------------------------

    def order(
        self, auction_id: int, side: OrderSide, energy_wh: int, price_fen_per_mwh: int
    ) -> int:
        """Place an order (a bid first approves its escrow if the allowance is short)."""
        if side == OrderSide.BID:
            self._allow_bid(auction_id, energy_wh, price_fen_per_mwh)
        receipt = self.auction.place_order(auction_id, side, energy_wh, price_fen_per_mwh)
        return self.auction.placed_order_id(receipt)

    def amend(self, order_id: int, energy_wh: int, price_fen_per_mwh: int) -> TxReceipt:
        o = self.auction.order(order_id)
        if o.side == OrderSide.BID:
            self._allow_bid(o.auction_id, energy_wh, price_fen_per_mwh)
        return self.auction.amend_order(order_id, energy_wh, price_fen_per_mwh)

    def cancel(self, order_id: int) -> TxReceipt:
        return self.auction.cancel_order(order_id)

    def _allow_bid(self, auction_id: int, energy_wh: int, price_fen_per_mwh: int) -> None:
        """Approve a bid's escrow (energy at the limit + fee at the cap) when short."""
        fee_cap = self.auction.auction(auction_id).fee_cap_fen_per_mwh
        amount_fen = value_fen(energy_wh, price_fen_per_mwh) + value_fen(energy_wh, fee_cap)
        if self.token.allowance(self.account.address, self.auction.address) < amount_fen:
            self.token.approve(self.auction.address, amount_fen)

    # -- anyone --------------------------------------------------------------------------

    def book(self, auction_id: int) -> list[BookOrder]:
        return self.auction.book(auction_id)

    def clear(self, auction_id: int, *, steps: int = 40) -> int:
        """Rank and crank until cleared; returns the transactions sent."""
        return len(self.auction.clear_all(auction_id, steps=steps))

    def result(self, auction_id: int) -> AuctionResult:
        a = self.auction.auction(auction_id)
        book = self.auction.book(auction_id)
        nodes = {o.order_id: o.node for o in book}
        demand, supply = step_curves(book)
        return AuctionResult(
            auction_id=auction_id,
            auction=a,
            bids=sum(1 for o in book if o.bid),
            offers=sum(1 for o in book if not o.bid),
            demand=demand,
            supply=supply,
            fills=[_node_fill(f, nodes) for f in self.auction.fills(auction_id)],
        )


def _node_fill(f: Fill, nodes: dict[int, str]) -> NodeFill:
    return NodeFill(
        pair_index=f.pair_index,
        trade_id=f.trade_id,
        bid_id=f.bid_id,
        offer_id=f.offer_id,
        buyer=nodes.get(f.bid_id, ""),
        seller=nodes.get(f.offer_id, ""),
        energy_wh=f.energy_wh,
        price_fen_per_mwh=f.price_fen_per_mwh,
        value_fen=value_fen(f.energy_wh, f.price_fen_per_mwh),
    )


CSV_FIELDS = list(NodeFill.model_fields)


def fills_csv(fills: list[NodeFill]) -> str:
    """The fills as CSV (chain units: Wh, fen/MWh, fen)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for f in fills:
        writer.writerow(f.model_dump())
    return out.getvalue()
