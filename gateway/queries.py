"""Read-side queries shared by the explorer pages and the history API."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select, tuple_

from gateway import summary
from gateway.decode import ROLE_BY_ID
from gateway.tables import (
    Block,
    CertificateRetirement,
    CertificateToken,
    Checkpoint,
    Event,
    EventRef,
    Listing,
    MeterAnchor,
    Participant,
    Quota,
    Rating,
    Report,
    RoleChange,
    Settlement,
    Trade,
    table_of,
)
from ledger.clients.registry import CREDIT_LEVELS
from ledger.errors import ValidationError
from ledger.units import fen_to_cny, wh_to_mwh_trimmed

E = table_of(Event)
R = table_of(EventRef)
B = table_of(Block)


@dataclass(frozen=True)
class EventFilter:
    """Filters of the history API (all optional, combined with AND)."""

    participant: str | None = None
    event: str | None = None
    contract: str | None = None
    tx_hash: str | None = None
    ref_kind: str | None = None
    ref_value: str | None = None
    from_block: int | None = None
    to_block: int | None = None
    from_time: int | None = None
    to_time: int | None = None
    arg: tuple[str, str] | None = None
    """(name, value): events whose top-level argument ``name`` is ``value`` (decimal text
    for integers), matched in the stored JSON."""


def encode_cursor(block_number: int, log_index: int) -> str:
    return base64.urlsafe_b64encode(f"{block_number}:{log_index}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        block, log = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        position = (int(block), int(log))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise ValidationError("cursor: not a cursor this API returned") from exc
    if not all(0 <= v < 2**63 for v in position):
        raise ValidationError("cursor: out of range")
    return position


def _filtered(f: EventFilter) -> Select[Any]:
    query = select(E)
    if f.participant:
        query = query.where(
            E.c.id.in_(
                select(R.c.event_id).where(
                    R.c.kind == "address", R.c.value == f.participant.lower()
                )
            )
        )
    if f.ref_kind and f.ref_value is not None:
        query = query.where(
            E.c.id.in_(select(R.c.event_id).where(R.c.kind == f.ref_kind, R.c.value == f.ref_value))
        )
    if f.event:
        query = query.where(E.c.event == f.event)
    if f.contract:
        query = query.where(E.c.contract == f.contract)
    if f.tx_hash:
        query = query.where(E.c.tx_hash == f.tx_hash.lower())
    if f.from_block is not None:
        query = query.where(E.c.block_number >= f.from_block)
    if f.to_block is not None:
        query = query.where(E.c.block_number <= f.to_block)
    if f.from_time is not None:
        query = query.where(E.c.block_time >= f.from_time)
    if f.to_time is not None:
        query = query.where(E.c.block_time <= f.to_time)
    if f.arg is not None:
        # ``args`` is JSON with sorted keys, no spaces and integers as strings.
        pair = json.dumps(dict([f.arg]), separators=(",", ":"))[1:-1]
        query = query.where(E.c.args.contains(pair, autoescape=True))
    return query


def event_dict(row: Any) -> dict[str, Any]:
    data = dict(row)
    data["args"] = json.loads(data["args"])
    data.pop("id", None)
    return data


def events_page(
    conn: Connection,
    f: EventFilter,
    limit: int,
    cursor: str | None = None,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of events in chain order (or newest first) and the cursor of the next page."""
    query = _filtered(f)
    key = tuple_(E.c.block_number, E.c.log_index)
    if cursor:
        after = tuple_(*decode_cursor(cursor))
        query = query.where(key < after if newest_first else key > after)
    if newest_first:
        query = query.order_by(E.c.block_number.desc(), E.c.log_index.desc())
    else:
        query = query.order_by(E.c.block_number, E.c.log_index)
    rows = conn.execute(query.limit(limit + 1)).mappings().all()
    items = [event_dict(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last["block_number"], last["log_index"])
    return items, next_cursor


def iter_events(conn: Connection, f: EventFilter, page: int = 2000) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        items, cursor = events_page(conn, f, page, cursor)
        yield from items
        if cursor is None:
            return


def checkpoint(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(table_of(Checkpoint))).mappings().first()
    return dict(row) if row else None


#: The overview's row counts: name -> table.
COUNTED = {
    "events": E,
    "blocks": B,
    "participants": table_of(Participant),
    "listings": table_of(Listing),
    "trades": table_of(Trade),
    "settlements": table_of(Settlement),
    "ratings": table_of(Rating),
    "reports": table_of(Report),
    "certificate_tokens": table_of(CertificateToken),
    "certificate_retirements": table_of(CertificateRetirement),
    "quotas": table_of(Quota),
    "meter_anchors": table_of(MeterAnchor),
    "role_changes": table_of(RoleChange),
}


def counts(conn: Connection) -> dict[str, int]:
    """Rows of the main tables (kept by the indexer in ``gw_row_counts``, not counted here)."""
    rows = summary.row_counts(conn)
    return {name: rows.get(t.name, 0) for name, t in COUNTED.items()}


def undispatched_trades(conn: Connection) -> int:
    """Trades closed without a dispatch result (TradeCloser's TradeClosedUndispatched):
    counted against the dispatch center, not the parties (docs/defaults.md)."""
    return sum(
        n
        for _contract, event, n in summary.event_counts(conn)
        if event == "TradeClosedUndispatched"
    )


def event_counts(conn: Connection) -> list[tuple[str, int]]:
    """("Contract.Event", indexed events), the most frequent first (from ``gw_event_counts``)."""
    return [(f"{c}.{e}", n) for c, e, n in summary.event_counts(conn)]


def role_holders(conn: Connection, account: str | None = None) -> list[dict[str, Any]]:
    """Current role members: the last change per (role, account) that is a grant."""
    t = table_of(RoleChange)
    query = select(t).order_by(t.c.block_number, t.c.log_index)
    if account:
        query = query.where(func.lower(t.c.account) == account.lower())
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in conn.execute(query).mappings():
        latest[(row["role"], row["account"])] = dict(row)
    return sorted(
        (r for r in latest.values() if r["granted"]), key=lambda r: (r["role_name"], r["account"])
    )


def table_rows(
    conn: Connection,
    model: Any,
    order: Any,
    limit: int,
    where: Any = None,
    after: Any = None,
    after_value: Any = None,
) -> list[dict[str, Any]]:
    t = model.__table__
    query = select(t)
    if where is not None:
        query = query.where(where)
    if after is not None and after_value is not None:
        query = query.where(after > after_value)
    return [dict(r) for r in conn.execute(query.order_by(order).limit(limit)).mappings()]


def trades_filter(participant: str | None, status: str | None, period: int | None) -> Any:
    t = table_of(Trade)
    conds = []
    if participant:
        p = participant.lower()
        conds.append(or_(func.lower(t.c.seller) == p, func.lower(t.c.buyer) == p))
    if status:
        conds.append(t.c.status == status)
    if period is not None:
        conds.append(t.c.period == period)
    return and_(*conds) if conds else None


def trade_life(conn: Connection, trade_id: int) -> dict[str, Any] | None:
    """Everything about one trade: the trade, its listing, events, settlements, ratings, ..."""
    t = table_of(Trade)
    trade = conn.execute(select(t).where(t.c.trade_id == trade_id)).mappings().first()
    if trade is None:
        return None
    trade_d = dict(trade)
    listing = None
    if trade_d["listing_id"] is not None:
        lt = table_of(Listing)
        row = conn.execute(select(lt).where(lt.c.listing_id == trade_d["listing_id"])).mappings()
        listing = next(iter(row), None)
    events, _ = events_page(
        conn, EventFilter(ref_kind="trade", ref_value=str(trade_id)), limit=1000
    )

    def rows(model: Any) -> list[dict[str, Any]]:
        mt = model.__table__
        return [
            dict(r) for r in conn.execute(select(mt).where(mt.c.trade_id == trade_id)).mappings()
        ]

    return {
        "trade": trade_d,
        "listing": dict(listing) if listing else None,
        "events": events,
        "settlements": rows(Settlement),
        "ratings": rows(Rating),
        "certificates": rows(CertificateRetirement),
        "meter_anchors": rows(MeterAnchor),
    }


def market_series(conn: Connection) -> dict[str, Any]:
    """Volumes and energy-weighted prices by period and region (from ``gw_market_stats``),
    reputation histogram."""
    volume: dict[str, list[tuple[str, float]]] = {}
    price: dict[str, list[tuple[str, float]]] = {}
    for period, region, energy, value in summary.market_rows(conn):
        name = region or "?"
        volume.setdefault(name, []).append((str(period), float(energy) / 1e6))
        if energy:
            price.setdefault(name, []).append((str(period), float(value) / float(energy)))
    p = table_of(Participant)
    reps = [
        int(r)
        for r in conn.execute(select(p.c.reputation).where(p.c.reputation.is_not(None))).scalars()
    ]
    return {"volume_mwh": volume, "price": price, "reputation": reps}


def quota_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ``gw_quotas`` row with its shortfall read and ``compliant`` (None until assessed)."""
    d = dict(row)
    if d["shortfall_wh"] is None and d["obligation_wh"] is not None:
        d["shortfall_wh"] = max(0, d["obligation_wh"] - d["covered_wh"])
    d["compliant"] = (d["shortfall_wh"] or 0) == 0 if d["assessed"] else None
    return d


#: DispatchResults' reason codes (contracts/interfaces/IDispatchResults.sol), by name.
DISPATCH_REASONS = ("executed in full", "corridor limit", "no path", "other")
#: Arguments holding unix seconds.
TIME_ARGS = frozenset({"expiresAt", "ruleBy", "deadline", "takingClosesAt", "at", "until"})


def arg_text(event: str, key: str, value: Any) -> str:
    """An event argument in the CLI's units and names: MWh, CNY (2 decimals), CNY/MWh,
    UTC times, credit levels AAA..C, enums, reason codes and bytes32 codes by name."""
    text = str(value)
    if key == "role" and value in ROLE_BY_ID:
        return ROLE_BY_ID[value]
    integer = text.lstrip("-").isdigit() and text.isascii()
    if integer and key.endswith("FenPerMwh"):
        return f"{fen_to_cny(int(text))} CNY/MWh"
    if integer and key.endswith("Fen"):
        return f"{fen_to_cny(int(text))} CNY"
    if integer and key.endswith("Wh"):
        return f"{wh_to_mwh_trimmed(int(text))} MWh"
    if integer and key in TIME_ARGS:
        return datetime.fromtimestamp(int(text), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if integer and key == "reasonCode" and int(text) < len(DISPATCH_REASONS):
        return DISPATCH_REASONS[int(text)]
    if integer and key == "side" and int(text) < 2:
        return ("sell", "buy")[int(text)]
    if integer and key in ("level", "creditLevel") and int(text) < len(CREDIT_LEVELS):
        return CREDIT_LEVELS[int(text)]
    if isinstance(value, str) and len(value) == 66 and value.startswith("0x"):
        raw = bytes.fromhex(value[2:]).rstrip(b"\0")
        if raw and all(32 < c < 127 for c in raw):
            return raw.decode()
    return text


def describe(ev: dict[str, Any]) -> str:
    """One line in domain terms for an event row."""
    a = ev["args"]
    name = ev["event"]
    if name in ("RoleGranted", "RoleRevoked"):
        role = ROLE_BY_ID.get(a.get("role", ""), a.get("role", "?"))
        verb = "granted to" if name == "RoleGranted" else "revoked from"
        return f"role {role} {verb} {a.get('account')} by {a.get('sender')}"
    parts = [f"{key}={arg_text(name, key, value)}" for key, value in a.items()]
    return f"{name}(" + ", ".join(parts) + ")"


def listing_status(listing: dict[str, Any], head_time: int | None) -> str:
    """A listing's status in chain time: an open or partly taken listing whose expiry is at
    or before the chain head's timestamp is ``expired``."""
    status = str(listing.get("status"))
    expires = listing.get("expires_at")
    lapsed = expires is not None and head_time is not None and int(expires) <= head_time
    return "expired" if lapsed and status in ("open", "partial") else status


def chain_head_time(conn: Connection) -> int | None:
    """The timestamp of the indexed chain head (the newest indexed block at or below the
    checkpoint): the "now" of chain time against which expiries are read."""
    cp = conn.execute(select(table_of(Checkpoint).c.block_number)).scalar()
    query = select(B.c.timestamp).order_by(B.c.number.desc()).limit(1)
    if cp is not None:
        query = query.where(B.c.number <= cp)
    value = conn.execute(query).scalar()
    return int(value) if value is not None else None


def _node_events(conn: Connection, node: str, event: str, period: int) -> list[dict[str, Any]]:
    """``event``s naming ``node`` whose ``period`` argument is ``period``, in chain order."""
    f = EventFilter(participant=node, event=event, arg=("period", str(period)))
    items, _ = events_page(conn, f, 1000)
    return [e for e in items if str(e["args"].get("period")) == str(period)]


def trade_meters(
    conn: Connection, trade: dict[str, Any], events: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The metered side of a trade: for the seller (delivered = its metered export) and the
    buyer (consumed = its metered import) in the trade's period, the recorded node total,
    the deviation settled on it, and the meter-proof link; from MeterOracle's
    NodeTotalRecorded and SettlementEngine's DeviationSettled (TradeMetered where a chain
    reports a trade's metering directly). Dispatch-executed energy is not metered energy."""
    period = trade.get("period")
    metered = {}
    if events is None:  # the trade's events (trade_life has them)
        f = EventFilter(ref_kind="trade", ref_value=str(trade["trade_id"]))
        events = events_page(conn, f, 1000)[0]
    for e in events:
        if e["event"] == "TradeMetered":
            metered = e["args"]
    out = []
    sides = (
        ("seller", "delivered", "exportWh", "deliveredWh"),
        ("buyer", "consumed", "importWh", "consumedWh"),
    )
    for side, what, direction, trade_arg in sides:
        node = trade.get(side)
        if not node or period is None:
            continue
        totals = _node_events(conn, node, "NodeTotalRecorded", int(period))
        deviations = _node_events(conn, node, "DeviationSettled", int(period))
        total = totals[-1]["args"] if totals else None
        value = total.get(direction) if total else metered.get(trade_arg)
        dev = deviations[-1]["args"] if deviations else None
        out.append(
            {
                "side": side,
                "what": what,
                "node": node,
                "period": int(period),
                "metered_wh": int(value) if value is not None else None,
                "import_wh": int(total["importWh"]) if total else None,
                "export_wh": int(total["exportWh"]) if total else None,
                "readings_root": total.get("readingsRoot") if total else None,
                "deviation_wh": int(dev["deviationWh"]) if dev and "deviationWh" in dev else None,
                "deviation_fen": int(dev["amountFen"]) if dev and "amountFen" in dev else None,
                "proof": f"/api/v1/proofs/meter/{node}/{period}",
            }
        )
    return out


def report_detail(conn: Connection, report_id: int) -> dict[str, Any] | None:
    """A violation report with its evidence: the report row, its events (filing, response,
    ruling, announcement), the accused's named trades and the model's registration."""
    rt = table_of(Report)
    row = conn.execute(select(rt).where(rt.c.report_id == report_id)).mappings().first()
    if row is None:
        return None
    report = dict(row)
    events, _ = events_page(
        conn, EventFilter(ref_kind="report", ref_value=str(report_id)), limit=1000
    )
    filed: dict[str, Any] = next(
        (e["args"] for e in events if e["event"] == "ViolationReported"), {}
    )
    ids = [int(x) for x in (report["trade_ids"] or "").split(",") if x.strip().isdigit()]
    t = table_of(Trade)
    trades = (
        [dict(r) for r in conn.execute(select(t).where(t.c.trade_id.in_(ids))).mappings()]
        if ids
        else []
    )
    model_id = filed.get("modelId")
    model = None
    if model_id:
        for e in events_page(conn, EventFilter(event="ModelRegistered"), 1000)[0]:
            if str(e["args"].get("modelId", "")).lower() == str(model_id).lower():
                model = e["args"]
    return {
        "report": report,
        "filed": filed,
        "model_id": model_id,
        "model": model,
        "trades": trades,
        "events": events,
    }


@dataclass
class EventWindow:
    """A page of events and the cursors of its neighbours in chain order: ``before`` reads
    the events earlier than this page, ``after`` the later ones (None: there are none)."""

    items: list[dict[str, Any]]
    before: str | None = None
    after: str | None = None


def _cursor_of(item: dict[str, Any]) -> str:
    return encode_cursor(item["block_number"], item["log_index"])


def events_window(
    conn: Connection,
    f: EventFilter,
    limit: int,
    *,
    newest_first: bool,
    before: str | None = None,
    after: str | None = None,
) -> EventWindow:
    """The page of events just before ``before`` or just after ``after`` (else the first
    page of the display order), shown newest first or in chain order."""
    if after or (not before and not newest_first):
        items, more = events_page(conn, f, limit, after, newest_first=False)
        window = EventWindow(items, after=more)
        if after and items:
            window.before = _cursor_of(items[0])
        if newest_first:
            items.reverse()
        return window
    items, more = events_page(conn, f, limit, before, newest_first=True)
    window = EventWindow(items, before=more)
    if before and items:
        window.after = _cursor_of(items[0])
    if not newest_first:
        items.reverse()
    return window
