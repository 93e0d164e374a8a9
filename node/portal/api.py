"""The participant HTTP API (``/api/v1``) for the organisation's own systems: the same
operations as the portal's pages, through the same functions, as JSON with pydantic bodies.

Served by ``gridledger portal serve --api`` next to the pages (a mounted sub-application
with its own OpenAPI at ``/api/v1/openapi.json`` and Swagger UI at ``/api/v1/docs``, whose
assets are served locally). Each request carries an ``X-API-Key`` of ``gridledger portal
keys issue`` (:mod:`node.portal.keys`): an unknown key answers 401, a key without the
route's scope 403, a bad body 422 with the reason, a refusal by the chain 409 with the
decoded custom error. Writes are signed with the organisation's key unlocked when the
process started; ``?dry_run=true`` answers what would be signed (the confirmation page's
lines) without signing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from typing import Annotated, Any

from eth_account.signers.local import LocalAccount
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from web3.exceptions import Web3Exception

from ledger.clients.retail import RetailBillsClient
from ledger.clients.trading import Listing, Period, Trade
from ledger.display import listing_status_name, period_phase
from ledger.errors import (
    ContractRevertError,
    GridLedgerError,
    NotFoundError,
    TransactionError,
    TransactionTimeoutError,
    ValidationError,
)
from ledger.webauth import API_KEY_HEADER
from node.portal.actions import PlanForm, RateForm, TakeForm, plan_action, rate_action, take_action
from node.portal.app import Portal, error_line
from node.portal.keys import KeyRecord, PortalKeys, Scope, keys_path
from node.portal.pages import (
    _trade_rows,
    recommend_plan,
    settled_rows,
    statement_of,
    status_view,
    takeable_listings,
)
from node.portal.retail import RetailState, _bill_rows
from node.portal.retail_actions import PayForm, pay_action
from node.portal.sessions import PendingAction, Session
from node.reputation.api import ReputationDesk, ReputationView
from node.retail.issue import IssuedBatch, check_anchored
from node.settlement.statements import Statement, statement_csv
from node.trading.optimizer import Plan
from node.trading.trader import Trader

PREFIX = "/api/v1"
ASSETS = f"{PREFIX}/static/swagger-ui"

key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="A key of `gridledger portal keys issue`; scopes: "
    + ", ".join(s.value for s in Scope),
)


class ApiError(Exception):
    """An answer other than 2xx: ``status`` and a one-line ``detail``."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra


class Api:
    """The API's state: the portal, the unlocked key (as a session of its own), the keys."""

    def __init__(self, portal: Portal, account: LocalAccount, retail: RetailState) -> None:
        self.portal = portal
        self.session = Session("api", portal.config.wallet, account, csrf="", last_seen=0.0)
        self.keys = PortalKeys(keys_path(portal.ctx.settings.data_dir, portal.config.wallet))
        self.retail = retail
        self.signing = threading.Lock()  # one write at a time (one nonce sequence)

    def trader(self) -> Trader:
        assert self.session.account is not None
        return self.portal.reads.trader(self.session.account)


class Needs:
    """A route's dependency: a known key (else 401) with ``scope`` (else 403)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __call__(
        self, request: Request, key: Annotated[str | None, Depends(key_header)] = None
    ) -> KeyRecord:
        record = _api(request).keys.lookup(key)
        if record is None:
            raise ApiError(401, "unknown API key" if key else f"no {API_KEY_HEADER} header")
        if self.scope not in record.scopes:
            raise ApiError(403, f"needs an API key with scope {self.scope.value}")
        return record


def _api(request: Request) -> Api:
    api: Api = request.app.state.api
    return api


ApiDep = Annotated[Api, Depends(_api)]
Read = Depends(Needs(Scope.read))


# ------------------------------------------------------------------------------ bodies


class Line(BaseModel):
    label: str
    value: str


class Qualification(BaseModel):
    type: str
    expires: int
    warn: str


class StatusOut(BaseModel):
    """The status page: node state, role, bond, balance, qualifications, warnings."""

    address: str
    state: str
    role: str
    region: int
    bond_fen: int
    required_bond_fen: int
    balance_fen: int
    can_trade: bool
    qualifications: list[Qualification]
    warnings: list[str]
    block_reasons: list[str]


class ListingRow(BaseModel):
    listing: Listing
    status: str


class ListingsOut(BaseModel):
    """The listings this node could take: sell listings (mode 1) or buy listings (mode 2)."""

    mode: int
    listings: list[ListingRow]


class TradeRow(BaseModel):
    trade: Trade
    role: str
    counterparty: str
    status: str


class PeriodRow(BaseModel):
    period: Period
    phase: str


class RatedTrade(BaseModel):
    trade_id: int
    role: str
    counterparty: str
    given: int | None
    received: int | None


class RatingsOut(BaseModel):
    reputation: ReputationView
    settled: list[RatedTrade]


class ActionOut(BaseModel):
    """What is (or, with ``dry_run``, would be) signed, and what it did."""

    title: str
    function: str
    details: list[Line]
    warnings: list[str]
    signed: bool
    result_title: str | None = None
    result: list[Line] | None = None


class BillRow(BaseModel):
    batch_id: int
    month: int
    retailer: str
    status: str
    total_fen: int | None = None
    paid_fen: int | None = None
    unpaid_fen: int | None = None
    overdue: bool | None = None


def _lines(pairs: list[tuple[str, str]]) -> list[Line]:
    return [Line(label=k, value=v) for k, v in pairs]


def _act(api: Api, build: Callable[[Trader], PendingAction], dry_run: bool) -> ActionOut:
    """Build the action as the pages do (priced now), then sign it unless ``dry_run``."""
    with api.signing:
        action = build(api.trader())
        out = ActionOut(
            title=action.title, function=action.function, details=_lines(action.lines),
            warnings=action.warnings, signed=not dry_run,
        )  # fmt: skip
        if dry_run:
            return out
        outcome = action.run()
    out.result_title, out.result = outcome.title, _lines(outcome.lines)
    return out


# ------------------------------------------------------------------------------ routes


def _market_routes(app: FastAPI) -> None:
    @app.get("/status", dependencies=[Read], tags=["read"])
    def status(api: ApiDep) -> StatusOut:
        return StatusOut.model_validate(status_view(api.trader()))

    @app.get("/listings", dependencies=[Read], tags=["read"])
    def listings(api: ApiDep) -> ListingsOut:
        trader = api.trader()
        mode, found = takeable_listings(trader)
        now = trader.now()
        rows = [ListingRow(listing=x, status=listing_status_name(x, now)) for x in found]
        return ListingsOut(mode=mode, listings=rows)

    @app.post("/plan", dependencies=[Read], tags=["read"])
    def plan(api: ApiDep, form: PlanForm) -> Plan:
        """The optimiser's recommendation (as ``gridledger node recommend``); nothing signed."""
        return recommend_plan(api.trader(), form)

    @app.post("/plan/take", dependencies=[Depends(Needs(Scope.trade))], tags=["trade"])
    def take_plan(api: ApiDep, form: PlanForm, dry_run: bool = False) -> ActionOut:
        """Recommend now and take every planned take (limit = each planned price)."""
        return _act(api, lambda t: plan_action(t, recommend_plan(t, form)), dry_run)

    @app.post("/take", dependencies=[Depends(Needs(Scope.trade))], tags=["trade"])
    def take(api: ApiDep, form: TakeForm, dry_run: bool = False) -> ActionOut:
        """Take part of one listing at the price read now (as the limit)."""
        return _act(api, lambda t: take_action(t, form), dry_run)


def _history_routes(app: FastAPI) -> None:
    @app.get("/trades", dependencies=[Read], tags=["read"])
    def trades(api: ApiDep) -> list[TradeRow]:
        trader = api.trader()
        return [
            TradeRow(trade=r["t"], role=r["role"], counterparty=r["other"], status=r["status"])
            for r in _trade_rows(trader.trades(), trader.address)
        ]

    @app.get("/statements", dependencies=[Read], tags=["read"])
    def statements(api: ApiDep) -> list[PeriodRow]:
        trader = api.trader()
        now = trader.now()
        return [PeriodRow(period=p, phase=period_phase(p, now)) for p in trader.periods()]

    @app.get("/statements/{period}", dependencies=[Read], tags=["read"])
    def statement(api: ApiDep, period: int) -> Statement:
        return statement_of(api.portal, api.trader().account, period)

    @app.get(
        "/statements/{period}/csv", dependencies=[Read], tags=["read"],
        response_class=PlainTextResponse,
    )  # fmt: skip
    def statement_file(api: ApiDep, period: int) -> Response:
        built = statement_of(api.portal, api.trader().account, period)
        return PlainTextResponse(statement_csv(built), media_type="text/csv")

    @app.get("/ratings", dependencies=[Read], tags=["read"])
    def ratings(api: ApiDep) -> RatingsOut:
        trader = api.trader()
        desk = ReputationDesk(api.portal.ctx, trader.account)
        rows = [
            RatedTrade(
                trade_id=r["t"].id,
                role=r["role"],
                counterparty=r["other"],
                given=r["given"],
                received=r["received"],
            )
            for r in settled_rows(api.portal.reads.scores(desk.ledger), trader)
        ]
        return RatingsOut(reputation=desk.view(), settled=rows)

    @app.post("/ratings", dependencies=[Depends(Needs(Scope.rate))], tags=["rate"])
    def rate(api: ApiDep, form: RateForm, dry_run: bool = False) -> ActionOut:
        """Rate the other party of a settled trade (1..5)."""

        def build(t: Trader) -> PendingAction:
            return rate_action(ReputationDesk(api.portal.ctx, t.account), t, form)

        return _act(api, build, dry_run)


def _consumer(api: Api) -> None:
    if api.retail.kind(api.session) != "consumer":
        raise ApiError(404, "retail bills are for registered consumer nodes")


def _retail_routes(app: FastAPI) -> None:
    @app.get("/retail/bills", dependencies=[Read], tags=["retail"])
    def bills(api: ApiDep) -> list[BillRow]:
        """Each bill batch of the consumer's retailers; its own bill's figures once the
        batch's issue file is loaded (``POST /retail/issue``)."""
        _consumer(api)
        out = []
        for row in _bill_rows(api.retail, api.session):
            b, st = row["batch"], row.get("st")
            out.append(BillRow(
                batch_id=b.id, month=b.month, retailer=b.retailer, status=row["status"],
                total_fen=row["bill"].total_fen if st else None,
                paid_fen=st.paid_fen if st else None, unpaid_fen=st.unpaid_fen if st else None,
                overdue=st.overdue if st else None,
            ))  # fmt: skip
        return out

    @app.post("/retail/issue", dependencies=[Depends(Needs(Scope.retail))], tags=["retail"])
    def issue(api: ApiDep, batch: IssuedBatch) -> BillRow:
        """Load the issue file the retailer handed over (its proof checked against the
        anchored root); the pages see it too."""
        _consumer(api)
        account = api.session.account
        assert account is not None
        client = api.portal.ctx.client(RetailBillsClient, account)
        bill = batch.bill_of(str(account.address))
        st = check_anchored(client, batch, batch.ref(bill))
        api.retail.issues[batch.batch_id] = batch
        return BillRow(
            batch_id=batch.batch_id, month=batch.month, retailer=batch.retailer,
            status="loaded", total_fen=bill.total_fen, paid_fen=st.paid_fen,
            unpaid_fen=st.unpaid_fen, overdue=st.overdue,
        )  # fmt: skip

    @app.post("/retail/pay", dependencies=[Depends(Needs(Scope.retail))], tags=["retail"])
    def pay(api: ApiDep, form: PayForm, dry_run: bool = False) -> ActionOut:
        """Pay (part of) the consumer's bill of a loaded issue file (default: all unpaid)."""
        _consumer(api)
        batch = api.retail.issues.get(form.batch_id)
        if batch is None:
            raise ValidationError(f"load the issue file of batch {form.batch_id} first")
        ctx = api.portal.ctx
        return _act(api, lambda t: pay_action(ctx, t.account, batch, form.amount_fen), dry_run)


# ------------------------------------------------------------------------------ errors


def _json_arg(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int | bool):
        return value
    if isinstance(value, list | tuple):
        return [_json_arg(v) for v in value]
    return str(value)


def _reason(errors: list[Any]) -> str:
    parts = []
    for err in errors:
        where = ".".join(str(x) for x in err["loc"] if x != "body") or "body"
        parts.append(f"{where}: {str(err['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)


def _handlers(app: FastAPI) -> None:
    def answer(status: int, detail: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"detail": detail, **extra}, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(_r: Request, exc: ApiError) -> Response:
        return answer(exc.status, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def bad_body(_r: Request, exc: RequestValidationError) -> Response:
        return answer(422, _reason(list(exc.errors())))

    @app.exception_handler(PydanticValidationError)
    async def bad_model(_r: Request, exc: PydanticValidationError) -> Response:
        return answer(422, _reason(list(exc.errors())))

    @app.exception_handler(GridLedgerError)
    async def refused(_r: Request, exc: GridLedgerError) -> Response:
        if isinstance(exc, ContractRevertError):
            args = {k: _json_arg(v) for k, v in exc.arguments.items()}
            return answer(409, exc.signature, error=exc.name, arguments=args)
        if isinstance(exc, TransactionTimeoutError):
            return answer(504, error_line(exc))
        if isinstance(exc, NotFoundError):
            return answer(404, error_line(exc))
        if isinstance(exc, TransactionError):
            return answer(409, error_line(exc))
        return answer(422, error_line(exc))  # ValidationError and the rest: refused as asked

    @app.exception_handler(Web3Exception)
    async def chain_error(_r: Request, exc: Web3Exception) -> Response:
        return answer(503, f"the chain (RPC node) is unavailable: {error_line(exc)}")

    @app.exception_handler(OSError)
    async def chain_down(_r: Request, exc: OSError) -> Response:
        return answer(503, f"the chain (RPC node) is unavailable: {error_line(exc)}")


# ------------------------------------------------------------------------------ docs

DOCS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png"></head>
<body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{prefix}/docs.js"></script></body></html>
"""
#: The start script as a file of its own: the portal's CSP (``default-src 'self'``) runs
#: no inline script, which FastAPI's own docs page needs.
DOCS_JS = """SwaggerUIBundle({url: "%s/openapi.json", dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout", deepLinking: true});
"""


def _docs(app: FastAPI) -> None:
    """``/api/v1/docs``: Swagger UI from the copy the pinned ``fastapi-offline`` package
    ships (as the gateway's ``mount_docs``), started by a script file, not inline."""
    dist = resources.files("fastapi_offline") / "static"
    app.mount("/static/swagger-ui", StaticFiles(directory=str(dist)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML.format(title=app.title, assets=ASSETS, prefix=PREFIX))

    @app.get("/docs.js", include_in_schema=False)
    def docs_js() -> Response:
        return Response(DOCS_JS % PREFIX, media_type="text/javascript")


def create_api(portal: Portal, account: LocalAccount, retail: RetailState) -> FastAPI:
    """The API app of ``portal``'s organisation, signing with ``account``."""
    app = FastAPI(
        title="GridLedger participant API",
        version="1",
        summary=f"The participant portal's operations for {portal.config.wallet}'s systems.",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
        servers=[{"url": PREFIX}],
    )
    app.state.api = Api(portal, account, retail)
    _handlers(app)
    _market_routes(app)
    _history_routes(app)
    _retail_routes(app)
    _docs(app)
    return app


def mount(app: FastAPI, portal: Portal, account: LocalAccount) -> None:
    """Serve the API of ``portal`` under ``/api/v1`` of the portal's ``app``."""
    retail: RetailState = app.state.retail
    app.mount(PREFIX, create_api(portal, account, retail))
