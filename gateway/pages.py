"""The regulators' explorer: server-rendered HTML pages (Jinja2, inline SVG charts)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy import Connection, func, select

from gateway import svg
from gateway.auth import AUDIT
from gateway.decode import ROLE_BY_ID
from gateway.deps import AuditorRole, ConnDep, PublicRole
from gateway.paging import (
    CERTIFICATES,
    LISTINGS,
    QUOTAS,
    RATINGS,
    REPORTS,
    RETIREMENTS,
    TRADES,
    ListFilter,
    list_page,
)
from gateway.queries import (
    EventFilter,
    chain_head_time,
    checkpoint,
    counts,
    describe,
    event_counts,
    events_page,
    events_window,
    listing_status,
    market_series,
    report_detail,
    role_holders,
    trade_life,
    trade_meters,
    undispatched_trades,
)
from gateway.tables import (
    Block,
    Event,
    Participant,
    Trade,
    table_of,
)
from ledger.clients.registry import CREDIT_LEVELS
from ledger.units import fen_to_cny, rate_to_cny_per_mwh_text

TEMPLATES_DIR = FilePath(__file__).resolve().parent / "templates"
INT64 = 2**63 - 1
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
router = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])
#: Events of a participant's history shown on its page (the rest: ``/api/v1/events``).
PREVIEW = 50
#: Rows of each of a participant's lists shown on its page (the rest: the paged lists).
LIST_PREVIEW = 10


def _short(value: str) -> str:
    return value if len(value) <= 14 else f"{value[:8]}…{value[-4:]}"


def f_addr(value: Any) -> Markup:
    if not value:
        return Markup("–")
    v = str(value)
    return Markup('<a class="mono" href="/participants/{0}" title="{0}">{1}</a>').format(
        v, _short(v)
    )


def f_tx(value: Any) -> Markup:
    if not value:
        return Markup("–")
    return Markup('<a class="mono" href="/tx/{0}" title="{0}">{1}</a>').format(
        value, _short(str(value))
    )


def f_block(value: Any) -> Markup:
    if value is None:
        return Markup("–")
    return Markup('<a href="/blocks/{0}">{0}</a>').format(value)


def f_trade(value: Any) -> Markup:
    if value is None:
        return Markup("–")
    return Markup('<a href="/trades/{0}">#{0}</a>').format(value)


def f_time(value: Any) -> str:
    if value is None:
        return "–"
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%d %H:%M:%S")


#: The CLI's names (``ledger.clients.trading.TradeStatus``) of the projection's statuses.
TRADE_STATUS_NAMES = {"open": "formed"}


def f_trade_status(value: Any) -> str:
    """A trade's status as the CLI names it (a taken trade is "formed")."""
    return TRADE_STATUS_NAMES.get(str(value), str(value))


def f_isotime(value: Any) -> str:
    """Unix seconds as a ``datetime-local`` input value (UTC); empty for none."""
    if value is None:
        return ""
    return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M")


def f_num(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def f_mwh(value: Any) -> str:
    return "–" if value is None else f"{int(value) / 1e6:,.3f} MWh"


def f_yuan(value: Any) -> str:
    """Fen as CNY with 2 decimals (as the CLI prints them), thousands separated."""
    if value is None:
        return "–"
    whole, cents = fen_to_cny(int(value)).split(".")
    return f"{int(whole):,}.{cents} CNY"


def f_price(value: Any) -> str:
    """A rate in fen/MWh as CNY/MWh with 2 decimals."""
    return "–" if value is None else f_yuan(value).replace(" CNY", " CNY/MWh")


def f_credit(value: Any) -> str:
    """An on-chain credit level (0..8) by name, AAA..C."""
    if value is None:
        return "–"
    level = int(value)
    return CREDIT_LEVELS[level] if 0 <= level < len(CREDIT_LEVELS) else str(level)


def f_hash(value: Any) -> Markup:
    """A 32-byte hash as 0x hex (a text code, e.g. a model id, also by name)."""
    if not value:
        return Markup("–")
    text = str(value).lower()
    if not text.startswith("0x"):
        text = "0x" + text
    name = bytes_name(text)
    if name:
        return Markup('{0} <span class="mono" title="{1}">({2})</span>').format(
            name, text, _short(text)
        )
    return Markup('<span class="mono" title="{0}">{1}</span>').format(text, _short(text))


def bytes_name(text: str) -> str | None:
    """The ASCII name a bytes32 code holds (``b32("wash-trading")``), if it is one."""
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        return None
    name = raw.rstrip(b"\0")
    if name and all(32 < c < 127 for c in name) and len(raw) == 32:
        return name.decode()
    return None


def f_bool(value: Any) -> str:
    return "–" if value is None else ("yes" if value else "no")


def f_describe(ev: dict[str, Any]) -> Markup:
    """An event as one line, with addresses linked."""
    text = str(escape(describe(ev)))
    return Markup(  # noqa: S704 - the text is escaped, the links are built by f_addr
        re.sub(
            r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])",
            lambda m: str(f_addr(m.group(0))),
            text,
        )
    )


for _name, _fn in {
    "addr": f_addr,
    "tx": f_tx,
    "block": f_block,
    "trade": f_trade,
    "time": f_time,
    "isotime": f_isotime,
    "trade_status": f_trade_status,
    "num": f_num,
    "mwh": f_mwh,
    "yuan": f_yuan,
    "price": f_price,
    "credit": f_credit,
    "hash": f_hash,
    "yesno": f_bool,
    "describe": f_describe,
    "cny_mwh": lambda rate: "–" if rate is None else rate_to_cny_per_mwh_text(rate),
}.items():
    templates.env.filters[_name] = _fn
templates.env.globals["ROLE_BY_ID"] = ROLE_BY_ID


class Page:
    """Renders one request's page: the template with the indexer's checkpoint and the
    caller's role. Every page admits at least its :data:`PageDep`'s roles (everyone; an
    unknown key answers 401 before anything else); the decoded event stream is shown to
    the roles of ``gateway.auth.AUDIT`` only (README "Web access")."""

    def __init__(self, request: Request, conn: ConnDep, role: PublicRole) -> None:
        self.request = request
        self.conn = conn
        self.role = role

    @property
    def audit(self) -> bool:
        """May the caller read decoded events (the auditors' ``/api/v1/events``)?"""
        return self.role in AUDIT.roles

    def render(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        started = time.perf_counter()
        cp = checkpoint(self.conn)
        context.setdefault("title", name.removesuffix(".html").replace("_", " ").title())
        return templates.TemplateResponse(
            self.request,
            name,
            {"checkpoint": cp, "role": self.role.value, "started": started, **context},
            status_code=status_code,
        )


PageDep = Annotated[Page, Depends()]


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": f"{status_code}", "detail": detail, "checkpoint": None, "role": "public"},
        status_code=status_code,
    )


@router.get("/", summary="Market overview")
def overview(page: PageDep, conn: ConnDep) -> HTMLResponse:
    series = market_series(conn)
    price_cny: svg.Series = {
        region: [(period, fen / 100) for period, fen in points]
        for region, points in series["price"].items()
    }
    charts = {
        "volume": svg.bar_chart(
            series["volume_mwh"], "Traded energy by period and region", "MWh", "period"
        ),
        "price": svg.line_chart(
            price_cny, "Energy-weighted price by period and region", "CNY/MWh", "period"
        ),
        "reputation": svg.histogram(
            series["reputation"], "Reputation distribution", x_title="reputation score"
        ),
        "events": svg.hbar_chart(
            [(k, float(v)) for k, v in event_counts(conn)[:12]], "Indexed events by type", "events"
        ),
    }
    recent = events_page(conn, EventFilter(), 15, newest_first=True)[0] if page.audit else None
    return page.render(
        "overview.html",
        title="Market overview",
        counts=counts(conn),
        undispatched=undispatched_trades(conn),
        charts=charts,
        recent=recent,
        roles=role_holders(conn),
    )


@router.get("/participants/{address}", summary="One participant or address")
def participant_page(
    page: PageDep, conn: ConnDep, address: Annotated[str, Path(pattern=ADDRESS)]
) -> HTMLResponse:
    t = table_of(Participant)
    row = (
        conn.execute(select(t).where(func.lower(t.c.address) == address.lower())).mappings().first()
    )
    history, more_history = (
        events_page(conn, EventFilter(participant=address), PREVIEW, newest_first=True)
        if page.audit
        else (None, None)
    )
    held = role_holders(conn, address)
    return page.render(
        "participant.html",
        title=f"Address {address}",
        address=address,
        participant=dict(row) if row else None,
        roles=held,
        history=history,
        more_history=more_history is not None,
        lists=participant_lists(conn, address.lower()),
    )


#: The participant page's lists: (heading, list, filter field, path of its paged list).
PARTICIPANT_LISTS = (
    ("Trades", TRADES, "participant", "/trades"),
    ("Listings", LISTINGS, "participant", "/listings"),
    ("Violation reports as accused, reporter or regulator", REPORTS, "participant", "/violations"),
    ("Ratings received", RATINGS, "ratee", "/ratings"),
    ("Ratings given", RATINGS, "rater", "/ratings"),
    ("Renewable quotas", QUOTAS, "participant", "/certificates/quotas"),
    ("Certificate tokens generated", CERTIFICATES, "participant", "/certificates"),
    ("Certificate retirements as holder or beneficiary", RETIREMENTS, "participant",
     "/certificates/retirements"),
)  # fmt: skip


def participant_lists(conn: Connection, address: str) -> list[dict[str, Any]]:
    """The first :data:`LIST_PREVIEW` rows of each of an address's lists, newest first,
    with the query of its paged list (the older rows)."""
    out = []
    for heading, spec, field, path in PARTICIPANT_LISTS:
        f = ListFilter(
            participant=address if field == "participant" else None,
            rater=address if field == "rater" else None,
            ratee=address if field == "ratee" else None,
        )
        out.append(
            {
                "heading": heading,
                "name": spec.name,
                "path": path,
                "query": f.query_items(),
                "paging": list_page(conn, spec, f, limit=LIST_PREVIEW),
            }
        )
    return out


@router.get("/trades/{trade_id}", summary="The whole life of one trade")
def trade_page(
    page: PageDep, conn: ConnDep, trade_id: Annotated[int, Path(ge=0, le=INT64)]
) -> HTMLResponse:
    life = trade_life(conn, trade_id)
    if life is None:
        raise HTTPException(404, f"no trade #{trade_id} is indexed")
    meters = trade_meters(conn, life["trade"], life["events"])
    if life["listing"] is not None:
        life["listing"]["status"] = listing_status(life["listing"], chain_head_time(conn))
    return page.render("trade.html", title=f"Trade #{trade_id}", meters=meters, **life)


@router.get("/violations/{report_id}", summary="One violation report: evidence and ruling")
def violation_page(
    page: PageDep, conn: ConnDep, report_id: Annotated[int, Path(ge=0, le=INT64)]
) -> HTMLResponse:
    detail = report_detail(conn, report_id)
    if detail is None:
        raise HTTPException(404, f"no violation report #{report_id} is indexed")
    return page.render("violation.html", title=f"Violation report #{report_id}", **detail)


#: Events per page of a block or a transaction (pages: ``?before=`` / ``?after=`` cursors).
EVENTS_PAGE = 200
EventCursor_q = Annotated[
    str | None, Query(max_length=200, description="An event cursor of the page's links.")
]


@router.get("/blocks/{number}", summary="One block, decoded")
def block_page(
    _role: AuditorRole,
    page: PageDep,
    conn: ConnDep,
    number: Annotated[int, Path(ge=0, le=INT64)],
    before: EventCursor_q = None,
    after: EventCursor_q = None,
) -> HTMLResponse:
    t = table_of(Block)
    row = conn.execute(select(t).where(t.c.number == number)).mappings().first()
    if row is None:
        raise HTTPException(404, f"block {number} has no indexed events (or is not indexed yet)")
    f = EventFilter(from_block=number, to_block=number)
    window = events_window(conn, f, EVENTS_PAGE, newest_first=False, before=before, after=after)
    return page.render(
        "block.html", title=f"Block {number}", block=dict(row), events=window.items, window=window
    )


@router.get("/tx/{tx_hash}", summary="One transaction, decoded")
def tx_page(
    _role: AuditorRole,
    page: PageDep,
    conn: ConnDep,
    tx_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")],
    before: EventCursor_q = None,
    after: EventCursor_q = None,
) -> HTMLResponse:
    f = EventFilter(tx_hash=tx_hash)
    window = events_window(conn, f, EVENTS_PAGE, newest_first=False, before=before, after=after)
    if not window.items:
        raise HTTPException(404, f"transaction {tx_hash} emitted no indexed event")
    return page.render(
        "tx.html", title="Transaction", tx_hash=tx_hash.lower(), events=window.items, window=window
    )


def search_hits(conn: Connection, q: str) -> list[tuple[str, str]]:
    """(label, link) of everything ``q`` names: an address, a trade id, a tx or block hash."""
    q = q.strip()
    hits: list[tuple[str, str]] = []
    e = table_of(Event)
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", q):
        hits.append((f"address {q}", f"/participants/{q}"))
    elif re.fullmatch(r"0x[0-9a-fA-F]{64}", q):
        low = q.lower()
        if conn.execute(select(e.c.id).where(e.c.tx_hash == low).limit(1)).first():
            hits.append((f"transaction {low}", f"/tx/{low}"))
        b = table_of(Block)
        n = conn.execute(select(b.c.number).where(b.c.hash == low)).scalar()
        if n is not None:
            hits.append((f"block {n}", f"/blocks/{n}"))
    elif re.fullmatch(r"[0-9]{1,18}", q):  # ASCII digits only ("²".isdigit() is true)
        number = int(q)
        t = table_of(Trade)
        if conn.execute(select(t.c.trade_id).where(t.c.trade_id == number)).first():
            hits.append((f"trade #{number}", f"/trades/{number}"))
        b = table_of(Block)
        if conn.execute(select(b.c.number).where(b.c.number == number)).first():
            hits.append((f"block {number}", f"/blocks/{number}"))
    if len(q) >= 2:
        hits += participants_named(conn, q)
    return hits


def participants_named(conn: Connection, q: str, limit: int = 20) -> list[tuple[str, str]]:
    """(label, link) of participants whose display name contains ``q`` (any case)."""
    p = table_of(Participant)
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = conn.execute(
        select(p.c.address, p.c.display_name)
        .where(func.lower(p.c.display_name).like(f"%{escaped}%", escape="\\"))
        .order_by(p.c.display_name, p.c.address)
        .limit(limit)
    ).all()
    return [(f"participant {name} ({addr})", f"/participants/{addr}") for addr, name in rows]


@router.get("/search", summary="Search by address, trade id, transaction or block")
def search_page(
    page: PageDep, conn: ConnDep, q: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    hits = search_hits(conn, q) if q else []
    return page.render("search.html", title="Search", q=q, hits=hits)
