"""The gateway web app: the regulators' explorer (HTML) and the auditors' history API (JSON).

Read-only: any method other than GET/HEAD answers 405. Requests are rate limited per API
key (or client IP) with 429 + Retry-After. ``X-API-Key`` selects a role from the keys file;
each route admits an explicit set of roles (``gateway.auth``; README "Web access").
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from importlib import resources

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from web3.exceptions import Web3Exception

from gateway import (
    analytics_prices,
    analytics_web,
    api,
    auction_pages,
    contracts_web,
    defaults_web,
    desk_web,
    identity,
    lists,
    pages,
    proofs,
)
from gateway.db import engine_from_settings, upgrade
from gateway.deps import GatewayState
from ledger.context import LedgerContext
from ledger.errors import GridLedgerError, NotFoundError, ValidationError
from ledger.settings import Settings

READ_METHODS = frozenset({"GET", "HEAD"})


def create_app(
    settings: Settings, *, engine: Engine | None = None, ctx: LedgerContext | None = None
) -> FastAPI:
    """The ASGI app; migrates the database first, so a fresh file works."""
    engine = engine or engine_from_settings(settings)
    upgrade(engine)
    state = GatewayState(settings, engine, ctx)
    app = FastAPI(
        docs_url=None,  # served below from the packaged Swagger UI: no CDN, works offline
        title="GridLedger gateway",
        version="1",
        summary="Read-only explorer and history API of the GridLedger electricity market.",
        description=(
            "Every event of the suite's contracts, indexed into SQL and projected into "
            "participants, listings, trades, settlements, ratings, reports, certificates and "
            "meter anchors. Read-only (405 for writes); `X-API-Key` selects a role: public "
            "(no key), auditor or regulator (events, proofs, verify), regulator (identity "
            "data, audited); operator, dispatch and meter keys read what the public reads. "
            "Rate limited per key or client IP (429 with Retry-After)."
        ),
    )
    app.state.gw = state

    @app.middleware("http")
    async def read_only_and_rate_limit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.method not in READ_METHODS:
            return JSONResponse(
                {"detail": "the gateway is read-only"},
                status_code=405,
                headers={"Allow": "GET, HEAD"},
            )
        client = request.headers.get("x-api-key") or (
            request.client.host if request.client else "?"
        )
        wait = state.limiter.take(client)
        if wait > 0:
            return JSONResponse(
                {"detail": "rate limit exceeded"},
                status_code=429,
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return await call_next(request)

    @app.exception_handler(NotFoundError)
    async def not_found(_request: Request, exc: NotFoundError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ValidationError)
    async def invalid(_request: Request, exc: ValidationError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(GridLedgerError)
    async def ledger_error(_request: Request, exc: GridLedgerError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    _add_outage_handlers(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or exc.status_code not in (404, 403, 401):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        return pages.error_page(request, exc.status_code, str(exc.detail))

    app.include_router(api.router)
    app.include_router(identity.router)
    app.include_router(proofs.router)
    app.include_router(pages.router)
    app.include_router(lists.router)
    app.include_router(auction_pages.router)
    app.include_router(contracts_web.api)
    app.include_router(contracts_web.pages)
    app.include_router(defaults_web.api)
    app.include_router(defaults_web.pages)
    app.include_router(desk_web.api)
    app.include_router(desk_web.pages)
    app.include_router(analytics_prices.api)
    app.include_router(analytics_web.pages)
    mount_docs(app)
    return app


#: Seconds a client should wait before retrying during an outage.
RETRY_AFTER_S = 5


def _unavailable(request: Request, detail: str) -> Response:
    """503 with the reason: JSON under /api/, the error page elsewhere."""
    if request.url.path.startswith("/api/"):
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        return JSONResponse({"detail": detail}, status_code=503, headers=headers)
    return pages.error_page(request, 503, detail)


def _add_outage_handlers(app: FastAPI) -> None:
    """The database or the RPC node unreachable: 503 naming which (never a 500)."""

    @app.exception_handler(DBAPIError)
    async def database_down(request: Request, exc: DBAPIError) -> Response:
        return _unavailable(request, f"the gateway database is unavailable: {exc.orig}")

    @app.exception_handler(Web3Exception)
    async def chain_error(request: Request, exc: Web3Exception) -> Response:
        return _unavailable(request, f"the chain (RPC node) is unavailable: {exc}")

    @app.exception_handler(OSError)
    async def chain_down(request: Request, exc: OSError) -> Response:
        # requests' connection errors (the RPC node) are OSErrors
        return _unavailable(request, f"the chain (RPC node) is unavailable: {exc}")


def mount_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI 5 from the copy the pinned ``fastapi-offline`` package ships,
    served under ``/static/swagger-ui`` (FastAPI's default page loads it from a public CDN,
    a blank page offline)."""
    dist = resources.files("fastapi_offline") / "static"
    app.mount("/static/swagger-ui", StaticFiles(directory=str(dist)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon.png",
        )
