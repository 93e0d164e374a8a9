"""The participant portal's FastAPI app: log-in by unlocking the organisation's keystore,
server-side sessions, CSRF on every form, and the confirm-then-sign flow every transaction
goes through. The market-node pages are in :mod:`node.portal.pages`."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ledger.context import LedgerContext
from ledger.errors import GridLedgerError, KeystoreError
from ledger.units import fen_to_cny, wh_to_mwh_trimmed
from node.portal.cache import ChainReads
from node.portal.sessions import COOKIE, PendingAction, Session, SessionStore, same_token

HERE = Path(__file__).parent
LOGIN_COOKIE = "gl_portal_login"


@dataclass(frozen=True)
class PortalConfig:
    """One portal serves one organisation: its keystore ``wallet``."""

    wallet: str
    idle_timeout_s: float = 900.0
    secure_cookies: bool = False


class LoginRequiredError(Exception):
    """No live session: the browser goes to the log-in page."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired


class CsrfError(Exception):
    """A form without the session's CSRF token."""


def form_error(exc: PydanticValidationError | RequestValidationError) -> str:
    """Pydantic's errors as one readable line (``field: message; ...``)."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"]) or "form"
        parts.append(f"{where}: {str(err['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)


def error_line(exc: Exception) -> str:
    """The one readable line the portal shows for an error (never a stack trace)."""
    if isinstance(exc, PydanticValidationError):
        return form_error(exc)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class Portal:
    """Shared state of one portal process: context, sessions, templates."""

    def __init__(self, ctx: LedgerContext, config: PortalConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.sessions = SessionStore(config.idle_timeout_s)
        self.reads = ChainReads(ctx)  # chain reads kept per block (node/portal/cache.py)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["cny"] = fen_to_cny
        self.templates.env.filters["mwh"] = wh_to_mwh_trimmed

    def session(self, request: Request) -> Session:
        """The request's live session, else :class:`LoginRequiredError`."""
        cookie = request.cookies.get(COOKIE)
        session = self.sessions.get(cookie)
        if session is None or session.account is None:
            raise LoginRequiredError(expired=bool(cookie))
        return session

    async def form(self, request: Request, session: Session | None) -> dict[str, str]:
        """The posted form (urlencoded); with a session, its CSRF token is checked."""
        body = (await request.body()).decode("utf-8", errors="replace")
        fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if session is not None and not same_token(fields.get("csrf"), session.csrf):
            raise CsrfError()
        return fields

    def render(
        self, request: Request, name: str, session: Session | None, status: int = 200, **kw: Any
    ) -> HTMLResponse:
        context = {"session": session, "wallet": self.config.wallet, **kw}
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def confirm_redirect(self, session: Session, action: PendingAction) -> Response:
        return RedirectResponse(f"/confirm?action={self.sessions.park(session, action)}", 303)


def parse(model: type[BaseModel], fields: dict[str, str]) -> Any:
    """``fields`` validated by ``model`` (empty strings count as missing)."""
    return model.model_validate({k: v for k, v in fields.items() if v != "" and k != "csrf"})


def _auth_routes(app: FastAPI, portal: Portal) -> None:
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, expired: int = 0) -> Response:
        nonce = secrets.token_urlsafe(24)
        note = "Your session expired: log in again." if expired else None
        response = portal.render(request, "login.html", None, nonce=nonce, note=note)
        _set_cookie(response, portal, LOGIN_COOKIE, nonce)
        return response

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        fields = await portal.form(request, None)
        nonce = secrets.token_urlsafe(24)
        if not same_token(fields.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
            error = "The log-in form expired (CSRF check failed): try again."
        else:
            try:
                account = portal.ctx.keystore.load(portal.config.wallet, fields.get("password", ""))
            except KeystoreError as exc:
                error = "Wrong password." if "wrong password" in str(exc) else error_line(exc)
            else:
                session = portal.sessions.create(portal.config.wallet, account)
                response: Response = RedirectResponse("/", 303)
                _set_cookie(response, portal, COOKIE, session.id)
                response.delete_cookie(LOGIN_COOKIE)
                return response
        response = portal.render(request, "login.html", None, 401, nonce=nonce, error=error)
        _set_cookie(response, portal, LOGIN_COOKIE, nonce)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = portal.session(request)
        await portal.form(request, session)
        portal.sessions.drop(session.id)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE)
        return response


def _set_cookie(response: Response, portal: Portal, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=portal.config.secure_cookies
    )


def _confirm_routes(app: FastAPI, portal: Portal) -> None:
    @app.get("/confirm", response_class=HTMLResponse)
    def confirm(request: Request, action: str = "") -> Response:
        session = portal.session(request)
        pending = session.pending.get(action)
        if pending is None:
            return portal.render(
                request, "result.html", session, 404,
                error="Nothing waits for confirmation (already submitted, or replaced).",
            )  # fmt: skip
        return portal.render(request, "confirm.html", session, action_id=action, action=pending)

    @app.post("/submit", response_class=HTMLResponse)
    async def submit(request: Request) -> Response:
        session = portal.session(request)
        fields = await portal.form(request, session)
        pending = session.pending.pop(fields.get("action", ""), None)
        if pending is None:
            return portal.render(
                request, "result.html", session, 409,
                error="Nothing waits for confirmation (already submitted, or replaced).",
            )  # fmt: skip
        try:
            outcome = pending.run()
        except GridLedgerError as exc:
            return portal.render(
                request, "result.html", session, 422, title=pending.title, error=error_line(exc)
            )
        return portal.render(request, "result.html", session, title=pending.title, outcome=outcome)


def _handlers(app: FastAPI, portal: Portal) -> None:
    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, exc: LoginRequiredError) -> Response:
        return RedirectResponse("/login?expired=1" if exc.expired else "/login", 303)

    @app.exception_handler(CsrfError)
    async def csrf(request: Request, exc: CsrfError) -> Response:
        return portal.render(
            request, "result.html", None, 403,
            error="Refused: the form's CSRF token is missing or wrong. Reload the page.",
        )  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        # a malformed URL (``/desk/abc``): the error page, not FastAPI's JSON (the API
        # sub-app under /api/v1 keeps its own JSON 422)
        error = f"Bad request: {form_error(exc) or 'invalid input'}"
        return portal.render(request, "result.html", None, 400, error=error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # one line for the user; the server's log keeps the traceback
        return portal.render(
            request, "result.html", None, 500, error=f"unexpected error: {error_line(exc)}"
        )

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Any:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


def create_app(
    ctx: LedgerContext, config: PortalConfig, api_account: LocalAccount | None = None
) -> FastAPI:
    """The portal of ``config.wallet`` over ``ctx``'s chain; with ``api_account`` (the
    organisation's key, unlocked at start) also the participant API under ``/api/v1``."""
    from node.portal import analytics, api, desk, institutions, pages, retail
    from node.portal import notify as notify_page
    from node.portal.auction import register as register_market_pages  # auctions, contracts

    app = FastAPI(title="GridLedger participant portal", docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    portal = Portal(ctx, config)
    app.state.portal = portal
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _handlers(app, portal)
    _auth_routes(app, portal)
    _confirm_routes(app, portal)
    pages.register(app, portal)
    retail.register(app, portal)
    notify_page.register(app, portal)
    institutions.register(app, portal)
    register_market_pages(app, portal)
    desk.register(app, portal)
    analytics.register(app, portal)
    if api_account is not None:
        api.mount(app, portal, api_account)
    return app
