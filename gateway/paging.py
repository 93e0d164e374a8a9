"""Keyset paging, filters and CSV of the explorer's lists (the routes: ``gateway/lists.py``).

Every list is read newest first in pages of :data:`PAGE_SIZE` rows keyed by its key
columns (the primary key, or a unique (time, id) pair): ``?before=<key>`` is the next
(older) page, ``?after=<key>`` the previous (newer) one, so a page costs one index range
scan however deep it is. A key of several columns is written ``a~b`` in links. Filters are
query parameters shared with the CSV download (``/trades.csv?status=settled``), which
streams every matching row in key order with the raw integer columns (Wh, fen, fen/MWh),
as the history API answers them.

A listing's status is read against chain time: an open or partly taken listing whose
``expires_at`` is at or before the indexed chain head's timestamp is ``expired``. A quota's
status is ``pending`` until assessed, then ``compliant`` (no shortfall) or ``short``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    case,
    false,
    func,
    not_,
    or_,
    select,
    true,
    tuple_,
)

from gateway.queries import chain_head_time, listing_status, quota_row
from gateway.tables import (
    Block,
    CertificateRetirement,
    CertificateToken,
    Listing,
    Participant,
    Quota,
    QuotaPeriod,
    Rating,
    Report,
    Trade,
    table_of,
)
from ledger.errors import ValidationError

PAGE_SIZE = 50
CSV_CHUNK = 2000
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
NAME = re.compile(r"[A-Za-z0-9_ .()\-]{1,32}")
#: A text key column's value: an address, or a decimal uint256 (a certificate token id).
TEXT_KEY = re.compile(r"0x[0-9a-fA-F]{40}|[0-9]{1,78}")
KEY_SEPARATOR = "~"


@dataclass(frozen=True)
class ListFilter:
    """The filters of a list page and its CSV (all optional, combined with AND)."""

    period: int | None = None
    region: str | None = None
    status: str | None = None
    side: str | None = None
    participant: str | None = None
    rater: str | None = None
    ratee: str | None = None
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


def parse_int(name: str, text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ValidationError(f"{name}: a whole number, not {text[:40]!r}")
    return int(text)


def parse_time(name: str, text: str) -> int:
    """Unix seconds, or a UTC date/time (``2026-01-01``, ``2026-01-01T08:00``)."""
    if text.isascii() and text.isdigit():
        return parse_int(name, text)
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


def parse_address(name: str, text: str) -> str | None:
    return _text(name, text, ADDRESS).lower() if text else None


Text_q = Annotated[str, Query(max_length=64)]


def list_filter(
    period: Text_q = "",
    region: Text_q = "",
    status: Text_q = "",
    side: Text_q = "",
    participant: Text_q = "",
    rater: Text_q = "",
    ratee: Text_q = "",
    from_time: Text_q = "",
    to_time: Text_q = "",
) -> ListFilter:
    """The filters from the query string; empty fields (as a plain HTML form sends them)
    are unset, invalid ones answer 400."""
    p = (s.strip() for s in (period, region, status, side, from_time, to_time))
    period_s, region_s, status_s, side_s, from_s, to_s = p
    if side_s and side_s not in ("sell", "buy"):
        raise ValidationError("side: sell or buy")
    return ListFilter(
        period=parse_int("period", period_s) if period_s else None,
        region=_text("region", region_s, NAME) if region_s else None,
        status=_text("status", status_s, NAME) if status_s else None,
        side=side_s or None,
        participant=parse_address("participant", participant.strip()),
        rater=parse_address("rater", rater.strip()),
        ratee=parse_address("ratee", ratee.strip()),
        from_time=parse_time("from_time", from_s) if from_s else None,
        to_time=parse_time("to_time", to_s) if to_s else None,
    )


ListFilterDep = Annotated[ListFilter, Depends(list_filter)]
#: (table, status, chain head time) -> the WHERE condition of a status filter.
StatusCondition = Callable[[Any, str, int | None], ColumnElement[bool]]
#: (row, chain head time) -> None: adds or rewrites derived columns of a row in place.
Decorate = Callable[[dict[str, Any], int | None], None]


@dataclass(frozen=True)
class ListSpec:
    """One list: its table, key, which filters apply, and how they map onto columns."""

    name: str
    model: Any
    key: tuple[str, ...]
    time_column: str | None
    party_columns: tuple[str, ...]
    filters: tuple[str, ...]
    statuses: tuple[str, ...] = ()
    period_range: tuple[str, str] | None = None
    period_column: str = "period"
    status_condition: StatusCondition | None = None
    decorate: Decorate | None = None
    chain_time: bool = False
    """Are statuses read against the chain head's time (listings)?"""

    @property
    def table(self) -> Any:
        return table_of(self.model)

    def key_expr(self) -> Any:
        """The key column, or the row value of the key columns."""
        cols = [self.table.c[k] for k in self.key]
        return cols[0] if len(cols) == 1 else tuple_(*cols)

    def key_value(self, text: str) -> Any:
        """The key of a cursor (``a`` or ``a~b``), validated against the key's columns."""
        parts = text.split(KEY_SEPARATOR)
        if len(parts) != len(self.key):
            raise ValidationError(f"cursor: {len(self.key)} value(s) separated by '~'")
        values: list[Any] = []
        for name, part in zip(self.key, parts, strict=True):
            if isinstance(self.table.c[name].type, Integer):
                values.append(parse_int("cursor", part))
            else:
                values.append(_text("cursor", part, TEXT_KEY))
        return values[0] if len(values) == 1 else tuple_(*values)

    def cursor_of(self, row: dict[str, Any]) -> str:
        return KEY_SEPARATOR.join(str(row[k]) for k in self.key)

    def order(self, descending: bool, f: ListFilter | None = None) -> list[Any]:
        """ORDER BY of the key. With a party filter on a single integer key, ``key + 0``:
        the planners then read the party's rows from the ``lower(address)`` indexes and sort
        them, instead of walking the primary key until enough of that party's rows turned
        up (most of the table for a small one)."""
        cols: list[Any] = [self.table.c[k] for k in self.key]
        party = f is not None and (f.participant or f.rater or f.ratee)
        if party and len(cols) == 1 and isinstance(cols[0].type, Integer):
            cols = [cols[0] + 0]
        return [c.desc() for c in cols] if descending else cols


def listing_status_condition(t: Any, status: str, head_time: int | None) -> ColumnElement[bool]:
    """A listing status in chain time (see :func:`gateway.queries.listing_status`)."""
    if head_time is None:
        return t.c.status == status  # type: ignore[no-any-return]
    live = t.c.status.in_(("open", "partial"))
    lapsed = and_(live, t.c.expires_at.is_not(None), t.c.expires_at <= head_time)
    if status == "expired":
        return or_(t.c.status == "expired", lapsed)
    if status in ("open", "partial"):
        return and_(t.c.status == status, not_(lapsed))
    return t.c.status == status  # type: ignore[no-any-return]


def quota_status_condition(t: Any, status: str, _head_time: int | None) -> ColumnElement[bool]:
    """``pending`` (not assessed), ``compliant`` or ``short`` (assessed, with a shortfall:
    the stored one, else the obligation not covered, as :func:`quota_row` reads it)."""
    if status == "pending":
        return t.c.assessed == false()  # type: ignore[no-any-return]
    if status not in ("short", "compliant"):
        return false()
    uncovered = t.c.obligation_wh - t.c.covered_wh
    shortfall = case(
        (t.c.shortfall_wh.is_not(None), t.c.shortfall_wh),
        (and_(t.c.obligation_wh.is_not(None), uncovered > 0), uncovered),
        else_=0,
    )
    return and_(t.c.assessed == true(), shortfall > 0 if status == "short" else shortfall == 0)


def _listing_row(row: dict[str, Any], head_time: int | None) -> None:
    row["status"] = listing_status(row, head_time)


def _quota_row(row: dict[str, Any], _head_time: int | None) -> None:
    row.update(quota_row(row))


TRADES = ListSpec(
    "trades",
    Trade,
    ("trade_id",),
    "created_time",
    ("seller", "buyer"),
    ("period", "region", "status", "participant", "from_time", "to_time"),
    ("formed", "dispatched", "rejected", "metered", "settled", "failed", "cancelled"),
)
LISTINGS = ListSpec(
    "listings",
    Listing,
    ("listing_id",),
    "created_time",
    ("maker",),
    ("period", "region", "status", "side", "participant", "from_time", "to_time"),
    ("open", "partial", "filled", "cancelled", "expired"),
    status_condition=listing_status_condition,
    decorate=_listing_row,
    chain_time=True,
)
REPORTS = ListSpec(
    "violations",
    Report,
    ("report_id",),
    "created_time",
    ("suspect", "reporter", "regulator"),
    ("period", "status", "participant", "from_time", "to_time"),
    ("pending", "answered", "confirmed", "dismissed", "expired"),
    period_range=("first_period", "last_period"),
)
PARTICIPANTS = ListSpec(
    "participants",
    Participant,
    ("address",),
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
    ("retirement_id",),
    "block_time",
    ("holder", "beneficiary"),
    ("period", "participant", "from_time", "to_time"),
)
BLOCKS = ListSpec("blocks", Block, ("number",), "timestamp", (), ("from_time", "to_time"))
#: Certificate tokens, newest first (a token id is a uint256, so the key is (block, id)).
CERTIFICATES = ListSpec(
    "certificates",
    CertificateToken,
    ("created_block", "token_id"),
    "created_time",
    ("generator",),
    ("period", "participant", "from_time", "to_time"),
    period_column="vintage",
)
QUOTAS = ListSpec(
    "quotas",
    Quota,
    ("period", "party"),
    None,
    ("party",),
    ("period", "status", "participant"),
    ("pending", "compliant", "short"),
    status_condition=quota_status_condition,
    decorate=_quota_row,
)
QUOTA_RULES = ListSpec("quota_rules", QuotaPeriod, ("period",), None, (), ("period",))
RATINGS = ListSpec(
    "ratings",
    Rating,
    ("id",),
    "block_time",
    ("rater", "ratee"),
    ("participant", "rater", "ratee", "from_time", "to_time"),
)


def conditions(spec: ListSpec, f: ListFilter, head_time: int | None) -> list[Any]:
    """The WHERE conditions of ``f`` on ``spec``'s table (filters it does not have ignored)."""
    t = spec.table
    has = spec.filters
    out: list[Any] = []
    if f.period is not None and "period" in has:
        if spec.period_range:
            lo, hi = spec.period_range
            out += [t.c[lo] <= f.period, t.c[hi] >= f.period]
        else:
            out.append(t.c[spec.period_column] == f.period)
    if f.region and "region" in has:
        out.append(t.c.region == f.region)
    if f.status and "status" in has:
        by_status = spec.status_condition
        out.append(by_status(t, f.status, head_time) if by_status else t.c.status == f.status)
    if f.side and "side" in has:
        out.append(t.c.side == f.side)
    if f.participant and "participant" in has:
        out.append(or_(*(func.lower(t.c[c]) == f.participant for c in spec.party_columns)))
    for column in ("rater", "ratee"):
        value = getattr(f, column)
        if value and column in has:
            out.append(func.lower(t.c[column]) == value)
    if spec.time_column and f.from_time is not None:
        out.append(t.c[spec.time_column] >= f.from_time)
    if spec.time_column and f.to_time is not None:
        out.append(t.c[spec.time_column] <= f.to_time)
    return out


def _select(spec: ListSpec, f: ListFilter, head_time: int | None) -> Select[Any]:
    query = select(spec.table)
    for cond in conditions(spec, f, head_time):
        query = query.where(cond)
    return query


@dataclass
class ListPage:
    """One page of a list, newest first, and the cursors of its neighbours."""

    rows: list[dict[str, Any]]
    older: str | None = None
    newer: str | None = None


def _fetch(conn: Connection, query: Select[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(query).mappings()]


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
    head_time = chain_head_time(conn) if spec.chain_time else None
    key = spec.key_expr()
    query = _select(spec, f, head_time)
    if after:
        query = query.where(key > spec.key_value(after))
        found = _fetch(conn, query.order_by(*spec.order(False, f)).limit(limit + 1))
        page = ListPage(found[:limit][::-1])
        if len(found) > limit:
            page.newer = spec.cursor_of(page.rows[0])
        if page.rows:
            page.older = spec.cursor_of(page.rows[-1])
    else:
        if before:
            query = query.where(key < spec.key_value(before))
        found = _fetch(conn, query.order_by(*spec.order(True, f)).limit(limit + 1))
        page = ListPage(found[:limit])
        if before and page.rows:
            first = spec.cursor_of(page.rows[0])
            newer = _select(spec, f, head_time).where(key > spec.key_value(first)).limit(1)
            if conn.execute(newer).first() is not None:
                page.newer = first
        if len(found) > limit:
            page.older = spec.cursor_of(page.rows[-1])
    if spec.decorate:
        for row in page.rows:
            spec.decorate(row, head_time)
    return page


def iter_rows(conn: Connection, spec: ListSpec, f: ListFilter) -> Iterator[dict[str, Any]]:
    """Every row matching ``f`` in key order, read in keyset chunks."""
    head_time = chain_head_time(conn) if spec.chain_time else None
    key = spec.key_expr()
    last: str | None = None
    while True:
        query = _select(spec, f, head_time)
        if last is not None:
            query = query.where(key > spec.key_value(last))
        rows = _fetch(conn, query.order_by(*spec.order(False, f)).limit(CSV_CHUNK))
        for row in rows:
            if spec.decorate:
                spec.decorate(row, head_time)
            yield row
        if len(rows) < CSV_CHUNK:
            return
        last = spec.cursor_of(rows[-1])


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
