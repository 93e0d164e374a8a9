"""Mutual ratings after a trade, append-only (reputation itself: participants)."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import Projector, append, arg, as_addr, as_int
from gateway.tables import Rating, table_of


class RatingsProjector(Projector):
    name = "ratings"
    events = frozenset({"RatingSubmitted"})
    models = (Rating,)

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        append(
            conn,
            table_of(Rating),
            ev,
            {
                "trade_id": as_int(arg(ev, "tradeId")),
                "rater": as_addr(arg(ev, "rater", "from")),
                "ratee": as_addr(arg(ev, "ratee", "rated", "to")),
                "score": as_int(arg(ev, "score", "rating", "positive")),
            },
        )


PROJECTOR = RatingsProjector()
