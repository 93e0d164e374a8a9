"""Violation reports (SurveillanceDesk) and the regulator's rulings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    arg,
    as_addr,
    as_hash,
    as_int,
    as_text,
    created_by,
    get_row,
    need_int,
    upsert,
)
from gateway.tables import Report, table_of

T = table_of(Report)


def _trade_ids(ev: DecodedEvent) -> list[int]:
    raw = arg(ev, "tradeIds")
    if raw is None:
        raw = [arg(ev, "tradeId")] if arg(ev, "tradeId") is not None else []
    ids = [as_int(v) for v in (raw if isinstance(raw, list) else [raw])]
    return [i for i in ids if i is not None]


class ReportsProjector(Projector):
    name = "reports"
    events = frozenset(
        {
            "ViolationReported",
            "ResponseFiled",
            "ViolationRuled",
            "ViolationAnnounced",
            "ReportDismissed",
            "ReportExpired",
        }
    )
    models = (Report,)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        key = {"report_id": need_int(ev, "reportId")}
        if ev.event == "ViolationReported":
            trades = _trade_ids(ev)
            model = arg(ev, "modelId", "indicator", "kind")
            upsert(
                conn,
                T,
                key,
                {
                    "reporter": as_addr(arg(ev, "reporter")),
                    "suspect": as_addr(arg(ev, "accused", "suspect", "node")),
                    "indicator": (as_text(model) or "")[:64] or None,
                    "score": as_int(arg(ev, "scorePpm", "score")),
                    "trade_id": trades[0] if trades else None,
                    "trade_ids": ",".join(map(str, trades)) or None,
                    "first_period": as_int(arg(ev, "firstPeriod")),
                    "last_period": as_int(arg(ev, "lastPeriod")),
                    "rule_by": as_int(arg(ev, "ruleBy")),
                    "status": "pending",
                    **created_by(ev),
                },
            )
            return
        row = get_row(conn, T, **key)
        if row is None:
            return
        values: dict[str, Any] = {"block_number": ev.block_number}
        if ev.event == "ResponseFiled":
            values |= {"response_hash": as_hash(arg(ev, "responseHash")), "status": "answered"}
        elif ev.event == "ViolationRuled":
            confirmed = bool(arg(ev, "confirmed"))
            values |= {
                "status": "confirmed" if confirmed else "dismissed",
                "regulator": as_addr(arg(ev, "regulator")),
                "bond_penalty_fen": as_int(arg(ev, "bondPenaltyFen")),
                "slashed_fen": as_int(arg(ev, "slashedFen")),
                "reputation_penalty": as_int(arg(ev, "reputationPenalty")),
                "reason_hash": as_hash(arg(ev, "reasonHash")),
                "ruled_time": ev.block_time,
            }
        elif ev.event == "ViolationAnnounced":
            values |= {
                "announced": True,
                "slashed_fen": as_int(arg(ev, "slashedFen")) or row["slashed_fen"],
                "reputation_penalty": as_int(arg(ev, "reputationPoints"))
                or row["reputation_penalty"],
            }
        elif ev.event == "ReportDismissed":
            values["status"] = "dismissed"
        else:
            values["status"] = "expired"
        upsert(conn, T, key, values)


PROJECTOR = ReportsProjector()
