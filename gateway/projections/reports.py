"""Violation reports (surveillance) and the regulator's rulings."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.models import Report, table_of
from gateway.projections.base import (
    Projector,
    arg,
    as_addr,
    as_int,
    as_text,
    get_row,
    need_int,
    upsert,
)

T = table_of(Report)


class ReportsProjector(Projector):
    name = "reports"
    events = frozenset({"ViolationReported", "ViolationRuled"})
    models = (Report,)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        key = {"report_id": need_int(ev, "reportId")}
        if ev.event == "ViolationReported":
            upsert(
                conn,
                T,
                key,
                {
                    "reporter": as_addr(arg(ev, "reporter")),
                    "suspect": as_addr(arg(ev, "suspect", "accused", "node")),
                    "indicator": as_text(arg(ev, "indicator", "kind")),
                    "score": as_int(arg(ev, "score")),
                    "trade_id": as_int(arg(ev, "tradeId")),
                    "status": "open",
                    "created_block": ev.block_number,
                    "created_time": ev.block_time,
                    "tx_hash": ev.tx_hash,
                    "block_number": ev.block_number,
                },
            )
            return
        if get_row(conn, T, **key) is None:
            return
        upsert(
            conn,
            T,
            key,
            {
                "status": "confirmed" if arg(ev, "confirmed") else "dismissed",
                "regulator": as_addr(arg(ev, "regulator")),
                "bond_penalty_fen": as_int(arg(ev, "bondPenaltyFen")),
                "reputation_penalty": as_int(arg(ev, "reputationPenalty")),
                "block_number": ev.block_number,
            },
        )


PROJECTOR = ReportsProjector()
