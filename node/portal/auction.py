"""The market node's auction pages (``/auctions``): the open auctions of the centralised
auction (集中竞价, docs/auction.md), the node's own orders with their status, place / amend /
cancel through the confirmation page, and each cleared auction's result with the node's
fills and a CSV download, as ``gridledger auction order|amend|cancel|book|result`` do
(``node/auction/``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from ledger.clients.auction import Auction, Order, OrderSide, OrderStatus, Phase
from ledger.clients.registry import NodeRegistryClient, Side
from ledger.clients.trading import TradingMarketClient
from ledger.display import short_time
from ledger.errors import GridLedgerError, ValidationError
from ledger.units import cny_to_fen, exposure_fen, mwh_to_wh, value_fen
from node.auction.api import AuctionDesk, AuctionResult, fills_csv
from node.portal import contracts
from node.portal.actions import MAX_ID, PositiveMwh, cny_fen, energy_text, price_text
from node.portal.app import Portal, error_line, parse
from node.portal.sessions import Outcome, PendingAction, Session

BACK = "/auctions"


def _positive(convert: Callable[[str], int], what: str) -> AfterValidator:
    """A text field ``convert`` turns into a positive integer (checked, the text kept):
    a price in CNY/MWh here; energies are :data:`node.portal.actions.PositiveMwh`."""

    def check(value: str) -> str:
        try:
            if convert(value) > 0:
                return value
        except GridLedgerError as exc:
            raise ValueError(str(exc)) from exc
        raise ValueError(f"{what} must be positive")

    return AfterValidator(check)


Text = StringConstraints(min_length=1, max_length=32)


class _Lot(BaseModel):
    """An order's quantity in MWh (down to 1 Wh) and limit price in CNY/MWh (down to 1
    fen/MWh), as ``gridledger auction order|amend --energy-mwh --price`` take them."""

    energy_mwh: PositiveMwh
    price: Annotated[str, Text, _positive(cny_to_fen, "the price")]

    @property
    def energy_wh(self) -> int:
        return mwh_to_wh(self.energy_mwh)

    @property
    def price_fen_per_mwh(self) -> int:
        return cny_to_fen(self.price)


class OrderForm(_Lot):
    """Place an order in an auction; the side is the node's (a buyer bids, a seller offers)."""

    auction_id: int = Field(ge=1, le=MAX_ID)


class AmendForm(_Lot):
    """Amend an own live order."""

    order_id: int = Field(ge=1, le=MAX_ID)


class CancelForm(BaseModel):
    order_id: int = Field(ge=1, le=MAX_ID)


def _side(desk: AuctionDesk) -> OrderSide:
    registry = desk.ctx.client(NodeRegistryClient, desk.account)
    seller = registry.node_info(desk.account.address).side == Side.SELLER
    return OrderSide.OFFER if seller else OrderSide.BID


def _now(desk: AuctionDesk) -> int:
    return int(desk.ctx.w3.eth.get_block("latest")["timestamp"])


def held_fen(desk: AuctionDesk, a: Auction, side: OrderSide, energy_wh: int, price: int) -> int:
    """What an order holds, as the contract computes it: a bid's escrow (energy at the limit
    plus the fee at the auction's fee cap), an offer's bond reservation (exposure of the
    energy at the price cap)."""
    if side == OrderSide.BID:
        return value_fen(energy_wh, price) + value_fen(energy_wh, a.fee_cap_fen_per_mwh)
    bps = desk.ctx.client(TradingMarketClient, desk.account).exposure_bps()
    return exposure_fen(value_fen(energy_wh, a.cap_fen_per_mwh), bps)


def _check_order(
    desk: AuctionDesk, auction_id: int, a: Auction, energy_wh: int, price: int
) -> None:
    """The auction's own rules, refused before anything is signed (one line each)."""
    now = _now(desk)
    if a.phase != Phase.OPEN or not a.opens_at <= now < a.gate_closes_at:
        raise ValidationError(
            f"auction {auction_id} takes orders from {short_time(a.opens_at)} to "
            f"{short_time(a.gate_closes_at)} UTC (gate closure); it is now {short_time(now)} UTC"
        )
    if energy_wh < a.min_lot_wh:
        raise ValidationError(
            f"{energy_text(energy_wh)} is below auction {auction_id}'s minimum lot of "
            f"{energy_text(a.min_lot_wh)}"
        )
    if not a.floor_fen_per_mwh <= price <= a.cap_fen_per_mwh:
        raise ValidationError(
            f"the limit price {price_text(price)} is outside auction {auction_id}'s limits "
            f"{price_text(a.floor_fen_per_mwh)} to {price_text(a.cap_fen_per_mwh)}"
        )


def _escrow_warnings(desk: AuctionDesk, amount_fen: int) -> list[str]:
    """Refuse an escrow the balance cannot cover; announce the approve signed first."""
    me = desk.account.address
    balance = desk.token.balance_of(me)
    if balance < amount_fen:
        raise ValidationError(
            f"insufficient balance: the escrow is {cny_fen(amount_fen)}, "
            f"your balance is {cny_fen(balance)}"
        )
    allowance = desk.token.allowance(me, desk.auction.address)
    if allowance >= amount_fen:
        return []
    return [
        "also signs SettlementToken.approve(CentralAuction, escrow) first: the allowance is "
        f"{cny_fen(allowance)}"
    ]


def _approve(desk: AuctionDesk, amount_fen: int) -> list[tuple[str, str]]:
    if desk.token.allowance(desk.account.address, desk.auction.address) >= amount_fen:
        return []
    receipt = desk.token.approve(desk.auction.address, amount_fen)
    return [("approve tx", receipt["transactionHash"].to_0x_hex())]


def _auction_lines(auction_id: int, a: Auction) -> list[tuple[str, str]]:
    return [
        ("auction", f"{auction_id} ({a.rule.name.lower().replace('_', ' ')} price)"),
        ("period", f"{a.period_id}, intervals {a.first_interval}-{a.last_interval}"),
        ("gate closes", f"{short_time(a.gate_closes_at)} UTC"),
        ("minimum lot", energy_text(a.min_lot_wh)),
    ]


def _held_line(side: OrderSide) -> str:
    return "escrow (worst case)" if side == OrderSide.BID else "bond reservation"


def _event_lines(desk: AuctionDesk, receipt: Any, event: str) -> list[tuple[str, str]]:
    (ev,) = desk.auction.events(receipt, event)
    args = dict(ev["args"])
    fields = ", ".join(f"{k}={v}" for k, v in args.items() if k not in ("node", "auctionId"))
    return [
        ("event", f"{event}({fields})"),
        ("tx hash", receipt["transactionHash"].to_0x_hex()),
    ]


def order_action(desk: AuctionDesk, form: OrderForm) -> PendingAction:
    """A bid (escrow approved first when short) or an offer (bond reserved)."""
    a = desk.auction.auction(form.auction_id)
    side = _side(desk)
    energy, price = form.energy_wh, form.price_fen_per_mwh
    _check_order(desk, form.auction_id, a, energy, price)
    held = held_fen(desk, a, side, energy, price)
    bid = side == OrderSide.BID
    warnings = _escrow_warnings(desk, held) if bid else []
    lines = [
        *_auction_lines(form.auction_id, a),
        ("side", "bid (you buy)" if bid else "offer (you sell)"),
        ("energy (lot)", energy_text(energy)),
        ("limit price", price_text(price)),
        ("energy at the limit", cny_fen(value_fen(energy, price))),
    ]
    if bid:
        fee = value_fen(energy, a.fee_cap_fen_per_mwh)
        lines.append(
            ("fee bound", f"{cny_fen(fee)} (at the fee cap, {price_text(a.fee_cap_fen_per_mwh)})")
        )
    lines.append((_held_line(side), cny_fen(held)))

    def run() -> Outcome:
        out = _approve(desk, held) if bid else []
        receipt = desk.auction.place_order(form.auction_id, side, energy, price)
        order_id = desk.auction.placed_order_id(receipt)
        out += _event_lines(desk, receipt, "OrderPlaced")
        out.append((_held_line(side), cny_fen(desk.auction.order(order_id).held_fen)))
        return Outcome(f"Order {order_id} placed in auction {form.auction_id}", out)

    fn = (
        f"CentralAuction.placeOrder({form.auction_id}, {side.name.capitalize()}, {energy}, {price})"
    )
    kind = "bid" if bid else "offer"
    return PendingAction(
        f"Place a {kind} in auction {form.auction_id}", fn, lines, run, warnings, BACK
    )


def _own_order(desk: AuctionDesk, order_id: int) -> Order:
    if not 0 < order_id <= desk.auction.order_count():
        raise ValidationError(f"no order {order_id}")
    o = desk.auction.order(order_id)
    if o.node != desk.account.address:
        raise ValidationError(f"order {order_id} is not yours")
    if o.status != OrderStatus.LIVE:
        raise ValidationError(f"order {order_id} is {o.status.name.lower()}")
    return o


def amend_action(desk: AuctionDesk, form: AmendForm) -> PendingAction:
    """A new quantity and limit (a new price or more energy loses the order's place)."""
    o = _own_order(desk, form.order_id)
    a = desk.auction.auction(o.auction_id)
    energy, price = form.energy_wh, form.price_fen_per_mwh
    _check_order(desk, o.auction_id, a, energy, price)
    held = held_fen(desk, a, o.side, energy, price)
    bid = o.side == OrderSide.BID
    extra = max(0, held - o.held_fen)
    warnings = _escrow_warnings(desk, extra) if bid and extra else []
    loses = price != o.price_fen_per_mwh or energy > o.energy_wh
    lines = [
        *_auction_lines(o.auction_id, a),
        ("order", f"{form.order_id} ({o.side.name.lower()})"),
        ("energy", f"{energy_text(o.energy_wh)} → {energy_text(energy)}"),
        ("limit price", f"{price_text(o.price_fen_per_mwh)} → {price_text(price)}"),
        (_held_line(o.side), f"{cny_fen(o.held_fen)} → {cny_fen(held)}"),
        ("time priority", "lost (new sequence number)" if loses else "kept"),
    ]

    def run() -> Outcome:
        out = _approve(desk, extra) if bid and extra else []
        receipt = desk.auction.amend_order(form.order_id, energy, price)
        return Outcome(
            f"Order {form.order_id} amended", out + _event_lines(desk, receipt, "OrderAmended")
        )

    fn = f"CentralAuction.amendOrder({form.order_id}, {energy}, {price})"
    return PendingAction(f"Amend order {form.order_id}", fn, lines, run, warnings, BACK)


def cancel_action(desk: AuctionDesk, form: CancelForm) -> PendingAction:
    """Cancel an own order before the gate: a bid's escrow is refunded, an offer's bond
    reservation released."""
    o = _own_order(desk, form.order_id)
    a = desk.auction.auction(o.auction_id)
    refund = "refunded" if o.side == OrderSide.BID else "released"
    lines = [
        *_auction_lines(o.auction_id, a),
        ("order", f"{form.order_id} ({o.side.name.lower()})"),
        ("energy", energy_text(o.energy_wh)),
        ("limit price", price_text(o.price_fen_per_mwh)),
        (refund, cny_fen(o.held_fen)),
    ]

    def run() -> Outcome:
        receipt = desk.cancel(form.order_id)
        return Outcome(
            f"Order {form.order_id} cancelled", _event_lines(desk, receipt, "OrderCancelled")
        )

    fn = f"CentralAuction.cancelOrder({form.order_id})"
    return PendingAction(f"Cancel order {form.order_id}", fn, lines, run, back=BACK)


# ---------------------------------------------------------------------------- pages


def _desk(portal: Portal, session: Session) -> AuctionDesk:
    assert session.account is not None  # Portal.session() refuses a wiped session
    return AuctionDesk(portal.ctx, session.account)


def _own_orders(desk: AuctionDesk, auction_id: int) -> list[dict[str, Any]]:
    me = desk.account.address
    rows = []
    for order_id in desk.auction.order_ids(auction_id):
        o = desk.auction.order(order_id)
        if o.node == me:
            rows.append({"id": order_id, "o": o, "status": o.status.name.lower()})
    return rows


def auctions_view(desk: AuctionDesk) -> dict[str, Any]:
    """Open auctions (order window), the node's orders, cleared auctions with its fills."""
    now = _now(desk)
    me = desk.account.address
    open_, closed, orders = [], [], []
    for auction_id in range(desk.auction.auction_count(), 0, -1):
        a = desk.auction.auction(auction_id)
        row: dict[str, Any] = {"id": auction_id, "a": a, "phase": a.phase.name.lower()}
        mine = _own_orders(desk, auction_id)
        orders += [r | {"auction_id": auction_id, "a": a} for r in mine]
        if a.phase == Phase.OPEN and now < a.gate_closes_at:
            row["taking"] = a.opens_at <= now
            open_.append(row)
        elif a.phase == Phase.CLEARED:
            fills = desk.result(auction_id).fills
            row["fills"] = [f for f in fills if me in (f.buyer, f.seller)]
            closed.append(row)
        else:
            open_.append(row | {"taking": False})
    return {"open": open_, "orders": orders, "cleared": closed, "now": now, "side": _side(desk)}


def _page(portal: Portal, request: Request, session: Session, **kw: Any) -> Response:
    view = auctions_view(_desk(portal, session))
    return portal.render(request, "auctions.html", session, kw.pop("status", 200), **view, **kw)


def _action_route(
    app: FastAPI,
    portal: Portal,
    path: str,
    build: Callable[[AuctionDesk, dict[str, str]], PendingAction],
) -> None:
    """POST ``path``: the action goes to ``/confirm``; a refusal stands on ``/auctions``."""

    async def route(request: Request) -> Response:
        session = portal.session(request)
        fields = await portal.form(request, session)
        try:
            action = build(_desk(portal, session), fields)
        except (GridLedgerError, PydanticValidationError) as exc:
            return _page(portal, request, session, status=422, error=error_line(exc))
        return portal.confirm_redirect(session, action)

    app.add_api_route(path, route, methods=["POST"], response_class=HTMLResponse)


def _result(desk: AuctionDesk, auction_id: int) -> AuctionResult:
    if not 0 < auction_id <= desk.auction.auction_count():
        raise ValidationError(f"no auction {auction_id}")
    return desk.result(auction_id)


def register(app: FastAPI, portal: Portal) -> None:
    """Add the auction pages, and the contracts pages (:mod:`node.portal.contracts`), to the
    portal app."""
    contracts.register(app, portal)

    @app.get("/auctions", response_class=HTMLResponse)
    def auctions(request: Request) -> Response:
        return _page(portal, request, portal.session(request))

    @app.get("/auctions/{auction_id}", response_class=HTMLResponse)
    def auction(request: Request, auction_id: int) -> Response:
        session = portal.session(request)
        desk = _desk(portal, session)
        try:
            r = _result(desk, auction_id)
        except GridLedgerError as exc:
            return portal.render(request, "result.html", session, 404, error=error_line(exc))
        me = desk.account.address
        return portal.render(
            request,
            "auction_result.html",
            session,
            r=r,
            me=me,
            orders=_own_orders(desk, auction_id),
        )

    @app.get("/auctions/{auction_id}/fills.csv")
    def fills(request: Request, auction_id: int) -> Response:
        session = portal.session(request)
        try:
            r = _result(_desk(portal, session), auction_id)
        except GridLedgerError as exc:
            return portal.render(request, "result.html", session, 404, error=error_line(exc))
        disposition = f'attachment; filename="auction-{auction_id}-fills.csv"'
        return Response(
            fills_csv(r.fills), media_type="text/csv", headers={"Content-Disposition": disposition}
        )

    _action_route(app, portal, "/auctions/order", lambda d, f: order_action(d, parse(OrderForm, f)))
    _action_route(app, portal, "/auctions/amend", lambda d, f: amend_action(d, parse(AmendForm, f)))
    _action_route(
        app, portal, "/auctions/cancel", lambda d, f: cancel_action(d, parse(CancelForm, f))
    )
