"""Region names (TransmissionTariff.RegionDefined), used to label regions elsewhere."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import Projector, arg, as_text, need_int, upsert
from gateway.tables import Region, table_of


class RegionsProjector(Projector):
    name = "regions"
    events = frozenset({"RegionDefined"})
    models = (Region,)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        upsert(
            conn,
            table_of(Region),
            {"region_id": need_int(ev, "region", "regionId")},
            {"name": as_text(arg(ev, "name")), "block_number": ev.block_number},
        )


PROJECTOR = RegionsProjector()
