"""Meter anchors: the Merkle root of a node's meter totals for a period, append-only."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.models import MeterAnchor, table_of
from gateway.projections.base import Projector, append, arg, as_addr, as_int


class MetersProjector(Projector):
    name = "meters"
    events = frozenset({"MeterTotalsAnchored", "NodeTotalRecorded"})
    models = (MeterAnchor,)

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        root = arg(ev, "merkleRoot", "readingsRoot", "root")
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
                "merkle_root": str(root) if root is not None else None,
                "total_wh": total,
                "reading_count": as_int(arg(ev, "readingCount", "count")),
            },
        )


PROJECTOR = MetersProjector()
