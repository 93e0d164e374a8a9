"""``gridledger desk serve``: the service desk's HTTP API (FastAPI; docs/desk.md).

Participants sign each request with their own key, staff send an API key
(:mod:`node.desk.auth`). Every refusal is a 4xx whose ``detail`` gives the reason: 400 bad
input, 401 not authenticated, 403 not allowed, 404 unknown, 409 a refused state change,
422 a body that does not validate.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy.exc import DataError

from ledger.addresses import checksum_address
from ledger.errors import GridLedgerError, NotFoundError, ValidationError
from ledger.webauth import API_KEY_HEADER, ApiKeys
from node.desk.auth import Authenticator, AuthError
from node.desk.errors import DeskForbiddenError, TransitionRefusedError
from node.desk.feed import FeedItem
from node.desk.kb import AnnouncementOut, ArticleOut
from node.desk.service import Desk
from node.desk.states import Actor, DeskRole, require_role
from node.desk.store import AttachmentOut, ComplaintDetail, ComplaintOut, Links, PlainText

_STATUS: tuple[tuple[type[GridLedgerError], int], ...] = (
    (AuthError, 401),
    (DeskForbiddenError, 403),
    (NotFoundError, 404),
    (TransitionRefusedError, 409),
    (ValidationError, 400),
)


def _address(value: str) -> str:
    try:
        return checksum_address(value)
    except ValidationError as exc:
        raise ValueError(str(exc)) from exc


class FileBody(BaseModel):
    category: PlainText = Field(max_length=32)
    title: PlainText = Field(min_length=1, max_length=200)
    body: PlainText = Field(min_length=1, max_length=20_000)
    kind: PlainText = "complaint"
    links: Links = Links()


class AssignBody(BaseModel):
    assignee: Annotated[str, AfterValidator(_address)] = Field(min_length=1, max_length=64)


class MoveBody(BaseModel):
    to: PlainText
    note: PlainText = Field(default="", max_length=2000)


class RateBody(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: PlainText = Field(default="", max_length=2000)


class AttachBody(BaseModel):
    name: PlainText = Field(min_length=1, max_length=200)
    content_base64: str


class ArticleBody(BaseModel):
    title: PlainText = Field(min_length=1, max_length=200)
    body: PlainText = Field(min_length=1)
    tags: list[PlainText] = []


class AnnounceBody(BaseModel):
    title: PlainText = Field(min_length=1, max_length=200)
    body: PlainText = Field(min_length=1)


class CategoryOut(BaseModel):
    category: str
    limit_s: int
    open: int
    overdue: int


class FeedOut(BaseModel):
    chain_included: bool
    items: list[FeedItem]


async def caller(request: Request) -> Actor:
    """The request's actor: a staff API key, else the participant's signature."""
    auth: Authenticator = request.app.state.desk_auth
    api_key = request.headers.get(API_KEY_HEADER)
    if api_key:
        return auth.staff(api_key)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = await request.body()
    return auth.participant(dict(request.headers), request.method, target, body)


Caller = Annotated[Actor, Depends(caller)]
#: A row id (SQLite and PostgreSQL integers are 64-bit).
RowId = Annotated[int, Path(ge=1, le=2**62)]


def create_app(desk: Desk, keys: ApiKeys) -> FastAPI:
    """The desk's API over ``desk``; ``keys`` are the staff's API keys."""
    app = FastAPI(title="GridLedger service desk", version="1")
    app.state.desk_auth = Authenticator(keys)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        # where and what only: the input itself may not even be encodable (a lone surrogate)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, 422)

    @app.exception_handler(DataError)
    async def bad_value(_request: Request, exc: DataError) -> Response:
        return JSONResponse({"detail": f"the database refused a value: {exc.orig}"}, 400)

    @app.exception_handler(GridLedgerError)
    async def refused(_request: Request, exc: GridLedgerError) -> Response:
        status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 409)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    store, kb = desk.store, desk.kb

    @app.get("/api/v1/categories", response_model=list[CategoryOut])
    def categories() -> list[CategoryOut]:
        counts = store.counts()
        return [
            CategoryOut(category=name, limit_s=limit, open=counts[name][0], overdue=counts[name][1])
            for name, limit in sorted(store.limits_s.items())
        ]

    @app.post("/api/v1/complaints", response_model=ComplaintOut, status_code=201)
    def file(actor: Caller, body: FileBody) -> ComplaintOut:
        return store.file(
            actor, body.category, body.title, body.body, kind=body.kind, links=body.links
        )

    @app.get("/api/v1/complaints", response_model=list[ComplaintOut])
    def complaints(
        actor: Caller, state: str | None = None, category: str | None = None, overdue: bool = False
    ) -> list[ComplaintOut]:
        if state is not None and state not in ("new", "in_progress", "resolved", "closed"):
            raise ValidationError(f"unknown state {state!r}")
        return store.complaints(actor, state=state, category=category, overdue=overdue)

    @app.get("/api/v1/complaints/{complaint_id}", response_model=ComplaintDetail)
    def show(actor: Caller, complaint_id: RowId) -> ComplaintDetail:
        return store.show(actor, complaint_id)

    @app.post("/api/v1/complaints/{complaint_id}/assign", response_model=ComplaintOut)
    def assign(actor: Caller, complaint_id: RowId, body: AssignBody) -> ComplaintOut:
        return store.assign(actor, complaint_id, body.assignee)

    @app.post("/api/v1/complaints/{complaint_id}/move", response_model=ComplaintOut)
    def move(actor: Caller, complaint_id: RowId, body: MoveBody) -> ComplaintOut:
        return store.move(actor, complaint_id, body.to, body.note)

    @app.post("/api/v1/complaints/{complaint_id}/rating", response_model=ComplaintOut)
    def rate(actor: Caller, complaint_id: RowId, body: RateBody) -> ComplaintOut:
        return store.rate(actor, complaint_id, body.rating, body.comment)

    @app.post("/api/v1/complaints/{complaint_id}/attachments", response_model=AttachmentOut)
    def attach(actor: Caller, complaint_id: RowId, body: AttachBody) -> AttachmentOut:
        try:
            content = base64.b64decode(body.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError(f"content_base64 is not base64: {exc}") from exc
        return store.attach(actor, complaint_id, body.name, content)

    @app.get("/api/v1/complaints/{complaint_id}/attachments/{attachment_id}")
    def attachment(actor: Caller, complaint_id: RowId, attachment_id: RowId) -> Response:
        name, content = store.attachment(actor, complaint_id, attachment_id)
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(content, media_type="application/octet-stream", headers=disposition)

    @app.get("/api/v1/kb", response_model=list[ArticleOut])
    def search(q: str) -> list[ArticleOut]:
        return kb.search(q)

    @app.post("/api/v1/kb", response_model=ArticleOut, status_code=201)
    def add_article(actor: Caller, body: ArticleBody) -> ArticleOut:
        return kb.add_article(actor, body.title, body.body, body.tags)

    @app.post("/api/v1/announcements", response_model=AnnouncementOut, status_code=201)
    def announce(actor: Caller, body: AnnounceBody) -> AnnouncementOut:
        require_role(actor, DeskRole.operator, DeskRole.regulator)
        return kb.announce(actor, body.title, body.body)

    @app.get("/api/v1/feed", response_model=FeedOut)
    def feed() -> FeedOut:
        items, chain = desk.feed()
        return FeedOut(chain_included=chain, items=items)

    return app
