"""The history API under ``/api/v1`` (JSON, CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Connection, func, select

from gateway.deps import (
    AuditorRole,
    ConnDep,
    EngineDep,
    PublicRole,
    SettingsDep,
    StateDep,
)
from gateway.queries import (
    EventFilter,
    R,
    checkpoint,
    counts,
    events_page,
    iter_events,
    role_holders,
    table_rows,
    trade_life,
    trades_filter,
)
from gateway.tables import Participant, Trade, table_of
from gateway.verify import VerifyReport, verify
from ledger.display import credit_level_name
from ledger.settings import Settings

INT64 = 2**63 - 1
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
TX_HASH = r"^0x[0-9a-fA-F]{64}$"


class ErrorOut(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad cursor or filter."},
    401: {"model": ErrorOut, "description": "Unknown API key."},
    403: {"model": ErrorOut, "description": "The key's role is too low."},
    404: {"model": ErrorOut, "description": "Not found."},
    405: {"model": ErrorOut, "description": "The gateway is read-only."},
    429: {"model": ErrorOut, "description": "Rate limit exceeded (see Retry-After)."},
    503: {"model": ErrorOut, "description": "The chain or database is unavailable."},
}

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["history"])

Participant_q = Annotated[
    str | None, Query(pattern=ADDRESS, description="Address appearing in the event's arguments.")
]
Block_q = Annotated[int | None, Query(ge=0, le=INT64)]
Time_q = Annotated[int | None, Query(ge=0, le=INT64, description="Unix seconds (block time).")]
Name_q = Annotated[str | None, Query(max_length=96, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class EventOut(BaseModel):
    block_number: int
    block_hash: str
    block_time: int = Field(description="Unix seconds.")
    tx_hash: str
    tx_index: int
    log_index: int
    contract: str
    address: str
    event: str
    args: dict[str, Any] = Field(description="Decoded arguments; integers as decimal strings.")


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    limit: int


class StatusOut(BaseModel):
    checkpoint_block: int | None
    checkpoint_hash: str | None
    chain_id: int | None
    counts: dict[str, int]


class RoleHolderOut(BaseModel):
    role: str
    role_name: str
    account: str
    block_number: int
    tx_hash: str


class ParticipantOut(BaseModel):
    address: str
    display_name: str | None = None
    kind: str | None
    region: str | None
    status: str
    bond_fen: int | None
    #: ``AAA`` .. ``C`` (the chain's level 0 .. 8, by name, as everywhere).
    credit_level: str | None
    reputation: int | None
    registered_block: int
    registered_time: int
    block_number: int
    tx_hash: str

    @field_validator("credit_level", mode="before")
    @classmethod
    def _level_by_name(cls, value: object) -> object:
        return credit_level_name(value) if isinstance(value, int) else value


class ParticipantPage(BaseModel):
    items: list[ParticipantOut]
    next_cursor: str | None


class ParticipantDetail(BaseModel):
    address: str
    participant: ParticipantOut | None
    roles: list[RoleHolderOut]
    event_count: int


class TradeOut(BaseModel):
    trade_id: int
    listing_id: int | None
    seller: str | None
    buyer: str | None
    energy_wh: int | None
    price_fen_per_mwh: int | None
    period: int | None
    region: str | None
    prepayment_fen: int | None
    status: str
    dispatch_accepted: bool | None
    dispatch_reason: str | None
    delivered_wh: int | None
    consumed_wh: int | None
    transmission_fee_fen: int | None
    deviation_fen: int | None
    paid_to_seller_fen: int | None
    refund_fen: int | None
    created_block: int
    created_time: int
    tx_hash: str
    block_number: int


class TradePage(BaseModel):
    items: list[TradeOut]
    next_cursor: str | None


class TradeLifeOut(BaseModel):
    trade: TradeOut
    listing: dict[str, Any] | None
    events: list[EventOut]
    settlements: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    certificates: list[dict[str, Any]]
    meter_anchors: list[dict[str, Any]]


def event_filter(
    participant: Participant_q = None,
    event: Name_q = None,
    contract: Name_q = None,
    from_block: Block_q = None,
    to_block: Block_q = None,
    from_time: Time_q = None,
    to_time: Time_q = None,
) -> EventFilter:
    """The filter of the events endpoints, from their query parameters."""
    return EventFilter(
        participant=participant,
        event=event,
        contract=contract,
        from_block=from_block,
        to_block=to_block,
        from_time=from_time,
        to_time=to_time,
    )


EventFilterDep = Annotated[EventFilter, Depends(event_filter)]


def event_paging(
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[
        int, Query(ge=1, description="Capped at GRIDLEDGER_GATEWAY_MAX_PAGE_SIZE.")
    ] = 100,
) -> tuple[str | None, int]:
    """(cursor, limit) of the events endpoint."""
    return cursor, limit


def _keyset_page(
    conn: Connection,
    settings: Settings,
    model: Any,
    key: Any,
    where: Any,
    cursor: Any,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` rows (capped at the page size) after ``cursor`` in ``key`` order, and
    whether more follow."""
    limit = min(limit, settings.gateway_max_page_size)
    rows = table_rows(conn, model, key, limit + 1, where=where, after=key, after_value=cursor)
    return rows[:limit], len(rows) > limit


@router.get("/status", response_model=StatusOut, summary="Indexer checkpoint and row counts")
def status(_role: PublicRole, conn: ConnDep) -> StatusOut:
    cp = checkpoint(conn)
    return StatusOut(
        checkpoint_block=cp["block_number"] if cp else None,
        checkpoint_hash=cp["block_hash"] if cp else None,
        chain_id=cp["chain_id"] if cp else None,
        counts=counts(conn),
    )


@router.get("/events", response_model=EventPage, summary="Every indexed event, filtered")
def events(
    _role: AuditorRole,
    conn: ConnDep,
    settings: SettingsDep,
    f: EventFilterDep,
    paging: Annotated[tuple[str | None, int], Depends(event_paging)],
) -> EventPage:
    cursor, limit = paging
    limit = min(limit, settings.gateway_max_page_size)
    items, next_cursor = events_page(conn, f, limit, cursor)
    return EventPage(
        items=[EventOut.model_validate(i) for i in items], next_cursor=next_cursor, limit=limit
    )


CSV_COLUMNS = (
    "block_number",
    "block_time",
    "block_hash",
    "tx_hash",
    "log_index",
    "contract",
    "address",
    "event",
    "args",
)


@router.get(
    "/events.csv",
    summary="The same events as CSV (all pages)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def events_csv(
    _role: AuditorRole,
    engine: EngineDep,
    f: EventFilterDep,
) -> StreamingResponse:
    def rows() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(CSV_COLUMNS)
        with engine.connect() as conn:
            for n, item in enumerate(iter_events(conn, f)):
                item["args"] = json.dumps(item["args"], sort_keys=True)
                writer.writerow([item[c] for c in CSV_COLUMNS])
                if n % 500 == 0:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="gridledger-events.csv"'},
    )


@router.get("/roles", response_model=list[RoleHolderOut], summary="Current role holders")
def roles(_role: PublicRole, conn: ConnDep) -> list[RoleHolderOut]:
    return [RoleHolderOut.model_validate(r) for r in role_holders(conn)]


@router.get("/participants", response_model=ParticipantPage, summary="Market nodes")
def participants(
    _role: PublicRole,
    conn: ConnDep,
    settings: SettingsDep,
    status: Name_q = None,
    cursor: Annotated[str | None, Query(pattern=ADDRESS)] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> ParticipantPage:
    t = table_of(Participant)
    where = (t.c.status == status) if status else None
    rows, more = _keyset_page(conn, settings, Participant, t.c.address, where, cursor, limit)
    return ParticipantPage(
        items=[ParticipantOut.model_validate(r) for r in rows],
        next_cursor=rows[-1]["address"] if more else None,
    )


@router.get("/participants/{address}", response_model=ParticipantDetail, summary="One address")
def participant(
    _role: PublicRole,
    conn: ConnDep,
    address: Annotated[str, Path(pattern=ADDRESS)],
) -> ParticipantDetail:
    t = table_of(Participant)
    row = (
        conn.execute(select(t).where(func.lower(t.c.address) == address.lower())).mappings().first()
    )
    held = role_holders(conn, address)
    n = conn.execute(
        select(func.count())
        .select_from(R)
        .where(R.c.kind == "address", R.c.value == address.lower())
    ).scalar_one()
    if row is None and not held and not n:
        raise HTTPException(404, f"nothing indexed about {address}")
    return ParticipantDetail(
        address=address,
        participant=ParticipantOut.model_validate(dict(row)) if row else None,
        roles=[RoleHolderOut.model_validate(r) for r in held],
        event_count=int(n),
    )


@router.get("/trades", response_model=TradePage, summary="Trades")
def trades(
    _role: PublicRole,
    conn: ConnDep,
    settings: SettingsDep,
    participant: Annotated[
        str | None, Query(pattern=ADDRESS, description="Seller or buyer.")
    ] = None,
    status: Name_q = None,
    period: Block_q = None,
    cursor: Annotated[int | None, Query(ge=0, le=INT64)] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> TradePage:
    t = table_of(Trade)
    where = trades_filter(participant, status, period)
    rows, more = _keyset_page(conn, settings, Trade, t.c.trade_id, where, cursor, limit)
    return TradePage(
        items=[TradeOut.model_validate(r) for r in rows],
        next_cursor=str(rows[-1]["trade_id"]) if more else None,
    )


@router.get("/trades/{trade_id}", response_model=TradeLifeOut, summary="The life of one trade")
def trade(
    _role: PublicRole,
    conn: ConnDep,
    trade_id: Annotated[int, Path(ge=0, le=INT64)],
) -> TradeLifeOut:
    life = trade_life(conn, trade_id)
    if life is None:
        raise HTTPException(404, f"no trade {trade_id}")
    return TradeLifeOut.model_validate(life)


@router.get("/verify", response_model=VerifyReport, summary="Re-check the index against the chain")
def verify_index(
    _role: AuditorRole,
    state: StateDep,
    from_block: Block_q = None,
    to_block: Block_q = None,
) -> VerifyReport:
    """At most ``GRIDLEDGER_GATEWAY_VERIFY_MAX_BLOCKS`` blocks per call (else 400)."""
    cap = state.settings.gateway_verify_max_blocks
    return verify(state.indexer(), from_block, to_block, max_blocks=cap)
