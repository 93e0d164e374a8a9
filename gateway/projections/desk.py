"""The service desk's anchored batches (``DeskAnchor.DeskBatchAnchored``): each batch's
root and change range, and the open and overdue complaint counts per category it carried
(the explorer's ``/desk`` page, gateway/desk_web.py; docs/desk.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    SkipEvent,
    append,
    as_addr,
    as_int,
    as_text,
    need_int,
    upsert,
)
from gateway.tables import table_of


class DeskBatch(Base):
    """One anchored batch of desk changes (append-only; 0010)."""

    __tablename__ = "gw_desk_batches"
    batch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(66))
    first_change: Mapped[int] = mapped_column(BigInteger)
    change_count: Mapped[int] = mapped_column(Integer)
    open_total: Mapped[int] = mapped_column(Integer)
    overdue_total: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str | None] = mapped_column(String(42))
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class DeskCategoryCount(Base):
    """Open and overdue complaints of one category as batch ``batch`` reported (0010)."""

    __tablename__ = "gw_desk_counts"
    batch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    open: Mapped[int] = mapped_column(Integer)
    overdue: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


def _ints(ev: DecodedEvent, name: str) -> list[int]:
    values = ev.args.get(name)
    if not isinstance(values, list):
        raise SkipEvent(f"{ev.event} lacks {name}")
    numbers = [as_int(v) for v in values]
    return [n if n is not None else 0 for n in numbers]


class DeskProjector(Projector):
    name = "desk"
    events = frozenset({"DeskBatchAnchored"})
    models = (DeskBatch, DeskCategoryCount)

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        batch = need_int(ev, "batch")
        categories: Any = ev.args.get("categories")
        if not isinstance(categories, list):
            raise SkipEvent(f"{ev.event} lacks categories")
        opened, overdue = _ints(ev, "open"), _ints(ev, "overdue")
        if not len(categories) == len(opened) == len(overdue):
            raise SkipEvent(f"{ev.event} has unequal count arrays")
        append(
            conn,
            table_of(DeskBatch),
            ev,
            {
                "batch": batch,
                "root": str(ev.args.get("root")),
                "first_change": need_int(ev, "firstChange"),
                "change_count": need_int(ev, "count"),
                "open_total": sum(opened),
                "overdue_total": sum(overdue),
                "operator": as_addr(ev.args.get("operator")),
            },
        )
        for raw, o, d in zip(categories, opened, overdue, strict=True):
            key = {"batch": batch, "category": as_text(raw) or "?"}
            upsert(
                conn,
                table_of(DeskCategoryCount),
                key,
                {"open": o, "overdue": d, "block_number": ev.block_number},
            )


PROJECTOR = DeskProjector()
