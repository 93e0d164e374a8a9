"""Posted offers (挂牌) of the trading contract: one row per listing id."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    arg,
    as_addr,
    as_int,
    as_text,
    created_by,
    get_row,
    need_int,
    region_label,
    upsert,
)
from gateway.tables import Listing, table_of

SIDES = ("sell", "buy")
T = table_of(Listing)


class ListingsProjector(Projector):
    name = "listings"
    events = frozenset(
        {"ListingPosted", "ListingAmended", "ListingCancelled", "ListingExpired", "TradeCreated"}
    )
    models = (Listing,)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        listing_id = need_int(ev, "listingId")
        key = {"listing_id": listing_id}
        if ev.event == "ListingPosted":
            energy = as_int(arg(ev, "energyWh"))
            upsert(
                conn,
                T,
                key,
                {
                    "maker": as_addr(arg(ev, "maker", "seller", "buyer", "owner")),
                    "side": as_text(arg(ev, "side"), SIDES),
                    "energy_wh": energy,
                    "remaining_wh": energy,
                    "price_fen_per_mwh": as_int(arg(ev, "priceFenPerMwh")),
                    "period": as_int(arg(ev, "period", "tradingPeriod")),
                    "region": region_label(conn, arg(ev, "region", "regionId")),
                    "status": "open",
                    "expires_at": as_int(arg(ev, "expiresAt")),
                    **created_by(ev),
                },
            )
            return
        row = get_row(conn, T, **key)
        if row is None:
            return  # a listing we never saw posted: nothing to update
        values: dict[str, object] = {"block_number": ev.block_number}
        if ev.event == "TradeCreated":
            need_int(ev, "tradeId")  # a take without a trade id is not a take
            remaining = as_int(arg(ev, "remainingWh"))
            if remaining is None and row["remaining_wh"] is not None:
                remaining = row["remaining_wh"] - (as_int(arg(ev, "energyWh")) or 0)
            values["remaining_wh"] = remaining
            values["status"] = "filled" if remaining == 0 else "partial"
        elif ev.event == "ListingAmended":
            values["price_fen_per_mwh"] = as_int(arg(ev, "priceFenPerMwh"))
            values["remaining_wh"] = as_int(arg(ev, "remainingWh"))
            values["energy_wh"] = as_int(arg(ev, "energyWh")) or row["energy_wh"]
        else:
            values["status"] = "cancelled" if ev.event == "ListingCancelled" else "expired"
        upsert(conn, T, key, values)


PROJECTOR = ListingsProjector()
