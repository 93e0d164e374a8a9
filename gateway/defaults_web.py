"""The default fund in the gateway: the explorer's ``/defaults`` page, ``/defaults.csv``
(every default with its waterfall steps) and the JSON API ``/api/v1/defaults``.

Read from the ``defaults`` projection (gateway/projections/defaults.py). A member's
assessment owed and recovery due are lazy on chain (the loss and recovery indexes); they
are computed here with the contract's rounding (``ledger.clients.defaults``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import Connection, select

from gateway.api import ERRORS
from gateway.deps import ConnDep, PublicRole
from gateway.pages import PageDep
from gateway.projections.defaults import EMPTY_STATE
from gateway.tables import FundDefault, FundEvent, FundMember, FundState, table_of
from ledger.clients.defaults import allocation_fen, recovery_share_fen

api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["defaults"])
pages = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])
STATE, MEMBERS = table_of(FundState), table_of(FundMember)
DEFAULTS, EVENTS = table_of(FundDefault), table_of(FundEvent)
#: The waterfall of a default, in its order (docs/defaults.md section 3).
STEPS = (
    ("CREDIT", "from_credit_fen"),
    ("WALLET", "from_wallet_fen"),
    ("BOND", "from_bond_fen"),
    ("FUND", "from_fund_fen"),
    ("ALLOCATION", "allocated_fen"),
    ("UNALLOCATED", "unallocated_fen"),
)
CSV_COLUMNS = ("node", "period", "from_credit_fen", "from_wallet_fen", "from_bond_fen",
               "debt_fen", "from_fund_fen", "fund_left_fen", "allocated_fen", "unallocated_fen",
               "total_base_fen", "loss_index", "creditor", "tx_hash")  # fmt: skip


class FundStateOut(BaseModel):
    fund_fen: int
    reserve_fen: int
    unfunded_fen: int
    total_base_fen: int
    loss_index: str
    recovery_index: str
    creditor: str | None


class FundDefaultOut(BaseModel):
    node: str
    period: int
    from_credit_fen: int | None
    from_wallet_fen: int | None
    from_bond_fen: int | None
    debt_fen: int | None
    from_fund_fen: int | None
    fund_left_fen: int | None
    allocated_fen: int | None
    unallocated_fen: int | None
    total_base_fen: int | None
    loss_index: str | None
    creditor: str | None
    tx_hash: str


class FundMemberOut(BaseModel):
    node: str
    status: str
    base_fen: int
    assessment_owed_fen: int
    enforced: bool
    assessments_paid_fen: int
    recovery_due_fen: int
    recovered_fen: int
    refund_fen: int | None


class FundEventOut(BaseModel):
    block_number: int
    log_index: int
    block_time: int
    tx_hash: str
    event: str
    node: str | None
    party: str | None
    period: int | None
    amount_fen: int | None


class DefaultsOut(BaseModel):
    state: FundStateOut
    defaults: list[FundDefaultOut]
    members: list[FundMemberOut]
    events: list[FundEventOut]


def _member(m: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """A member with what it owes and what it may claim now (the contract's views)."""
    if m["status"] != "member":
        return {**m, "assessment_owed_fen": 0, "recovery_due_fen": 0}
    owed = allocation_fen(m["base_fen"], int(state["loss_index"]) - int(m["paid_index"]))
    share = recovery_share_fen(
        m["base_fen"], int(state["recovery_index"]) - int(m["recovery_index"])
    )
    return {**m, "assessment_owed_fen": owed, "recovery_due_fen": min(share, m["unrecovered_fen"])}


def fund_overview(conn: Connection) -> dict[str, Any]:
    """The fund's state, its defaults (oldest first), members and events."""
    row = conn.execute(select(STATE).where(STATE.c.id == 1)).mappings().first()
    state = dict(row) if row is not None else dict(EMPTY_STATE)
    defaults = conn.execute(
        select(DEFAULTS).order_by(DEFAULTS.c.block_number, DEFAULTS.c.period, DEFAULTS.c.node)
    ).mappings()
    members = conn.execute(select(MEMBERS).order_by(MEMBERS.c.created_block, MEMBERS.c.node))
    events = conn.execute(select(EVENTS).order_by(EVENTS.c.block_number, EVENTS.c.log_index))
    return {
        "state": state,
        "defaults": [dict(d) for d in defaults],
        "members": [_member(dict(m), state) for m in members.mappings()],
        "events": [dict(e) for e in events.mappings()],
    }


@pages.get("/defaults", summary="The default fund: state, defaults' waterfalls, members")
def defaults_page(page: PageDep, conn: ConnDep) -> HTMLResponse:
    return page.render("defaults.html", title="Default fund", steps=STEPS, **fund_overview(conn))


@pages.get(
    "/defaults.csv",
    response_class=PlainTextResponse,
    summary="Every default with its waterfall steps as CSV (fen)",
)
def defaults_csv(page: PageDep, conn: ConnDep) -> PlainTextResponse:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(fund_overview(conn)["defaults"])
    return PlainTextResponse(out.getvalue(), media_type="text/csv")


@api.get("/defaults", response_model=DefaultsOut, summary="The default fund")
def defaults_api(_role: PublicRole, conn: ConnDep) -> DefaultsOut:
    return DefaultsOut.model_validate(fund_overview(conn))
