"""The participant's trading API: post, amend, cancel, take, quote, list; and the bridge
between the chain and the recommendation optimiser (``node.trading.optimizer``).

Typical use (demo keys)::

    trader = Trader(ctx, ctx.account("node-3"))
    plan = trader.recommend(target_wh=5_000_000, mode=1, period_id=1)
    report = trader.execute_plan(plan)

Allowances: a take of a sell listing (mode 1) approves exactly the prepayment it needs
when the allowance is short; posting a buy listing (mode 2) raises the allowance by the
listing's worst-case prepayment (energy at its price plus the fee at the sum of every
region's current stamp rate, an upper bound of any route's sum), because the sellers'
takes pull the prepayment from the poster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.registry import NodeRegistryClient
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import (
    Listing,
    ListingSide,
    ListingStatus,
    Period,
    Quote,
    Trade,
    TradingMarketClient,
)
from ledger.context import LedgerContext
from ledger.display import listing_status_name, short_time
from ledger.errors import ContractRevertError, ValidationError
from ledger.units import value_fen
from node.reputation.api import reputation_fractions
from node.trading.optimizer import ListingOffer, Mode, Plan, Weights, recommend


def mode_side(mode: Mode) -> ListingSide:
    """The listings a taker of ``mode`` takes: mode 1 sell listings, mode 2 buy listings."""
    return ListingSide.SELL if mode == 1 else ListingSide.BUY


class PostResult(BaseModel):
    listing_id: int
    tx_hash: str
    gas_used: int
    allowance_fen: int | None = None


class TakeResult(BaseModel):
    trade_id: int
    listing_id: int
    energy_wh: int
    escrow_fen: int
    fee_fen: int
    route: list[int]
    tx_hash: str
    gas_used: int


class TakeOutcome(BaseModel):
    """What ``take --plan`` did with one planned take."""

    listing_id: int
    planned_wh: int
    outcome: Literal["taken", "skipped", "failed"]
    taken_wh: int = 0
    trade_id: int | None = None
    escrow_fen: int | None = None
    reason: str = ""
    tx_hash: str | None = None


class PlanReport(BaseModel):
    outcomes: list[TakeOutcome]
    taken_wh: int
    escrow_fen: int

    @property
    def skipped(self) -> list[TakeOutcome]:
        return [o for o in self.outcomes if o.outcome != "taken"]


def _tx(receipt: TxReceipt) -> tuple[str, int]:
    return receipt["transactionHash"].to_0x_hex(), int(receipt["gasUsed"])


class Trader:
    """A market node trading with its own key (reads work with any key)."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.ctx = ctx
        self.account = account
        self.market = ctx.client(TradingMarketClient, account)
        self.token = ctx.client(SettlementTokenClient, account)
        self.registry = ctx.client(NodeRegistryClient, account)
        self.tariff = ctx.client(TransmissionTariffClient, account)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def now(self) -> int:
        return int(self.ctx.w3.eth.get_block("latest")["timestamp"])

    # -- periods --------------------------------------------------------------------------

    def periods(self) -> list[Period]:
        return [self.market.period(i) for i in range(1, self.market.period_count() + 1)]

    def open_period(
        self,
        delivery_start: int,
        posting_opens_at: int,
        taking_opens_at: int,
        taking_closes_at: int,
        *,
        interval_s: int = 900,
        intervals: int = 96,
    ) -> Period:
        """OPERATOR: open a delivery period."""
        receipt = self.market.open_period(
            delivery_start,
            posting_opens_at,
            taking_opens_at,
            taking_closes_at,
            interval_s=interval_s,
            intervals=intervals,
        )
        return self.market.period(self.market.opened_period_id(receipt))

    # -- posting --------------------------------------------------------------------------

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
    ) -> PostResult:
        """Post a listing; a buy listing first raises the allowance by its worst case."""
        allowance: int | None = None
        if side == ListingSide.BUY:
            worst = self.worst_case_prepayment_fen(energy_wh, price_fen_per_mwh)
            allowance = self.token.allowance(self.address, self.market.address) + worst
            self.token.approve(self.market.address, allowance)
        receipt = self.market.post(
            side,
            period_id,
            first_interval,
            last_interval,
            energy_wh,
            price_fen_per_mwh,
            min_take_wh=min_take_wh,
            expires_at=expires_at,
            terms_hash=terms_hash,
        )
        tx_hash, gas = _tx(receipt)
        return PostResult(
            listing_id=self.market.posted_listing_id(receipt),
            tx_hash=tx_hash,
            gas_used=gas,
            allowance_fen=allowance,
        )

    def worst_case_prepayment_fen(self, energy_wh: int, price_fen_per_mwh: int) -> int:
        """Energy at the price plus the fee at the sum of every region's current rate."""
        top_sum = sum(r.rate_fen_per_mwh for r in self.tariff.regions() if r.has_rate)
        return value_fen(energy_wh, price_fen_per_mwh) + value_fen(energy_wh, top_sum)

    def amend(self, listing_id: int, price_fen_per_mwh: int, remaining_wh: int) -> TxReceipt:
        return self.market.amend(listing_id, price_fen_per_mwh, remaining_wh)

    def cancel(self, listing_id: int) -> TxReceipt:
        return self.market.cancel(listing_id)

    # -- taking ---------------------------------------------------------------------------

    def region(self) -> int:
        return self.registry.node_info(self.address).region

    def quote(self, listing_id: int, energy_wh: int) -> Quote:
        """What taking ``energy_wh`` costs now; a listing that can no longer be taken (expired
        at chain time, filled, cancelled) is refused rather than priced."""
        listing = self.market.listing(listing_id)
        now = self.now()
        status = listing_status_name(listing, now)
        if status == "expired":
            raise ValidationError(
                f"listing {listing_id} expired at {short_time(listing.expires_at)} UTC "
                f"(chain time {short_time(now)}): it can no longer be taken"
            )
        if status != "open":
            raise ValidationError(f"listing {listing_id} is {status}: it can no longer be taken")
        return self.market.quote(listing_id, self.region(), energy_wh)

    def take(
        self, listing_id: int, energy_wh: int, limit_price_fen_per_mwh: int | None = None
    ) -> TakeResult:
        """Take ``energy_wh``; the price limit defaults to the price just read.

        Mode 1 (a sell listing) approves the prepayment when the allowance is short.
        """
        listing = self.market.listing(listing_id)
        limit = limit_price_fen_per_mwh
        if limit is None:
            limit = listing.price_fen_per_mwh
        if listing.side == ListingSide.SELL:
            quote = self.market.quote(listing_id, self.region(), energy_wh)
            if self.token.allowance(self.address, self.market.address) < quote.escrow_fen:
                self.token.approve(self.market.address, quote.escrow_fen)
        receipt = self.market.take(listing_id, energy_wh, limit)
        trade = self.market.trade(self.market.created_trade_id(receipt))
        tx_hash, gas = _tx(receipt)
        return TakeResult(
            trade_id=trade.id,
            listing_id=listing_id,
            energy_wh=trade.energy_wh,
            escrow_fen=trade.escrow_fen,
            fee_fen=trade.fee_fen,
            route=trade.route,
            tx_hash=tx_hash,
            gas_used=gas,
        )

    # -- reading --------------------------------------------------------------------------

    def open_listings(
        self, *, period_id: int | None = None, side: ListingSide | None = None
    ) -> list[Listing]:
        """Open listings (optionally of one period and side), in sequence (id) order."""
        found = [
            x
            for x in self.market.iter_open_listings()
            if (period_id is None or x.period_id == period_id) and (side is None or x.side == side)
        ]
        return sorted({x.id: x for x in found}.values(), key=lambda x: x.id)

    def my_listings(self, node: str | None = None) -> list[Listing]:
        owner = node or self.address
        return self.market.all_listings_of(owner)

    def trades(self, node: str | None = None) -> list[Trade]:
        owner = node or self.address
        return self.market.all_trades_of(owner)

    # -- recommendation -------------------------------------------------------------------

    def offers(self, mode: Mode, period_id: int | None = None) -> list[ListingOffer]:
        """The optimiser's view of the open listings this node could take now.

        Excludes its own listings and expired ones; the transmission rate is the cheapest
        route's stamp sum from the seller's region to the buyer's; reputation is the maker's
        ``ReputationLedger`` score / 1000; carbon is the seller's registered intensity
        (mode 1).
        """
        now = self.now()
        mine = self.region()
        routes: dict[tuple[int, int], int | None] = {}
        carbon: dict[str, int] = {}
        offers: list[ListingOffer] = []
        listings = [
            x
            for x in self.open_listings(period_id=period_id, side=mode_side(mode))
            if x.maker != self.address and x.expires_at > now and x.remaining_wh > 0
        ]
        reputation = reputation_fractions(
            self.ctx, {x.maker for x in listings}, account=self.account
        )
        for x in listings:
            pair = (x.region, mine) if mode == 1 else (mine, x.region)
            if pair not in routes:
                routes[pair] = self._route_sum(*pair)
            rate = routes[pair]
            if rate is None:
                continue  # no route joins the regions: the take would revert
            if mode == 1 and x.maker not in carbon:
                carbon[x.maker] = self.registry.node_info(x.maker).carbon_intensity_g_per_kwh
            offers.append(
                ListingOffer(
                    listing_id=x.id,
                    mode=mode,
                    counterparty=x.maker,
                    available_wh=x.remaining_wh,
                    min_take_wh=min(x.min_take_wh, x.remaining_wh),
                    price_fen_per_mwh=x.price_fen_per_mwh,
                    transmission_rate_fen_per_mwh=rate,
                    reputation=reputation[Web3.to_checksum_address(x.maker)],
                    carbon_g_per_kwh=float(carbon.get(x.maker, 0)),
                )
            )
        return offers

    def _route_sum(self, seller_region: int, buyer_region: int) -> int | None:
        try:
            return self.tariff.cheapest_route(seller_region, buyer_region).sum_rate_fen_per_mwh
        except ContractRevertError:
            return None

    def recommend(
        self,
        target_wh: int,
        mode: Mode,
        *,
        period_id: int | None = None,
        weights: Weights | None = None,
        allow_partial_fill: bool = False,
    ) -> Plan:
        """The optimiser's plan over the open listings read from chain."""
        return recommend(
            self.offers(mode, period_id),
            target_wh,
            mode,
            weights,
            allow_partial_fill=allow_partial_fill,
        )

    def execute_plan(self, plan: Plan) -> PlanReport:
        """Take each planned take; skip (and report) listings no longer takeable as planned.

        A listing filled, cancelled or expired meanwhile, or whose price moved against the
        plan, is skipped; one partly taken meanwhile is taken for what is left when that
        still meets its minimum take. A take that reverts is reported and the rest go on.
        """
        outcomes = list(self._execute(plan))
        return PlanReport(
            outcomes=outcomes,
            taken_wh=sum(o.taken_wh for o in outcomes),
            escrow_fen=sum(o.escrow_fen or 0 for o in outcomes),
        )

    def _execute(self, plan: Plan) -> Iterator[TakeOutcome]:
        side = mode_side(plan.mode)
        for step in plan.takes:
            planned = step.quantity_wh
            listing = self.market.listing(step.listing_id)
            reason = self._skip_reason(listing, side, step.price_fen_per_mwh, plan.mode)
            # Partly taken meanwhile: take what is left (the whole remainder is always
            # allowed, whatever the minimum take).
            note = (
                f"only {listing.remaining_wh:,} Wh left" if listing.remaining_wh < planned else ""
            )
            if reason is not None:
                yield TakeOutcome(
                    listing_id=step.listing_id,
                    planned_wh=step.quantity_wh,
                    outcome="skipped",
                    reason=reason,
                )
                continue
            amount = min(planned, listing.remaining_wh)
            try:
                result = self.take(step.listing_id, amount, step.price_fen_per_mwh)
            except ContractRevertError as exc:
                yield TakeOutcome(
                    listing_id=step.listing_id,
                    planned_wh=step.quantity_wh,
                    outcome="failed",
                    reason=exc.signature,
                )
                continue
            yield TakeOutcome(
                listing_id=step.listing_id,
                planned_wh=step.quantity_wh,
                outcome="taken",
                taken_wh=result.energy_wh,
                trade_id=result.trade_id,
                escrow_fen=result.escrow_fen,
                reason=note,
                tx_hash=result.tx_hash,
            )

    def _skip_reason(
        self, listing: Listing, side: ListingSide, planned_price: int, mode: Mode
    ) -> str | None:
        if listing.status != ListingStatus.OPEN:
            return f"listing is {listing.status.name.lower()}"
        if listing.side != side:
            return f"listing is a {listing.side.name.lower()} listing, not mode {mode}"
        if listing.expires_at <= self.now():
            return "listing expired"
        price = listing.price_fen_per_mwh
        if (price > planned_price) if mode == 1 else (price < planned_price):
            return f"price changed from {planned_price:,} to {price:,} fen/MWh"
        return None


def terms_hash_of(data: bytes) -> bytes:
    """keccak256 of a terms document (what a listing's ``termsHash`` anchors)."""
    return bytes(Web3.keccak(data))
