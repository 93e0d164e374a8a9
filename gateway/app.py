"""The gateway web app: the regulators' explorer (HTML) and the auditors' history API (JSON).

Read-only: any method other than GET/HEAD answers 405. Requests are rate limited per API
key (or client IP) with 429 + Retry-After. ``X-API-Key`` selects a role (public, auditor,
regulator) from the keys file; the history API needs auditor, identity data regulator.
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
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import api, lists, pages
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
            "(no key), auditor (history API), regulator (identity data, audited). Rate "
            "limited per key or client IP (429 with Retry-After)."
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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or exc.status_code not in (404, 403, 401):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        return pages.error_page(request, exc.status_code, str(exc.detail))

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(lists.router)
    mount_docs(app)
    return app


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
