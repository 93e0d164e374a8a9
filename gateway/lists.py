"""The explorer's lists: keyset-paged, filtered, and downloadable as CSV with the same filters.

The paging, filters and CSV are :mod:`gateway.paging`'s; here are the routes: each list is
an HTML page (``/trades``) and its CSV (``/trades.csv``) with the same query parameters.
The certificates page is the token list with the first page of the quota, quota-rule and
retirement lists, each of which has its own paged list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from gateway.deps import AuditorRole, ConnDep, PublicRole, SettingsDep
from gateway.pages import EventCursor_q, PageDep
from gateway.paging import (
    BLOCKS,
    CERTIFICATES,
    LISTINGS,
    PAGE_SIZE,
    PARTICIPANTS,
    QUOTA_RULES,
    QUOTAS,
    RATINGS,
    REPORTS,
    RETIREMENTS,
    TRADES,
    ListFilter,
    ListFilterDep,
    ListSpec,
    Text_q,
    csv_lines,
    list_page,
    parse_address,
    parse_int,
    parse_time,
)
from gateway.queries import EventFilter, events_window, role_holders
from ledger.errors import ValidationError

router = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])
#: Rows of each list previewed on the certificates page (the rest: its paged list).
PREVIEW = 10


def _render_list(
    page: PageDep,
    conn: Connection,
    spec: ListSpec,
    f: ListFilter,
    before: str,
    after: str,
    title: str,
    path: str,
    **extra: Any,
) -> HTMLResponse:
    result = list_page(conn, spec, f, before=before, after=after)
    return page.render(
        f"{spec.name}.html",
        title=title,
        rows=result.rows,
        paging=result,
        spec=spec,
        filters=f,
        query=f.query_items(),
        path=path,
        **extra,
    )


Cursor_q = Annotated[
    str, Query(max_length=130, description="Key of the row to page from (`a~b` for two).")
]


def _csv_response(conn: Connection, spec: ListSpec, f: ListFilter) -> StreamingResponse:
    return StreamingResponse(
        csv_lines(conn, spec, f),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{spec.name}.csv"'},
    )


def _routes(spec: ListSpec, path: str, title: str, extra: Callable[[Connection], Any]) -> None:
    def html(
        page: PageDep, conn: ConnDep, f: ListFilterDep, before: Cursor_q = "", after: Cursor_q = ""
    ) -> HTMLResponse:
        return _render_list(page, conn, spec, f, before, after, title, path, **extra(conn))

    def download(page: PageDep, conn: ConnDep, f: ListFilterDep) -> StreamingResponse:
        # PageDep resolves the caller's role first: an unknown key answers 401
        return _csv_response(conn, spec, f)

    router.add_api_route(path, html, methods=["GET"], summary=title)
    router.add_api_route(
        f"{path}.csv",
        download,
        methods=["GET"],
        summary=f"{title} as CSV (same filters)",
        response_class=StreamingResponse,
    )


def certificate_previews(conn: Connection) -> dict[str, Any]:
    """The first rows of the quota, quota-rule and retirement lists (certificates page)."""
    return {
        name: list_page(conn, spec, ListFilter(), limit=PREVIEW)
        for name, spec in (("quotas", QUOTAS), ("rules", QUOTA_RULES), ("retired", RETIREMENTS))
    }


def _none(_conn: Connection) -> dict[str, Any]:
    return {}


EVENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,95}")


def explorer_event_filter(
    participant: Text_q = "",
    contract: Text_q = "",
    event: Text_q = "",
    from_block: Text_q = "",
    to_block: Text_q = "",
    from_time: Text_q = "",
    to_time: Text_q = "",
) -> EventFilter:
    """``/api/v1/events``' filters from the explorer's form: empty fields unset, invalid
    ones 400."""
    for name, value in (("contract", contract), ("event", event)):
        if value and not EVENT_NAME.fullmatch(value):
            raise ValidationError(f"{name}: a contract or event name, not {value[:40]!r}")
    return EventFilter(
        participant=parse_address("participant", participant.strip()),
        contract=contract or None,
        event=event or None,
        from_block=parse_int("from_block", from_block) if from_block else None,
        to_block=parse_int("to_block", to_block) if to_block else None,
        from_time=parse_time("from_time", from_time) if from_time else None,
        to_time=parse_time("to_time", to_time) if to_time else None,
    )


@router.get("/events", summary="Every indexed event, decoded, newest first (auditors)")
def events_list(
    _role: AuditorRole,
    page: PageDep,
    conn: ConnDep,
    f: Annotated[EventFilter, Depends(explorer_event_filter)],
    before: EventCursor_q = None,
    after: EventCursor_q = None,
) -> HTMLResponse:
    window = events_window(conn, f, PAGE_SIZE, newest_first=True, before=before, after=after)
    query = [(k, str(v)) for k, v in asdict(f).items() if v is not None]
    return page.render(
        "events.html", title="Events", window=window, events=window.items, filters=f, query=query
    )


_routes(TRADES, "/trades", "Trades", _none)
_routes(LISTINGS, "/listings", "Listings", _none)
_routes(REPORTS, "/violations", "Violations and rulings", _none)
_routes(PARTICIPANTS, "/participants", "Participants", lambda c: {"roles": role_holders(c)})
_routes(CERTIFICATES, "/certificates", "Certificates and quotas", certificate_previews)
_routes(QUOTAS, "/certificates/quotas", "Renewable quotas and compliance", _none)
_routes(QUOTA_RULES, "/certificates/quota-rules", "Renewable quota rules by period", _none)
_routes(RETIREMENTS, "/certificates/retirements", "Certificate retirements", _none)
_routes(RATINGS, "/ratings", "Ratings", _none)
_routes(BLOCKS, "/blocks", "Blocks", _none)


#: The lists of ``/api/v1/lists/{name}``: the explorer's, by the last part of their path.
API_LISTS: dict[str, ListSpec] = {
    "trades": TRADES,
    "listings": LISTINGS,
    "violations": REPORTS,
    "participants": PARTICIPANTS,
    "certificates": CERTIFICATES,
    "quotas": QUOTAS,
    "quota-rules": QUOTA_RULES,
    "retirements": RETIREMENTS,
    "ratings": RATINGS,
    "blocks": BLOCKS,
}
ListName = Literal[
    "trades",
    "listings",
    "violations",
    "participants",
    "certificates",
    "quotas",
    "quota-rules",
    "retirements",
    "ratings",
    "blocks",
]


class ListPageOut(BaseModel):
    items: list[dict[str, Any]] = Field(description="Rows newest first, raw columns.")
    older: str | None = Field(description="Pass as `before` for the next (older) page.")
    newer: str | None = Field(description="Pass as `after` for the previous (newer) page.")


@router.get(
    "/api/v1/lists/{name}",
    response_model=ListPageOut,
    response_class=JSONResponse,
    tags=["history"],
    summary="One page of an explorer list as JSON (the page's filters and cursors)",
)
def list_json(
    _role: PublicRole,
    conn: ConnDep,
    settings: SettingsDep,
    name: Annotated[ListName, Path()],
    f: ListFilterDep,
    before: Cursor_q = "",
    after: Cursor_q = "",
    limit: Annotated[int, Query(ge=1, description="Capped at the API's page size.")] = PAGE_SIZE,
) -> ListPageOut:
    limit = min(limit, settings.gateway_max_page_size)
    page = list_page(conn, API_LISTS[name], f, before=before, after=after, limit=limit)
    return ListPageOut(items=page.rows, older=page.older, newer=page.newer)
