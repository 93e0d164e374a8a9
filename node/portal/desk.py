"""The service desk in the portal (``/desk``): file a complaint or request, follow its
tracking, rate the resolution, search the knowledge base and read the announcements feed.

The desk is the trading center's (``gridledger desk serve``, ``GRIDLEDGER_DESK_URL``): the
portal calls its API with every request signed by the organisation's unlocked key
(:func:`node.desk.auth.sign_request`, docs/desk.md). Without the setting the pages are off.
"""

from __future__ import annotations

import json
import ssl
from typing import Any
from urllib.parse import urlencode

import httpx
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ledger.errors import GridLedgerError
from ledger.settings import Settings
from ledger.tls import ca_file
from node.desk.auth import sign_request
from node.portal.app import Portal, error_line
from node.portal.sessions import Session


class DeskUnavailableError(GridLedgerError):
    """The desk refused a request (its reason) or could not be reached."""


class DeskApi:
    """The desk's HTTP API, each request signed by the caller's key."""

    def __init__(self, url: str, verify: ssl.SSLContext | bool = True) -> None:
        self.url = url.rstrip("/")
        self.verify = verify

    def call(
        self, account: LocalAccount, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        headers = sign_request(account, method, path, raw)
        headers["Content-Type"] = "application/json"
        try:
            with httpx.Client(base_url=self.url, verify=self.verify, timeout=30) as client:
                response = client.request(method, path, content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise DeskUnavailableError(f"the service desk is unreachable: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text[:200]
            raise DeskUnavailableError(f"the service desk refused: {_detail(detail)}")
        return response.json()


def _detail(detail: Any) -> str:
    if isinstance(detail, list):  # pydantic's errors: field and message
        return "; ".join(
            f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}" for d in detail
        )
    return str(detail)


def _verify(settings: Settings, url: str) -> ssl.SSLContext | bool:
    """The consortium CA for an https desk when there is one, else the system's."""
    ca = ca_file(settings)
    if url.startswith("https") and ca.exists():
        return ssl.create_default_context(cafile=str(ca))
    return True


def _file_body(fields: dict[str, str]) -> dict[str, Any]:
    links: dict[str, Any] = {}
    for name in ("trade_id", "contract_id"):
        if fields.get(name, "").strip():
            value = fields[name].strip()
            links[name] = int(value) if value.isdigit() else value  # the desk says why not
    for name in ("bill", "meter"):
        if fields.get(name, "").strip():
            links[name] = fields[name].strip()
    return {
        "category": fields.get("category", ""),
        "title": fields.get("title", ""),
        "body": fields.get("body", "") or fields.get("title", ""),
        "kind": fields.get("kind", "complaint"),
        "links": links,
    }


def register(app: FastAPI, portal: Portal) -> None:
    """Add the desk pages when ``GRIDLEDGER_DESK_URL`` is set (the nav shows them then)."""
    url = portal.ctx.settings.desk_url
    portal.templates.env.globals["desk_enabled"] = url is not None
    if url is None:
        return
    api = DeskApi(url, _verify(portal.ctx.settings, url))

    def page(request: Request, session: Session, status: int = 200, **kw: Any) -> Response:
        assert session.account is not None
        q = request.query_params.get("q", "").strip()
        data: dict[str, Any] = {
            "q": q,
            "complaints": [],
            "categories": [],
            "feed": None,
            "articles": None,
        }
        try:
            data["complaints"] = api.call(session.account, "GET", "/api/v1/complaints")
            data["categories"] = api.call(session.account, "GET", "/api/v1/categories")
            data["feed"] = api.call(session.account, "GET", "/api/v1/feed")
            if q:
                query = "/api/v1/kb?" + urlencode({"q": q})
                data["articles"] = api.call(session.account, "GET", query)
        except GridLedgerError as exc:
            kw.setdefault("error", error_line(exc))
        return portal.render(request, "desk.html", session, status, **data, **kw)

    @app.get("/desk", response_class=HTMLResponse)
    def desk(request: Request) -> Response:
        return page(request, portal.session(request))

    @app.post("/desk/file", response_class=HTMLResponse)
    async def file(request: Request) -> Response:
        session = portal.session(request)
        fields = await portal.form(request, session)
        assert session.account is not None
        try:
            filed = api.call(session.account, "POST", "/api/v1/complaints", _file_body(fields))
        except GridLedgerError as exc:
            return page(request, session, 422, file_error=error_line(exc), form=fields)
        return RedirectResponse(f"/desk/{int(filed['id'])}", 303)

    @app.get("/desk/{complaint_id}", response_class=HTMLResponse)
    def tracking(request: Request, complaint_id: int) -> Response:
        session = portal.session(request)
        assert session.account is not None
        try:
            c = api.call(session.account, "GET", f"/api/v1/complaints/{complaint_id}")
        except GridLedgerError as exc:
            return portal.render(request, "result.html", session, 404, error=error_line(exc))
        return portal.render(request, "desk_complaint.html", session, c=c)

    @app.post("/desk/{complaint_id}/{action}", response_class=HTMLResponse)
    async def act(request: Request, complaint_id: int, action: str) -> Response:
        session = portal.session(request)
        fields = await portal.form(request, session)
        assert session.account is not None
        path = f"/api/v1/complaints/{complaint_id}"
        try:
            if action == "rate":
                rating = fields.get("rating", "")
                body = {
                    "rating": int(rating) if rating.isdigit() else 0,
                    "comment": fields.get("comment", ""),
                }
                api.call(session.account, "POST", f"{path}/rating", body)
            elif action in ("close", "reopen"):
                to = "closed" if action == "close" else "in_progress"
                api.call(session.account, "POST", f"{path}/move", {"to": to})
            else:
                return portal.render(request, "result.html", session, 404, error="no such action")
            return RedirectResponse(f"/desk/{complaint_id}", 303)
        except GridLedgerError as exc:
            try:
                c = api.call(session.account, "GET", path)
            except GridLedgerError:  # no such complaint (or not this organisation's)
                return portal.render(request, "result.html", session, 404, error=error_line(exc))
            return portal.render(
                request, "desk_complaint.html", session, 422, c=c, error=error_line(exc)
            )
