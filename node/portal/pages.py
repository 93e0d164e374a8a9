"""The market node's pages: status, posted offers (and the optimiser's plan), take, trades,
statements, ratings. Reads go through the same ``node`` APIs as the CLI; every write is a
:class:`~node.portal.sessions.PendingAction` confirmed on ``/confirm`` first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError as PydanticValidationError

from ledger.clients.registry import NodeKind, NodeStatus, Side, code_text
from ledger.clients.reputation import TradeScores
from ledger.clients.trading import Listing, ListingSide, Trade
from ledger.display import listing_status_name, period_phase, short_time, trade_status_name
from ledger.errors import GridLedgerError
from node.portal.actions import (
    PlanForm,
    RateForm,
    TakeForm,
    plan_action,
    rate_action,
    take_action,
)
from node.portal.app import Portal, error_line, parse
from node.portal.cache import KeptStatements
from node.portal.sessions import Session
from node.registry.participant import node_status
from node.reputation.api import ReputationDesk
from node.settlement.statements import Statement, statement_csv, statement_html
from node.trading.optimizer import Mode, Plan
from node.trading.trader import Trader, mode_side

#: Qualifications expiring within this many seconds get a warning.
EXPIRY_WARNING_S = 30 * 86_400


def _trader(portal: Portal, session: Session) -> Trader:
    assert session.account is not None  # Portal.session() refuses a wiped session
    return portal.reads.trader(session.account)


def _mode(trader: Trader) -> Mode:
    """A seller node takes buy listings (mode 2); every other node takes sell listings."""
    return 2 if trader.registry.node_info(trader.address).side == Side.SELLER else 1


def status_view(trader: Trader) -> dict[str, Any]:
    """Node state, role, region, bond held vs required, qualifications with warnings."""
    view = node_status(trader.registry, trader.token, trader.address)
    now = trader.now()
    info = view.info
    quals = []
    for q in view.qualifications:
        left = q.expires_at - now
        if q.pending:
            warn = "pending approval"
        elif not q.valid or left <= 0:
            warn = "EXPIRED" if left <= 0 else "not valid"
        else:
            warn = f"expires in {left // 86_400} days" if left < EXPIRY_WARNING_S else ""
        quals.append({"type": code_text(q.licence_type), "expires": q.expires_at, "warn": warn})
    warnings = [f"cannot trade: {view.trade_blocker}"] if view.trade_blocker else []
    if info.bond_fen < info.required_bond_fen:
        warnings.append("the bond held is below the required bond: top it up")
    warnings += [f"{q['type']}: {q['warn']}" for q in quals if q["warn"]]
    return {
        "address": trader.address,
        "state": NodeStatus(info.status).name.lower(),
        "role": (
            "not registered"
            if info.status == NodeStatus.NONE
            else f"{NodeKind(info.kind).name.lower()} ({Side(info.side).name.lower()})"
        ),
        "region": info.region,
        "bond_fen": info.bond_fen,
        "required_bond_fen": info.required_bond_fen,
        "balance_fen": view.token_balance_fen,
        "can_trade": view.can_trade,
        "qualifications": quals,
        "warnings": warnings,
        "block_reasons": view.block_reasons,
    }


def _listing_rows(listings: list[Listing], now: int) -> list[dict[str, Any]]:
    return [{"x": x, "status": listing_status_name(x, now)} for x in listings]


def _trade_rows(trades: list[Trade], me: str) -> list[dict[str, Any]]:
    return [
        {
            "t": t,
            "role": "buyer" if t.buyer == me else "seller",
            "other": t.seller if t.buyer == me else t.buyer,
            "status": trade_status_name(t.status),
        }
        for t in sorted(trades, key=lambda t: -t.id)
    ]


def takeable_listings(trader: Trader) -> tuple[Mode, list[Listing]]:
    """The node's mode and the open listings it could take (not its own)."""
    mode = _mode(trader)
    found = [x for x in trader.open_listings(side=mode_side(mode)) if x.maker != trader.address]
    return mode, found


def recommend_plan(trader: Trader, form: PlanForm) -> Plan:
    """The optimiser's plan for ``form`` (the CLI's ``node recommend``)."""
    return trader.recommend(
        form.target_wh, _mode(trader), period_id=form.period, allow_partial_fill=form.allow_partial
    )


def _offers(portal: Portal, request: Request, session: Session, **kw: Any) -> HTMLResponse:
    trader = _trader(portal, session)
    mode, found = takeable_listings(trader)
    now = trader.now()
    return portal.render(
        request, "offers.html", session, kw.pop("status", 200),
        listings=_listing_rows(found, now), mode=mode, now=now, **kw,
    )  # fmt: skip


async def _posted(portal: Portal, request: Request) -> tuple[Session, dict[str, str], Trader]:
    """A form posted in a live session (CSRF checked) and the session's trader."""
    session = portal.session(request)
    fields = await portal.form(request, session)
    return session, fields, _trader(portal, session)


def _market_routes(app: FastAPI, portal: Portal) -> None:
    @app.get("/", response_class=HTMLResponse)
    def status(request: Request) -> Response:
        session = portal.session(request)
        view = status_view(_trader(portal, session))
        return portal.render(request, "status.html", session, node=view)

    @app.get("/offers", response_class=HTMLResponse)
    def offers(request: Request) -> Response:
        return _offers(portal, request, portal.session(request))

    @app.post("/offers/recommend", response_class=HTMLResponse)
    async def recommend(request: Request) -> Response:
        session, fields, trader = await _posted(portal, request)
        try:
            form: PlanForm = parse(PlanForm, fields)
            plan = recommend_plan(trader, form)
            action_id = portal.sessions.park(session, plan_action(trader, plan))
        except (GridLedgerError, PydanticValidationError) as exc:
            return _offers(portal, request, session, status=422, plan_error=error_line(exc),
                           fields=fields)  # fmt: skip
        return _offers(portal, request, session, plan=plan, plan_action_id=action_id,
                       fields=fields)  # fmt: skip

    @app.post("/take", response_class=HTMLResponse)
    async def take(request: Request) -> Response:
        session, fields, trader = await _posted(portal, request)
        try:
            form: TakeForm = parse(TakeForm, fields)
            action = take_action(trader, form)
        except (GridLedgerError, PydanticValidationError) as exc:
            return _offers(portal, request, session, status=422, take_error=error_line(exc),
                           take_listing=fields.get("listing_id"))  # fmt: skip
        return portal.confirm_redirect(session, action)


def _history_routes(app: FastAPI, portal: Portal) -> None:
    @app.get("/trades", response_class=HTMLResponse)
    def trades(request: Request) -> Response:
        session = portal.session(request)
        trader = _trader(portal, session)
        rows = _trade_rows(trader.trades(), trader.address)
        return portal.render(request, "trades.html", session, trades=rows)

    @app.get("/statements", response_class=HTMLResponse)
    def statements(request: Request) -> Response:
        session = portal.session(request)
        trader = _trader(portal, session)
        now = trader.now()
        periods = [{"p": p, "phase": period_phase(p, now)} for p in trader.periods()]
        return portal.render(request, "statements.html", session, periods=periods)

    @app.get("/statements/{period}.{fmt}")
    def statement(request: Request, period: int, fmt: str) -> Response:
        session = portal.session(request)
        assert session.account is not None
        try:
            built = statement_of(portal, session.account, period)
        except GridLedgerError as exc:
            return portal.render(request, "result.html", session, 422, error=error_line(exc))
        name = f"statement-{session.wallet}-period-{period}"
        if fmt == "csv":
            return Response(statement_csv(built), media_type="text/csv", headers={
                "Content-Disposition": f'attachment; filename="{name}.csv"'})  # fmt: skip
        if fmt == "html":
            return HTMLResponse(statement_html(built, node_name=session.wallet))
        return portal.render(request, "result.html", session, 404, error=f"no format {fmt!r}")

    @app.get("/ratings", response_class=HTMLResponse)
    def ratings(request: Request) -> Response:
        session = portal.session(request)
        return _ratings(portal, request, session)

    @app.post("/rate", response_class=HTMLResponse)
    async def rate(request: Request) -> Response:
        session, fields, trader = await _posted(portal, request)
        try:
            form: RateForm = parse(RateForm, fields)
            action = rate_action(ReputationDesk(portal.ctx, trader.account), trader, form)
        except (GridLedgerError, PydanticValidationError) as exc:
            return _ratings(portal, request, session, status=422, error=error_line(exc))
        return portal.confirm_redirect(session, action)


def statement_of(portal: Portal, account: LocalAccount, period: int) -> Statement:
    """``account``'s statement of ``period`` (kept until the next block)."""
    key = ("statement", account.address, period)
    build = KeptStatements(portal.reads.trader(account)).build
    return portal.reads.kept(key, lambda: build(account.address, period))


def _ratings(portal: Portal, request: Request, session: Session, **kw: Any) -> HTMLResponse:
    """Reputation received, and each settled trade's scores given and received."""
    trader = _trader(portal, session)
    desk = ReputationDesk(portal.ctx, trader.account)
    scores = portal.reads.scores(desk.ledger)
    rows = portal.reads.kept(("settled", trader.address), lambda: settled_rows(scores, trader))
    return portal.render(request, "ratings.html", session, kw.pop("status", 200),
                         rep=desk.view(), trades=rows, **kw)  # fmt: skip


def settled_rows(
    trade_scores: Callable[[int], TradeScores], trader: Trader
) -> list[dict[str, Any]]:
    """The node's settled trades, each with the scores given and received (None: not yet)."""
    settled = [r for r in _trade_rows(trader.trades(), trader.address) if r["status"] == "settled"]
    for r in settled:
        scores = trade_scores(r["t"].id)
        mine, theirs = (
            (scores.buyer_score, scores.seller_score)
            if r["role"] == "buyer"
            else (scores.seller_score, scores.buyer_score)
        )
        r["given"], r["received"] = mine or None, theirs or None
    return settled


def register(app: FastAPI, portal: Portal) -> None:
    """Add the market node's pages to the portal app."""
    portal.templates.env.filters["when"] = short_time
    portal.templates.env.globals["ListingSide"] = ListingSide
    _market_routes(app, portal)
    _history_routes(app, portal)
