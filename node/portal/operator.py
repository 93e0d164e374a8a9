"""The OPERATOR's pages (``/operator``): delivery periods (open one, schedule a period's
settlement), auctions (open one with its window, gate and minimum lot; clear one after its
gate) and the settlement parameters (accounts, closure grace, fund contribution rate).
Every write is confirmed on ``/confirm`` first (:mod:`node.portal.operator_actions`); the
regulators' explorer is linked (``GRIDLEDGER_PORTAL_EXPLORER_URL``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ledger.clients.auction import CentralAuctionClient
from ledger.clients.oracle import DispatchResultsClient
from ledger.clients.trading import TradingMarketClient
from ledger.context import LedgerContext
from ledger.display import period_phase
from ledger.errors import GridLedgerError
from node.portal.app import Portal, error_line, parse
from node.portal.institutions import roles
from node.portal.operator_actions import (
    AuctionForm,
    ClearForm,
    PeriodForm,
    SettingForm,
    SettlementForm,
    auction_action,
    chain_now,
    clear_action,
    period_action,
    setting_action,
    settings_view,
    settlement_action,
)
from node.portal.sessions import PendingAction, Session

ROLE = "OPERATOR"
#: Most recent periods and auctions listed.
LIST_LIMIT = 50

Page = Callable[[Portal, LocalAccount], dict[str, Any]]


def _periods(portal: Portal, account: LocalAccount) -> dict[str, Any]:
    market = portal.ctx.client(TradingMarketClient, account)
    results = portal.ctx.client(DispatchResultsClient, account)
    now = chain_now(portal.ctx)
    count = market.period_count()
    rows = []
    for pid in range(count, max(0, count - LIST_LIMIT), -1):
        p = market.period(pid)
        rows.append(
            {"p": p, "phase": period_phase(p, now), "settlement": results.settlement_opens_at(pid)}
        )
    return {"periods": rows, "now": now}


def _auctions(portal: Portal, account: LocalAccount) -> dict[str, Any]:
    auction = portal.ctx.client(CentralAuctionClient, account)
    count = auction.auction_count()
    rows = [(i, auction.auction(i)) for i in range(count, max(0, count - LIST_LIMIT), -1)]
    floor, cap = auction.price_limits()
    return {"auctions": rows, "now": chain_now(portal.ctx), "floor": floor, "cap": cap}


def _settlement(portal: Portal, account: LocalAccount) -> dict[str, Any]:
    return {"settings": settings_view(portal.ctx, account)}


PAGES: dict[str, tuple[str, Page]] = {
    "/operator": ("operator.html", _periods),
    "/operator/auctions": ("operator_auctions.html", _auctions),
    "/operator/settlement": ("operator_settlement.html", _settlement),
}

Build = Callable[[LedgerContext, LocalAccount, Any], PendingAction]
#: POST path: (page a refusal stands on, form model, action builder).
ACTIONS: dict[str, tuple[str, type[BaseModel], Build]] = {
    "/operator/period": ("/operator", PeriodForm, period_action),
    "/operator/settle": ("/operator", SettlementForm, settlement_action),
    "/operator/auction": ("/operator/auctions", AuctionForm, auction_action),
    "/operator/clear": ("/operator/auctions", ClearForm, clear_action),
    "/operator/setting": ("/operator/settlement", SettingForm, setting_action),
}


def _render(portal: Portal, request: Request, session: Session, path: str, **kw: Any) -> Response:
    assert session.account is not None  # Portal.session() refuses a wiped session
    template, view = PAGES[path]
    return portal.render(
        request,
        template,
        session,
        kw.pop("status", 200),
        explorer=portal.ctx.settings.portal_explorer_url,
        **view(portal, session.account),
        **kw,
    )


def register(app: FastAPI, portal: Portal) -> None:
    """Add the operator's pages; the nav shows *Operator* to OPERATOR wallets only."""
    held = roles(app, portal)

    def page(path: str) -> None:
        def route(request: Request) -> Response:
            return _render(portal, request, held.require(request, ROLE), path)

        app.add_api_route(path, route, methods=["GET"], response_class=HTMLResponse)

    def action(path: str, back: str, model: type[BaseModel], build: Build) -> None:
        async def route(request: Request) -> Response:
            session = held.require(request, ROLE)
            fields = await portal.form(request, session)
            assert session.account is not None  # Portal.session() refuses a wiped session
            try:
                action = build(portal.ctx, session.account, parse(model, fields))
            except (GridLedgerError, PydanticValidationError) as exc:
                return _render(portal, request, session, back, status=422,
                               error=error_line(exc), fields=fields)  # fmt: skip
            return portal.confirm_redirect(session, action)

        app.add_api_route(path, route, methods=["POST"], response_class=HTMLResponse)

    for path in PAGES:
        page(path)
    for path, (back, model, build) in ACTIONS.items():
        action(path, back, model, build)
