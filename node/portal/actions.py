"""What the portal signs: each action is built as a :class:`PendingAction` whose lines are
shown on the confirmation page and whose ``run`` signs exactly that, through the same
``node`` APIs the CLI uses (:class:`~node.trading.trader.Trader`,
:class:`~node.reputation.api.ReputationDesk`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from ledger.clients.trading import Listing, ListingSide
from ledger.display import short_time
from ledger.errors import GridLedgerError, ValidationError
from ledger.units import fen_to_cny, mwh_to_wh, rate_to_cny_per_mwh_text, wh_to_mwh_trimmed
from node.portal.sessions import Outcome, PendingAction
from node.reputation.api import ReputationDesk
from node.trading.optimizer import Plan
from node.trading.trader import Trader


def _positive_mwh(value: str) -> str:
    """An energy in MWh (down to 1 Wh) that is more than zero."""
    try:
        wh = mwh_to_wh(value)
    except GridLedgerError as exc:
        raise ValueError(str(exc)) from exc
    if wh <= 0:
        raise ValueError("the energy must be positive")
    return value


#: The largest id a form takes (the chain's ids fit in uint64; more is a typo).
MAX_ID = 2**63 - 1

#: An energy typed in MWh, e.g. ``1.5`` (converted with :func:`ledger.units.mwh_to_wh`).
PositiveMwh = Annotated[
    str, StringConstraints(min_length=1, max_length=32), AfterValidator(_positive_mwh)
]


class TakeForm(BaseModel):
    """Take part of one listing (the CLI's ``node take LISTING_ID --energy-mwh``)."""

    listing_id: int = Field(ge=1)
    energy_mwh: PositiveMwh

    @property
    def energy_wh(self) -> int:
        return mwh_to_wh(self.energy_mwh)


class PlanForm(BaseModel):
    """The optimiser's recommendation (the CLI's ``node recommend``)."""

    target_mwh: PositiveMwh
    period: int | None = Field(default=None, ge=1)
    allow_partial: bool = False

    @property
    def target_wh(self) -> int:
        return mwh_to_wh(self.target_mwh)


class RateForm(BaseModel):
    """Rate the other party of a settled trade (the CLI's ``node rate``)."""

    trade_id: int = Field(ge=1)
    score: int = Field(ge=1, le=5)


def cny_fen(fen: int) -> str:
    """``1,234.56 CNY (123,456 fen)``: every amount the confirmation page shows."""
    return f"{fen_to_cny(fen)} CNY ({fen:,} fen)"


def energy_text(wh: int) -> str:
    return f"{wh_to_mwh_trimmed(wh)} MWh ({wh:,} Wh)"


def price_text(fen_per_mwh: int) -> str:
    return f"{fen_to_cny(fen_per_mwh)} CNY/MWh ({fen_per_mwh:,} fen/MWh)"


def _period_text(listing: Listing) -> str:
    return f"{listing.period_id}, intervals {listing.first_interval}-{listing.last_interval}"


def _check_amount(listing: Listing, energy_wh: int) -> None:
    """More than is left, or less than the smallest take (unless all that is left)."""
    if energy_wh > listing.remaining_wh:
        raise ValidationError(
            f"listing {listing.id} has only {energy_text(listing.remaining_wh)} left"
        )
    if energy_wh < listing.min_take_wh and energy_wh != listing.remaining_wh:
        raise ValidationError(
            f"the smallest take of listing {listing.id} is {energy_text(listing.min_take_wh)}"
        )


def take_action(trader: Trader, form: TakeForm) -> PendingAction:
    """A take of ``form``, priced now (route, fee, prepayment); refused early when the
    listing can no longer be taken or the balance cannot cover the prepayment."""
    listing = trader.market.listing(form.listing_id)
    if listing.maker == trader.address:
        raise ValidationError(f"listing {listing.id} is your own listing")
    quote = trader.quote(form.listing_id, form.energy_wh)  # refuses expired/filled listings
    _check_amount(listing, form.energy_wh)
    mine = trader.region()
    buying = listing.side == ListingSide.SELL
    warnings = _balance_check(trader, quote.escrow_fen) if buying else []
    seller_region, buyer_region = (listing.region, mine) if buying else (mine, listing.region)
    lines = [
        ("listing", f"{listing.id} ({'you buy' if buying else 'you sell'})"),
        ("counterparty", listing.maker),
        ("period", _period_text(listing)),
        ("energy", energy_text(quote.energy_wh)),
        ("price (limit)", price_text(quote.price_fen_per_mwh)),
        ("energy value", cny_fen(quote.energy_fen)),
        ("route (regions)", f"{seller_region} → {buyer_region}: {'>'.join(map(str, quote.route))}"),
        ("transmission rate", f"{rate_to_cny_per_mwh_text(quote.sum_rate_fen_per_mwh)} CNY/MWh"),
        ("fee", cny_fen(quote.fee_fen)),
        ("prepayment (escrow)", cny_fen(quote.escrow_fen)),
        ("seller exposure", cny_fen(quote.exposure_fen)),
        ("listing expires", f"{short_time(listing.expires_at)} UTC"),
    ]

    def run() -> Outcome:
        result = trader.take(form.listing_id, form.energy_wh, quote.price_fen_per_mwh)
        return Outcome(
            f"Trade {result.trade_id} created",
            [
                ("event", f"TradeCreated(trade {result.trade_id}, listing {result.listing_id})"),
                ("tx hash", result.tx_hash),
                ("gas used", f"{result.gas_used:,}"),
                ("energy", energy_text(result.energy_wh)),
                ("route", ">".join(map(str, result.route))),
                ("fee", cny_fen(result.fee_fen)),
                ("prepaid", cny_fen(result.escrow_fen)),
            ],
        )

    fn = f"TradingMarket.take({listing.id}, {quote.energy_wh}, {quote.price_fen_per_mwh})"
    return PendingAction(f"Take listing {listing.id}", fn, lines, run, warnings)


def _balance_check(trader: Trader, escrow_fen: int) -> list[str]:
    """Refuse a prepayment the balance cannot cover; warn of the approve signed first."""
    balance = trader.token.balance_of(trader.address)
    if balance < escrow_fen:
        raise ValidationError(
            f"insufficient balance: the prepayment is {cny_fen(escrow_fen)}, "
            f"your balance is {cny_fen(balance)}"
        )
    allowance = trader.token.allowance(trader.address, trader.market.address)
    if allowance >= escrow_fen:
        return []
    return [
        f"also signs SettlementToken.approve(market, prepayment) first: the allowance is "
        f"{cny_fen(allowance)}"
    ]


def plan_action(trader: Trader, plan: Plan) -> PendingAction:
    """Every take of the optimiser's ``plan`` (``execute_plan``: the CLI's ``take --plan``),
    each priced now (period, route, fee, prepayment)."""
    if not plan.takes:
        raise ValidationError(f"the optimiser found nothing to take: {plan.summary}")
    lines = [("plan", plan.summary)]
    mine = trader.region()
    escrow = 0
    for t in plan.takes:
        listing = trader.market.listing(t.listing_id)
        quote = trader.market.quote(t.listing_id, mine, t.quantity_wh)
        escrow += quote.escrow_fen
        lines.append(
            (
                f"listing {t.listing_id}",
                f"{energy_text(t.quantity_wh)} at {price_text(t.price_fen_per_mwh)} from "
                f"{t.counterparty}; period {_period_text(listing)}; route "
                f"{'>'.join(map(str, quote.route))}; energy {cny_fen(quote.energy_fen)}, "
                f"fee {cny_fen(quote.fee_fen)}, prepayment {cny_fen(quote.escrow_fen)}",
            )
        )
    lines += [
        ("total energy", energy_text(sum(t.quantity_wh for t in plan.takes))),
        ("total energy value", cny_fen(sum(t.energy_fen for t in plan.takes))),
        ("total fee", cny_fen(sum(t.transmission_fee_fen for t in plan.takes))),
        ("total prepayment", cny_fen(escrow) if plan.mode == 1 else "paid by the buyers"),
    ]
    warnings = _balance_check(trader, escrow) if plan.mode == 1 else []

    def run() -> Outcome:
        report = trader.execute_plan(plan)
        out: list[tuple[str, str]] = []
        for o in report.outcomes:
            if o.outcome == "taken":
                text = f"trade {o.trade_id}: {energy_text(o.taken_wh)}, prepaid "
                text += cny_fen(o.escrow_fen or 0) + (f" ({o.reason})" if o.reason else "")
                text += f"; event TradeCreated, tx {o.tx_hash}"
            else:
                text = f"{o.outcome}: {o.reason}"
            out.append((f"listing {o.listing_id}", text))
        out += [("taken", energy_text(report.taken_wh)), ("prepaid", cny_fen(report.escrow_fen))]
        return Outcome(f"Plan executed: {len(report.outcomes) - len(report.skipped)} take(s)", out)

    fn = f"TradingMarket.take × {len(plan.takes)} (limit = each planned price)"
    return PendingAction("Take the recommended plan", fn, lines, run, warnings)


def rate_action(desk: ReputationDesk, trader: Trader, form: RateForm) -> PendingAction:
    """A rating of the other party of settled trade ``form.trade_id``."""
    trade = trader.market.trade(form.trade_id)
    if trader.address not in (trade.buyer, trade.seller):
        raise ValidationError(f"trade {trade.id} is not yours")
    other = trade.seller if trade.buyer == trader.address else trade.buyer
    lines = [
        ("trade", f"{trade.id} (period {trade.period_id})"),
        ("counterparty", other),
        ("score", f"{form.score} of 5"),
    ]

    def run() -> Outcome:
        receipt = desk.rate(form.trade_id, form.score)
        (event,) = desk.ledger.events(receipt, "RatingSubmitted")
        args = event["args"]
        return Outcome(
            f"Rated trade {form.trade_id}",
            [
                ("event", f"RatingSubmitted(trade {args['tradeId']}, score {args['score']})"),
                ("ratee", str(args["ratee"])),
                ("tx hash", receipt["transactionHash"].to_0x_hex()),
            ],
        )

    fn = f"ReputationLedger.rate({trade.id}, {form.score}, 0x00…)"
    return PendingAction(f"Rate trade {trade.id}", fn, lines, run)
