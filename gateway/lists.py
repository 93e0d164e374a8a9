"""The explorer's lists: keyset-paged, filtered, and downloadable as CSV with the same filters.

Every list (trades, listings, violation reports, participants) is read newest first in
pages of :data:`PAGE_SIZE` rows keyed by its primary key: ``?before=<key>`` is the next
(older) page, ``?after=<key>`` the previous (newer) one, so a page costs one index range
scan however deep it is. Filters are query parameters shared with the CSV download
(``/trades.csv?status=settled``), which streams every matching row in key order with the
raw integer columns (Wh, fen, fen/MWh), as the history API answers them.

A listing's status is read against chain time: an open or partly taken listing whose
``expires_at`` is at or before the indexed chain head's timestamp is ``expired``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import Column, ColumnElement, Connection, Select, and_, func, not_, or_, select

from gateway.deps import ConnDep
from gateway.pages import PageDep
from gateway.queries import chain_head_time, listing_status, role_holders
from gateway.tables import (
    Block,
    CertificateRetirement,
    Listing,
    Participant,
    Report,
    Trade,
    table_of,
)
from ledger.errors import ValidationError

PAGE_SIZE = 50
CSV_CHUNK = 2000
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
NAME = re.compile(r"[A-Za-z0-9_ .()\-]{1,32}")
router = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])


@dataclass(frozen=True)
class ListFilter:
    """The filters of a list page and its CSV (all optional, combined with AND)."""

    period: int | None = None
    region: str | None = None
    status: str | None = None
    side: str | None = None
    participant: str | None = None
    from_time: int | None = None
    to_time: int | None = None

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as query parameters (for links), unset ones left out."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out.append((f.name, str(value)))
        return out


def _int(name: str, text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ValidationError(f"{name}: a whole number, not {text[:40]!r}")
    return int(text)


def _time(name: str, text: str) -> int:
    """Unix seconds, or a UTC date/time (``2026-01-01``, ``2026-01-01T08:00``)."""
    if text.isascii() and text.isdigit():
        return _int(name, text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{name}: unix seconds or YYYY-MM-DD[THH:MM] (UTC)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp()))


def _text(name: str, text: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(text):
        raise ValidationError(f"{name}: not a valid value ({text[:40]!r})")
    return text


Text_q = Annotated[str, Query(max_length=64)]


def list_filter(
    period: Text_q = "",
    region: Text_q = "",
    status: Text_q = "",
    side: Text_q = "",
    participant: Text_q = "",
    from_time: Text_q = "",
    to_time: Text_q = "",
) -> ListFilter:
    """The filters from the query string; empty fields (as a plain HTML form sends them)
    are unset, invalid ones answer 400."""
    p = (s.strip() for s in (period, region, status, side, participant, from_time, to_time))
    period_s, region_s, status_s, side_s, party_s, from_s, to_s = p
    if side_s and side_s not in ("sell", "buy"):
        raise ValidationError("side: sell or buy")
    return ListFilter(
        period=_int("period", period_s) if period_s else None,
        region=_text("region", region_s, NAME) if region_s else None,
        status=_text("status", status_s, NAME) if status_s else None,
        side=side_s or None,
        participant=_text("participant", party_s, ADDRESS).lower() if party_s else None,
        from_time=_time("from_time", from_s) if from_s else None,
        to_time=_time("to_time", to_s) if to_s else None,
    )


ListFilterDep = Annotated[ListFilter, Depends(list_filter)]


@dataclass(frozen=True)
class ListSpec:
    """One list: its table, key, which filters apply, and how they map onto columns."""

    name: str
    model: Any
    key: str
    time_column: str
    party_columns: tuple[str, ...]
    filters: tuple[str, ...]
    statuses: tuple[str, ...]
    period_range: tuple[str, str] | None = None

    @property
    def table(self) -> Any:
        return table_of(self.model)

    def key_value(self, text: str) -> Any:
        if self.key == "address":
            return _text("cursor", text, ADDRESS)
        return _int("cursor", text)


TRADES = ListSpec(
    "trades",
    Trade,
    "trade_id",
    "created_time",
    ("seller", "buyer"),
    ("period", "region", "status", "participant", "from_time", "to_time"),
    ("formed", "dispatched", "rejected", "metered", "settled", "failed", "cancelled"),
)
LISTINGS = ListSpec(
    "listings",
    Listing,
    "listing_id",
    "created_time",
    ("maker",),
    ("period", "region", "status", "side", "participant", "from_time", "to_time"),
    ("open", "partial", "filled", "cancelled", "expired"),
)
REPORTS = ListSpec(
    "violations",
    Report,
    "report_id",
    "created_time",
    ("suspect", "reporter", "regulator"),
    ("period", "status", "participant", "from_time", "to_time"),
    ("pending", "answered", "confirmed", "dismissed", "expired"),
    period_range=("first_period", "last_period"),
)
PARTICIPANTS = ListSpec(
    "participants",
    Participant,
    "address",
    "registered_time",
    ("address",),
    ("region", "status", "participant", "from_time", "to_time"),
    (
        "pending",
        "active",
        "blocked",
        "suspended",
        "rejected",
        "exited",
        "reclaimed",
        "removed",
        "banned",
    ),
)

RETIREMENTS = ListSpec(
    "retirements",
    CertificateRetirement,
    "retirement_id",
    "block_time",
    ("holder", "beneficiary"),
    ("period", "participant", "from_time", "to_time"),
    (),
)
BLOCKS = ListSpec("blocks", Block, "number", "timestamp", (), ("from_time", "to_time"), ())


def _status_condition(spec: ListSpec, status: str, head_time: int | None) -> ColumnElement[bool]:
    t = spec.table
    if spec is not LISTINGS or head_time is None:
        return t.c.status == status  # type: ignore[no-any-return]
    live = t.c.status.in_(("open", "partial"))
    lapsed = and_(live, t.c.expires_at.is_not(None), t.c.expires_at <= head_time)
    if status == "expired":
        return or_(t.c.status == "expired", lapsed)
    if status in ("open", "partial"):
        return and_(t.c.status == status, not_(lapsed))
    return t.c.status == status  # type: ignore[no-any-return]


def conditions(spec: ListSpec, f: ListFilter, head_time: int | None) -> list[Any]:
    """The WHERE conditions of ``f`` on ``spec``'s table (filters it does not have ignored)."""
    t = spec.table
    out: list[Any] = []
    if f.period is not None and "period" in spec.filters:
        if spec.period_range:
            lo, hi = spec.period_range
            out += [t.c[lo] <= f.period, t.c[hi] >= f.period]
        else:
            out.append(t.c.period == f.period)
    if f.region and "region" in spec.filters:
        out.append(t.c.region == f.region)
    if f.status and "status" in spec.filters:
        out.append(_status_condition(spec, f.status, head_time))
    if f.side and "side" in spec.filters:
        out.append(t.c.side == f.side)
    if f.participant and "participant" in spec.filters:
        out.append(or_(*(func.lower(t.c[c]) == f.participant for c in spec.party_columns)))
    if f.from_time is not None:
        out.append(t.c[spec.time_column] >= f.from_time)
    if f.to_time is not None:
        out.append(t.c[spec.time_column] <= f.to_time)
    return out


def _order_key(spec: ListSpec, f: ListFilter) -> Any:
    """The key to order by. With a participant filter on a table whose key is not the
    address, ``key + 0``: the planners then read the participant's rows from the
    ``lower(address)`` indexes and sort them, instead of walking the primary key backwards
    until enough rows of that participant turned up (most of the table for a small one)."""
    key = spec.table.c[spec.key]
    if f.participant and spec.key != "address" and "participant" in spec.filters:
        return key + 0
    return key


def _select(spec: ListSpec, f: ListFilter, head_time: int | None) -> Select[Any]:
    query = select(spec.table)
    for cond in conditions(spec, f, head_time):
        query = query.where(cond)
    return query


@dataclass
class ListPage:
    """One page of a list, newest first, and the cursors of its neighbours."""

    rows: list[dict[str, Any]]
    older: Any = None
    newer: Any = None


def list_page(
    conn: Connection,
    spec: ListSpec,
    f: ListFilter,
    *,
    before: str = "",
    after: str = "",
    limit: int = PAGE_SIZE,
) -> ListPage:
    """The page of rows below ``before`` (or above ``after``), newest first."""
    head_time = chain_head_time(conn)
    key: Column[Any] = spec.table.c[spec.key]
    order = _order_key(spec, f)
    query = _select(spec, f, head_time)
    if after:
        rows = conn.execute(
            query.where(key > spec.key_value(after)).order_by(order).limit(limit + 1)
        ).mappings()
        found = [dict(r) for r in rows]
        page = ListPage(found[:limit][::-1])
        if len(found) > limit:
            page.newer = page.rows[0][spec.key]
    else:
        if before:
            query = query.where(key < spec.key_value(before))
        found = [
            dict(r) for r in conn.execute(query.order_by(key.desc()).limit(limit + 1)).mappings()
        ]
        page = ListPage(found[:limit])
        if before and page.rows:
            first = page.rows[0][spec.key]
            newer = _select(spec, f, head_time).where(key > first).limit(1)
            if conn.execute(newer).first() is not None:
                page.newer = first
        if len(found) > limit:
            page.older = page.rows[-1][spec.key]
    if after and page.rows:
        page.older = page.rows[-1][spec.key]
    for row in page.rows:
        _chain_status(spec, row, head_time)
    return page


def _chain_status(spec: ListSpec, row: dict[str, Any], head_time: int | None) -> None:
    if spec is LISTINGS:
        row["status"] = listing_status(row, head_time)


def iter_rows(conn: Connection, spec: ListSpec, f: ListFilter) -> Iterator[dict[str, Any]]:
    """Every row matching ``f`` in key order, read in keyset chunks."""
    head_time = chain_head_time(conn)
    key: Column[Any] = spec.table.c[spec.key]
    order = _order_key(spec, f)
    last: Any = None
    while True:
        query = _select(spec, f, head_time)
        if last is not None:
            query = query.where(key > last)
        rows = [dict(r) for r in conn.execute(query.order_by(order).limit(CSV_CHUNK)).mappings()]
        for row in rows:
            _chain_status(spec, row, head_time)
            yield row
        if len(rows) < CSV_CHUNK:
            return
        last = rows[-1][spec.key]


def csv_lines(conn: Connection, spec: ListSpec, f: ListFilter) -> Iterator[str]:
    """The CSV text of ``spec``'s rows matching ``f``: a header, then one line per row."""
    columns = [c.name for c in spec.table.columns]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in iter_rows(conn, spec, f):
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _render_list(
    page: PageDep,
    conn: Connection,
    spec: ListSpec,
    f: ListFilter,
    before: str,
    after: str,
    title: str,
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
        **extra,
    )


Cursor_q = Annotated[str, Query(max_length=42, description="Key of the row to page from.")]


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
        return _render_list(page, conn, spec, f, before, after, title, **extra(conn))

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


_routes(TRADES, "/trades", "Trades", lambda _conn: {})
_routes(LISTINGS, "/listings", "Listings", lambda _conn: {})
_routes(REPORTS, "/violations", "Violations and rulings", lambda _conn: {})
_routes(PARTICIPANTS, "/participants", "Participants", lambda c: {"roles": role_holders(c)})
_routes(RETIREMENTS, "/certificates/retirements", "Certificate retirements", lambda _conn: {})
_routes(BLOCKS, "/blocks", "Blocks", lambda _conn: {})
