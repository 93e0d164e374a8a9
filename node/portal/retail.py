"""The retail pages (``/retail``): a consumer's binding and bills (paid from an uploaded
issue file), a retailer's packages (publish from a package file, withdraw), its customers
and its month's report. Every write goes through ``/confirm`` (:mod:`node.portal.retail_actions`).

The chain holds only a batch's Merkle root, so a bill's hash, total and proof come from the
issue file the retailer handed over (``gridledger retail issue-bills --out``): the consumer
pastes it once and the portal keeps it (in memory) to show and pay that month's bill."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError as PydanticValidationError

from ledger.clients.registry import NodeKind, NodeRegistryClient, NodeStatus
from ledger.clients.retail import RetailBillsClient, RetailPackagesClient
from ledger.errors import GridLedgerError, ValidationError
from ledger.retail import render
from ledger.retail.bill import Bill
from ledger.retail.canonical import load_model
from ledger.retail.months import check_month
from ledger.retail.packages import RetailPackage
from node.portal.app import Portal, error_line, parse
from node.portal.retail_actions import (
    PayForm,
    WithdrawForm,
    pay_action,
    publish_action,
    withdraw_action,
)
from node.portal.sessions import PendingAction, Session
from node.retail.issue import IssuedBatch, check_anchored
from node.retail.report import MODES, report_csv, retailer_report

#: Bill downloads besides HTML: media type and renderer (``ledger/retail/render.py``).
BILL_FORMATS: dict[str, tuple[str, Callable[[Bill], str | bytes]]] = {
    "csv": ("text/csv", render.to_csv),
    "pdf": ("application/pdf", render.to_pdf),
}
RETAIL_KINDS = {NodeKind.CONSUMER: "consumer", NodeKind.RETAILER: "retailer"}


class RetailState:
    """Per portal: each session's node kind (for the nav), the issue files pasted."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.kinds: dict[str, str | None] = {}
        self.issues: dict[int, IssuedBatch] = {}

    def kind(self, session: Session | None) -> str | None:
        """``consumer``/``retailer`` for a registered node of that kind, else None."""
        if session is None or session.account is None:
            return None
        if session.id not in self.kinds:
            registry = self.portal.ctx.client(NodeRegistryClient, session.account)
            info = registry.node_info(session.account.address)
            kind = NodeKind(info.kind) if info.status != NodeStatus.NONE else None
            self.kinds[session.id] = RETAIL_KINDS.get(kind) if kind is not None else None
        return self.kinds[session.id]


def _bill_rows(state: RetailState, session: Session) -> list[dict[str, Any]]:
    """The consumer's bills: each batch its retailers anchored, with its own bill's status
    where the issue file is known."""
    assert session.account is not None
    ctx, me = state.portal.ctx, str(session.account.address)
    packages = ctx.client(RetailPackagesClient, session.account)
    bills = ctx.client(RetailBillsClient, session.account)
    retailers = {b.retailer for b in packages.history(me)}
    rows = []
    for batch in sorted(bills.batches(), key=lambda b: (-b.month, -b.id)):
        if batch.retailer not in retailers:
            continue
        row: dict[str, Any] = {"batch": batch, "status": "issue file needed"}
        issued = state.issues.get(batch.id)
        if issued is not None:
            bill = issued.bill_of(me)
            status = check_anchored(bills, issued, issued.ref(bill))
            row.update(bill=bill, st=status, status=_status_text(status))
        rows.append(row)
    return rows


def _status_text(status: Any) -> str:
    if status.unpaid_fen == 0:
        return "paid"
    text = "partly paid" if status.paid_fen else "unpaid"
    return text + (", OVERDUE" if status.overdue else "")


def _consumer(state: RetailState, request: Request, session: Session, **kw: Any) -> Response:
    assert session.account is not None
    packages = state.portal.ctx.client(RetailPackagesClient, session.account)
    me = str(session.account.address)
    binding_id = packages.current_binding_id(me)
    binding = packages.binding_of(binding_id) if binding_id else None
    package = packages.package_of(binding.package_id) if binding else None
    in_force = packages.in_force(binding_id) if binding_id else False
    try:
        rows = _bill_rows(state, session)
    except GridLedgerError as exc:
        rows, kw["issue_error"] = [], error_line(exc)
    return state.portal.render(
        request, "retail_consumer.html", session, kw.pop("status", 200),
        binding=binding, package=package, in_force=in_force, bills=rows, **kw,
    )  # fmt: skip


def _retailer(state: RetailState, request: Request, session: Session, **kw: Any) -> Response:
    assert session.account is not None
    packages = state.portal.ctx.client(RetailPackagesClient, session.account)
    me = str(session.account.address)
    mine = [p for p in packages.packages() if p.retailer == me]
    month = kw.pop("month", None)
    report = None
    if month is not None:
        try:
            report = retailer_report(state.portal.ctx, session.account, me, check_month(month))
        except GridLedgerError as exc:
            kw["report_error"] = error_line(exc)
    return state.portal.render(
        request, "retail_retailer.html", session, kw.pop("status", 200),
        packages=mine, customers=packages.customers_of(me), report=report, month=month,
        modes=MODES, **kw,
    )  # fmt: skip


def _page(state: RetailState, request: Request, session: Session, **kw: Any) -> Response:
    kind = state.kind(session)
    if kind == "consumer":
        return _consumer(state, request, session, **kw)
    if kind == "retailer":
        return _retailer(state, request, session, **kw)
    return state.portal.render(
        request, "result.html", session, 404, error="retail pages are for consumers and retailers"
    )


async def _posted(portal: Portal, request: Request) -> tuple[Session, dict[str, str], LocalAccount]:
    """A form posted in a live session (CSRF checked) and the session's unlocked account."""
    session = portal.session(request)
    fields = await portal.form(request, session)
    assert session.account is not None  # Portal.session() refuses a wiped session
    return session, fields, session.account


def _action_route(
    app: FastAPI,
    state: RetailState,
    path: str,
    error_key: str,
    build: Callable[[dict[str, str], LocalAccount], PendingAction],
) -> None:
    """POST ``path``: the action ``build`` makes of the form goes to ``/confirm``; a refusal
    (validation, or the chain's state) stands on the retail page as ``error_key``."""

    async def route(request: Request) -> Response:
        session, fields, account = await _posted(state.portal, request)
        try:
            action = build(fields, account)
        except (GridLedgerError, PydanticValidationError) as exc:
            return _page(state, request, session, status=422, **{error_key: error_line(exc)})
        return state.portal.confirm_redirect(session, action)

    app.add_api_route(path, route, methods=["POST"], response_class=HTMLResponse)


def _consumer_routes(app: FastAPI, state: RetailState) -> None:
    portal = state.portal

    @app.post("/retail/issue", response_class=HTMLResponse)
    async def issue_file(request: Request) -> Response:
        session, fields, account = await _posted(portal, request)
        try:
            batch = load_model(IssuedBatch, fields.get("issue_json", ""), "issue file")
            bills = portal.ctx.client(RetailBillsClient, account)
            bill = batch.bill_of(str(account.address))
            check_anchored(bills, batch, batch.ref(bill))
        except GridLedgerError as exc:
            return _page(state, request, session, status=422, issue_error=error_line(exc))
        state.issues[batch.batch_id] = batch
        return _page(state, request, session)

    def pay(fields: dict[str, str], account: LocalAccount) -> PendingAction:
        form: PayForm = parse(PayForm, fields)
        batch = state.issues.get(form.batch_id)
        if batch is None:
            raise ValidationError(f"paste the issue file of batch {form.batch_id} first")
        return pay_action(portal.ctx, account, batch, form.amount_fen)

    _action_route(app, state, "/retail/pay", "pay_error", pay)

    @app.post("/retail/bill.{fmt}")
    async def bill_file(request: Request, fmt: str) -> Response:
        session, fields, _ = await _posted(portal, request)
        try:
            bill = load_model(Bill, fields.get("bill_json", ""), "bill file")
        except GridLedgerError as exc:
            return _page(state, request, session, status=422, bill_error=error_line(exc))
        if fmt == "html":
            return HTMLResponse(render.to_html(bill))
        if fmt not in BILL_FORMATS:
            return portal.render(request, "result.html", session, 404, error=f"no format {fmt!r}")
        media, make = BILL_FORMATS[fmt]
        disposition = f'attachment; filename="bill-{bill.month}.{fmt}"'
        return Response(make(bill), media_type=media, headers={"Content-Disposition": disposition})


def _retailer_routes(app: FastAPI, state: RetailState) -> None:
    portal = state.portal

    def publish(fields: dict[str, str], account: LocalAccount) -> PendingAction:
        package = load_model(RetailPackage, fields.get("package_json", ""), "package file")
        return publish_action(portal.ctx, account, package)

    def withdraw(fields: dict[str, str], account: LocalAccount) -> PendingAction:
        form: WithdrawForm = parse(WithdrawForm, fields)
        return withdraw_action(portal.ctx, account, form.package_id)

    _action_route(app, state, "/retail/publish", "publish_error", publish)
    _action_route(app, state, "/retail/withdraw", "withdraw_error", withdraw)

    @app.get("/retail/report/{month}.csv")
    def report_file(request: Request, month: int) -> Response:
        session = portal.session(request)
        assert session.account is not None
        me = str(session.account.address)
        try:
            report = retailer_report(portal.ctx, session.account, me, check_month(month))
        except GridLedgerError as exc:
            return portal.render(request, "result.html", session, 422, error=error_line(exc))
        disposition = f'attachment; filename="retail-report-{month}.csv"'
        headers = {"Content-Disposition": disposition}
        return Response(report_csv(report), media_type="text/csv", headers=headers)


def register(app: FastAPI, portal: Portal) -> None:
    """Add the retail pages; the nav shows them to consumer and retailer nodes only."""
    state = RetailState(portal)
    app.state.retail = state  # shared with the participant API (node/portal/api.py)
    portal.templates.env.globals["retail_kind"] = state.kind

    @app.get("/retail", response_class=HTMLResponse)
    def retail(request: Request, month: int | None = None) -> Response:
        return _page(state, request, portal.session(request), month=month)

    _consumer_routes(app, state)
    _retailer_routes(app, state)
