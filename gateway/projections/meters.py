"""Meter anchors (MeterOracle), append-only: Merkle roots of meter data.

``kind`` is ``node`` (NodeTotalRecorded: a node's period totals, the root of its readings),
``batch`` (BatchAnchored: a batch of readings) or ``period`` (PeriodPosted: the root of all
nodes' totals of a period).
"""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import Projector, append, arg, as_addr, as_int
from gateway.tables import MeterAnchor, table_of

KINDS = {"NodeTotalRecorded": "node", "BatchAnchored": "batch", "PeriodPosted": "period"}


class MetersProjector(Projector):
    name = "meters"
    events = frozenset({"MeterTotalsAnchored", *KINDS})
    models = (MeterAnchor,)

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        root = arg(ev, "merkleRoot", "readingsRoot", "totalsRoot", "root")
        total = as_int(arg(ev, "totalWh", "energyWh"))
        if total is None and ev.event == "NodeTotalRecorded":
            total = (as_int(arg(ev, "importWh")) or 0) + (as_int(arg(ev, "exportWh")) or 0)
        append(
            conn,
            table_of(MeterAnchor),
            ev,
            {
                "node": as_addr(arg(ev, "node", "account")),
                "period": as_int(arg(ev, "period")),
                "trade_id": as_int(arg(ev, "tradeId")),
                "kind": KINDS.get(ev.event, "node"),
                "merkle_root": str(root) if root is not None else None,
                "total_wh": total,
                "reading_count": as_int(arg(ev, "readingCount", "count")),
            },
        )


PROJECTOR = MetersProjector()
