"""The service desk in the explorer: ``/desk`` (anchored batches, and the open and overdue
complaints per category of the latest batch) and ``/api/v1/desk``, from chain data only
(the ``desk`` projection of ``DeskAnchor`` events; docs/desk.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import Connection, select

from gateway.api import ERRORS
from gateway.deps import ConnDep, PublicRole
from gateway.pages import PageDep
from gateway.projections.desk import DeskBatch, DeskCategoryCount
from gateway.tables import table_of

api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["desk"])
pages = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])
BATCHES, COUNTS = table_of(DeskBatch), table_of(DeskCategoryCount)


class DeskBatchOut(BaseModel):
    batch: int
    root: str
    first_change: int
    change_count: int
    open_total: int
    overdue_total: int
    operator: str | None
    block_number: int
    block_time: int
    tx_hash: str


class DeskCountOut(BaseModel):
    category: str
    open: int
    overdue: int


class DeskOut(BaseModel):
    latest_batch: int | None
    counts: list[DeskCountOut]
    batches: list[DeskBatchOut]


def desk_overview(conn: Connection) -> dict[str, Any]:
    """Every batch (newest first) and the per-category counts of the newest."""
    batches = [
        dict(b) for b in conn.execute(select(BATCHES).order_by(BATCHES.c.batch.desc())).mappings()
    ]
    latest = batches[0]["batch"] if batches else None
    counts = conn.execute(
        select(COUNTS.c.category, COUNTS.c.open, COUNTS.c.overdue)
        .where(COUNTS.c.batch == latest)
        .order_by(COUNTS.c.category)
    ).mappings()
    return {"latest_batch": latest, "counts": [dict(c) for c in counts], "batches": batches}


@pages.get("/desk", summary="The service desk: anchored batches, open and overdue complaints")
def desk_page(page: PageDep, conn: ConnDep) -> HTMLResponse:
    return page.render("desk.html", title="Service desk", **desk_overview(conn))


@api.get("/desk", response_model=DeskOut, summary="The service desk's anchored batches")
def desk_api(_role: PublicRole, conn: ConnDep) -> DeskOut:
    return DeskOut.model_validate(desk_overview(conn))
