"""What the OPERATOR's pages sign, each a :class:`PendingAction` shown on ``/confirm``
first, through the same clients as ``gridledger operator open-next-period|open-settlement|
balancing-account|remainder-account|grid-account|closure-grace|fund-rate``
(``node/operator/cli.py``, ``node/settlement/defaults_cli.py``) and ``gridledger auction
open|clear`` (``node/auction/``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, Field, field_validator
from web3.types import TxReceipt

from ledger.addresses import checksum_address
from ledger.cli_support import parse_time, price_fen
from ledger.clients.auction import ClearingRule, Phase
from ledger.clients.base import ContractClient
from ledger.clients.defaults import DefaultFundClient, TradeCloserClient
from ledger.clients.oracle import DispatchResultsClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.trading import TradingMarketClient
from ledger.context import LedgerContext
from ledger.display import short_time
from ledger.errors import ValidationError
from ledger.units import mwh_to_wh, wh_to_mwh_trimmed
from node.auction.api import AuctionDesk
from node.operator.cli import _chain_now
from node.portal.actions import MAX_ID, PositiveMwh, energy_text, price_text
from node.portal.institutions import event_lines, form_value
from node.portal.sessions import Outcome, PendingAction

#: The time the next block will carry, read as ``operator open-next-period`` reads it.
chain_now = _chain_now


def when(ts: int) -> str:
    """``2026-12-05 10:00 UTC (1796464800)``: every time the confirmation page shows."""
    return f"{short_time(ts)} UTC ({ts})"


_time = form_value(parse_time)
_price = form_value(price_fen)


#: Bounds of the forms' spans and times (a larger number is a typo).
MAX_SPAN_S = 10 * 365 * 86_400
MAX_TIME = 2**40


class PeriodForm(BaseModel):
    """``operator open-next-period``: posting and taking open now."""

    delivery_in_s: int = Field(ge=1, le=MAX_SPAN_S)
    taking_closes_before_s: int = Field(default=3600, ge=0, le=MAX_SPAN_S)
    interval_s: int = Field(default=900, ge=1, le=86_400)
    intervals: int = Field(default=96, ge=1, le=65_535)
    align: bool = False


class SettlementForm(BaseModel):
    """``operator open-settlement PERIOD --in S``."""

    period: int = Field(ge=1, le=MAX_ID)
    in_s: int = Field(default=0, ge=0, le=MAX_SPAN_S)


class AuctionForm(BaseModel):
    """``auction open``: the order window, gate, minimum lot, rule, fee cap."""

    period: int = Field(ge=1, le=MAX_ID)
    first_interval: int = Field(default=0, ge=0, le=65_535)
    last_interval: int = Field(default=95, ge=0, le=65_535)
    opens: int | None = Field(default=None, ge=0, le=MAX_TIME)
    gate: int = Field(ge=0, le=MAX_TIME)
    min_lot_mwh: PositiveMwh
    rule: Literal["uniform", "pair-average"] = "uniform"
    fee_cap_fen_per_mwh: int | None = Field(default=None, validation_alias="fee_cap")
    """Typed in CNY/MWh (field ``fee_cap``); default: the sum of every region's stamp rate."""

    _times = field_validator("opens", "gate", mode="before")(_time)
    _fee_cap = field_validator("fee_cap_fen_per_mwh", mode="before")(_price)


class ClearForm(BaseModel):
    auction_id: int = Field(ge=1, le=MAX_ID)


Setting = Literal[
    "balancing-account", "remainder-account", "grid-account", "closure-grace", "fund-rate"
]


class SettingForm(BaseModel):
    """One settlement parameter the operator's CLI sets."""

    setting: Setting
    value: str = Field(min_length=1, max_length=64)
    region: int | None = Field(default=None, ge=0, le=31)


def period_action(ctx: LedgerContext, account: LocalAccount, form: PeriodForm) -> PendingAction:
    """Open a period relative to the chain's clock, the times fixed now (what is shown is
    signed)."""
    market = ctx.client(TradingMarketClient, account)
    now = chain_now(ctx)
    start = now + form.delivery_in_s
    if form.align:
        start = -(-start // form.interval_s) * form.interval_s
    closes = start - form.taking_closes_before_s
    if closes <= now:
        raise ValidationError(f"taking would close at {when(closes)}, not after now {when(now)}")
    lines = [
        ("delivery", f"{when(start)}, {form.intervals} x {form.interval_s} s"),
        ("posting and taking open", when(now)),
        ("taking closes", when(closes)),
    ]
    args = (start, now, now, closes, form.interval_s, form.intervals)

    def run() -> Outcome:
        receipt = market.open_period(*args[:4], interval_s=args[4], intervals=args[5])
        period = market.opened_period_id(receipt)
        return Outcome(f"Opened period {period}", event_lines(market, receipt, "PeriodOpened"))

    fn = f"TradingMarket.openPeriod({', '.join(map(str, args))})"
    return PendingAction("Open a delivery period", fn, lines, run, back="/operator")


def settlement_action(
    ctx: LedgerContext, account: LocalAccount, form: SettlementForm
) -> PendingAction:
    """Schedule when a period's settlement opens (``operator open-settlement``)."""
    results = ctx.client(DispatchResultsClient, account)
    period = ctx.client(TradingMarketClient, account).period(form.period)
    opens_at = chain_now(ctx) + max(form.in_s, 1)
    lines = [
        ("period", f"{period.id}, delivery {when(period.delivery_start)}"),
        ("settlement opens", when(opens_at)),
    ]

    def run() -> Outcome:
        receipt = results.set_settlement_opens_at(form.period, opens_at)
        return Outcome(
            f"Settlement of period {form.period} scheduled",
            event_lines(results, receipt, "SettlementScheduled"),
        )

    fn = f"DispatchResults.setSettlementOpensAt({form.period}, {opens_at})"
    return PendingAction(
        f"Schedule the settlement of period {form.period}", fn, lines, run, back="/operator"
    )


def auction_action(ctx: LedgerContext, account: LocalAccount, form: AuctionForm) -> PendingAction:
    """Open an auction (``auction open``); the fee cap defaults to the sum of stamp rates."""
    desk = AuctionDesk(ctx, account)
    opens = form.opens if form.opens is not None else chain_now(ctx)
    if form.last_interval < form.first_interval:
        raise ValidationError("the last interval is before the first")
    if form.gate <= opens:
        raise ValidationError(f"the gate {when(form.gate)} is not after the opening {when(opens)}")
    min_lot_wh = mwh_to_wh(form.min_lot_mwh)
    fee_cap = form.fee_cap_fen_per_mwh
    fee_cap = desk.default_fee_cap_fen_per_mwh() if fee_cap is None else fee_cap
    rule = ClearingRule.UNIFORM if form.rule == "uniform" else ClearingRule.PAIR_AVERAGE
    floor, cap = desk.auction.price_limits()
    lines = [
        ("period", f"{form.period}, intervals {form.first_interval}-{form.last_interval}"),
        ("order window opens", when(opens)),
        ("gate closes", when(form.gate)),
        ("minimum lot", energy_text(min_lot_wh)),
        ("clearing rule", form.rule),
        ("price limits (regulator's)", f"{price_text(floor)} to {price_text(cap)}"),
        ("fee cap", price_text(fee_cap)),
    ]
    args = (
        form.period,
        form.first_interval,
        form.last_interval,
        opens,
        form.gate,
        min_lot_wh,
        rule,
        fee_cap,
    )

    def run() -> Outcome:
        receipt = desk.auction.open_auction(*args)
        auction_id = desk.auction.opened_auction_id(receipt)
        return Outcome(
            f"Opened auction {auction_id}", event_lines(desk.auction, receipt, "AuctionOpened")
        )

    fn = f"CentralAuction.openAuction({', '.join(str(int(a)) for a in args)})"
    return PendingAction(
        f"Open an auction for period {form.period}", fn, lines, run, back="/operator/auctions"
    )


def clear_action(ctx: LedgerContext, account: LocalAccount, form: ClearForm) -> PendingAction:
    """Rank the book and crank the clearing to the end (``auction clear``)."""
    desk = AuctionDesk(ctx, account)
    a = desk.auction.auction(form.auction_id)
    if a.phase == Phase.CLEARED:
        raise ValidationError(f"auction {form.auction_id} is already cleared")
    now = chain_now(ctx)
    if now < a.gate_closes_at:
        raise ValidationError(
            f"auction {form.auction_id}'s gate closes at {when(a.gate_closes_at)}"
        )
    lines = [
        (
            "auction",
            f"{form.auction_id}: period {a.period_id}, intervals "
            f"{a.first_interval}-{a.last_interval}, {a.phase.name.lower()}",
        ),
        ("book", f"{a.live_bids} bid(s), {a.live_offers} offer(s)"),
        ("gate closed", when(a.gate_closes_at)),
    ]

    def run() -> Outcome:
        sent = desk.clear(form.auction_id)
        done = desk.auction.auction(form.auction_id)
        return Outcome(
            f"Auction {form.auction_id} cleared",
            [
                ("transactions", str(sent)),
                ("phase", done.phase.name.lower()),
                ("trades", str(done.trade_count)),
                ("traded", f"{wh_to_mwh_trimmed(done.traded_wh)} MWh ({done.traded_wh:,} Wh)"),
            ],
        )

    fn = f"CentralAuction.rank + clear({form.auction_id}, 40) until cleared"
    return PendingAction(
        f"Clear auction {form.auction_id}", fn, lines, run, back="/operator/auctions"
    )


def settings_view(ctx: LedgerContext, account: LocalAccount) -> dict[str, object]:
    """The settlement parameters the operator sets, as ``operator accounts`` and ``node
    fund`` show them."""
    from ledger.clients.tariff import TransmissionTariffClient

    engine = ctx.client(SettlementEngineClient, account)
    regions = ctx.client(TransmissionTariffClient, account).regions()
    return {
        "balancing": engine.balancing_account(),
        "remainder": engine.remainder_account(),
        "grid": [(r.id, engine.grid_account_of(r.id)) for r in regions],
        "closure_grace_s": ctx.client(TradeCloserClient, account).closure_grace_s(),
        "fund_bps": ctx.client(DefaultFundClient, account).contribution_bps(),
    }


@dataclass(frozen=True)
class _Change:
    """One parameter change: its current and new value, the call and the event it emits."""

    old: str
    new: str
    function: str
    client: ContractClient
    event: str
    send: Callable[[], TxReceipt]


#: The numeric parameters: (client, getter, setter, Solidity function, event, unit, most).
_NUMBERS: dict[str, tuple[type[ContractClient], str, str, str, str, str, int]] = {
    "closure-grace": (TradeCloserClient, "closure_grace_s", "set_closure_grace",
                      "TradeCloser.setClosureGrace", "ClosureGraceSet", "s", 2**64 - 1),
    "fund-rate": (DefaultFundClient, "contribution_bps", "set_contribution_bps",
                  "DefaultFund.setContributionBps", "ContributionRateSet", "bps", 10_000),
}  # fmt: skip


def _number_change(ctx: LedgerContext, account: LocalAccount, form: SettingForm) -> _Change:
    kind, get, put, function, event, unit, most = _NUMBERS[form.setting]
    if not form.value.strip().isdigit():
        raise ValidationError(f"value: {form.setting} is a whole number, not {form.value!r}")
    number = int(form.value)
    if number > most:
        raise ValidationError(f"value: {form.setting} is at most {most} {unit}")
    client = ctx.client(kind, account)
    return _Change(f"{getattr(client, get)()} {unit}", f"{number} {unit}", f"{function}({number})",
                   client, event, lambda: getattr(client, put)(number))  # fmt: skip


#: The settlement accounts: (getter, setter, Solidity setter, event).
_ACCOUNTS = {
    "balancing-account": (SettlementEngineClient.balancing_account,
                          SettlementEngineClient.set_balancing_account,
                          "setBalancingAccount", "BalancingAccountSet"),
    "remainder-account": (SettlementEngineClient.remainder_account,
                          SettlementEngineClient.set_remainder_account,
                          "setRemainderAccount", "RemainderAccountSet"),
}  # fmt: skip


def _account_change(ctx: LedgerContext, account: LocalAccount, form: SettingForm) -> _Change:
    engine = ctx.client(SettlementEngineClient, account)
    address = checksum_address(form.value.strip())
    if form.setting == "grid-account":
        region = form.region
        if region is None:
            raise ValidationError("region: give the region of the grid account")
        function = f"SettlementEngine.setGridAccount({region}, {address})"
        return _Change(
            engine.grid_account_of(region),
            address,
            function,
            engine,
            "GridAccountSet",
            lambda: engine.set_grid_account(region, address),
        )
    get, put, function, event = _ACCOUNTS[form.setting]
    return _Change(get(engine), address, f"SettlementEngine.{function}({address})", engine, event,
                   lambda: put(engine, address))  # fmt: skip


def setting_action(ctx: LedgerContext, account: LocalAccount, form: SettingForm) -> PendingAction:
    """Change one settlement parameter; the confirmation shows the current and new value."""
    numeric = form.setting in ("closure-grace", "fund-rate")
    change = (_number_change if numeric else _account_change)(ctx, account, form)
    label: str = form.setting
    if form.setting == "grid-account":
        label += f", region {form.region}"
    lines = [("setting", label), ("now", change.old), ("new", change.new)]

    def run() -> Outcome:
        return Outcome(
            f"{label} is {change.new}", event_lines(change.client, change.send(), change.event)
        )

    return PendingAction(f"Set {label}", change.function, lines, run, back="/operator/settlement")
