"""The centralised auction (CentralAuction): auctions, their orders and their fills."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    SkipEvent,
    arg,
    as_addr,
    as_int,
    as_text,
    created_by,
    get_row,
    need_int,
    upsert,
)
from gateway.tables import Auction, AuctionFill, AuctionOrder, table_of

RULES = ("uniform", "pair-average")
SIDES = ("bid", "offer")
AUCTIONS = table_of(Auction)
ORDERS = table_of(AuctionOrder)
FILLS = table_of(AuctionFill)


class AuctionsProjector(Projector):
    name = "auctions"
    events = frozenset(
        {
            "AuctionOpened",
            "OrderPlaced",
            "OrderAmended",
            "OrderCancelled",
            "AuctionMatched",
            "PairTraded",
            "OrderSettled",
            "AuctionCleared",
        }
    )
    models = (Auction, AuctionOrder, AuctionFill)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        if ev.contract != "CentralAuction":
            raise SkipEvent(f"{ev.event} of {ev.contract}")
        auction_id = need_int(ev, "auctionId")
        key = {"auction_id": auction_id}
        if ev.event == "AuctionOpened":
            upsert(conn, AUCTIONS, key, _opened(ev))
        elif ev.event in ("OrderPlaced", "OrderAmended", "OrderCancelled", "OrderSettled"):
            _order(conn, ev, auction_id)
        elif ev.event == "PairTraded":
            values = {
                "trade_id": as_int(arg(ev, "tradeId")),
                "bid_id": as_int(arg(ev, "bidId")),
                "offer_id": as_int(arg(ev, "offerId")),
                "energy_wh": as_int(arg(ev, "energyWh")),
                "price_fen_per_mwh": as_int(arg(ev, "priceFenPerMwh")),
                "tx_hash": ev.tx_hash,
                "block_number": ev.block_number,
            }
            upsert(conn, FILLS, {**key, "pair_index": need_int(ev, "pairIndex")}, values)
        elif ev.event == "AuctionMatched":
            _update(conn, key, ev, status="matched", matched_wh=as_int(arg(ev, "matchedWh")),
                    pair_count=as_int(arg(ev, "pairCount")),
                    uniform_price_fen_per_mwh=as_int(arg(ev, "uniformPriceFenPerMwh")))  # fmt: skip
        else:  # AuctionCleared
            _update(conn, key, ev, status="cleared", traded_wh=as_int(arg(ev, "tradedWh")),
                    trade_count=as_int(arg(ev, "tradeCount")))  # fmt: skip


def _opened(ev: DecodedEvent) -> dict[str, object]:
    return {
        "period": as_int(arg(ev, "periodId")),
        "first_interval": as_int(arg(ev, "firstInterval")),
        "last_interval": as_int(arg(ev, "lastInterval")),
        "opens_at": as_int(arg(ev, "opensAt")),
        "gate_closes_at": as_int(arg(ev, "gateClosesAt")),
        "min_lot_wh": as_int(arg(ev, "minLotWh")),
        "rule": as_text(arg(ev, "rule"), RULES),
        "floor_fen_per_mwh": as_int(arg(ev, "floorFenPerMwh")),
        "cap_fen_per_mwh": as_int(arg(ev, "capFenPerMwh")),
        "fee_cap_fen_per_mwh": as_int(arg(ev, "feeCapFenPerMwh")),
        "status": "open",
        "order_count": 0,
        **created_by(ev),
    }


def _update(conn: Connection, key: dict[str, int], ev: DecodedEvent, **values: object) -> None:
    if get_row(conn, AUCTIONS, **key) is None:
        raise SkipEvent(f"{ev.event} of an auction never opened")
    upsert(conn, AUCTIONS, key, {**values, "block_number": ev.block_number})


def _order(conn: Connection, ev: DecodedEvent, auction_id: int) -> None:
    key = {"order_id": need_int(ev, "orderId")}
    if ev.event == "OrderPlaced":
        upsert(conn, ORDERS, key, {
            "auction_id": auction_id,
            "node": as_addr(arg(ev, "node")),
            "side": as_text(arg(ev, "side"), SIDES),
            "seq": as_int(arg(ev, "seq")),
            "energy_wh": as_int(arg(ev, "energyWh")),
            "price_fen_per_mwh": as_int(arg(ev, "priceFenPerMwh")),
            "held_fen": as_int(arg(ev, "heldFen")),
            "status": "live",
            **created_by(ev),
        })  # fmt: skip
        auction = get_row(conn, AUCTIONS, auction_id=auction_id)
        if auction is not None:
            upsert(conn, AUCTIONS, {"auction_id": auction_id},
                   {"order_count": auction["order_count"] + 1})  # fmt: skip
        return
    if get_row(conn, ORDERS, **key) is None:
        raise SkipEvent(f"{ev.event} of an order never placed")
    values: dict[str, object] = {"block_number": ev.block_number}
    if ev.event == "OrderAmended":
        values |= {
            "seq": as_int(arg(ev, "seq")),
            "energy_wh": as_int(arg(ev, "energyWh")),
            "price_fen_per_mwh": as_int(arg(ev, "priceFenPerMwh")),
            "held_fen": as_int(arg(ev, "heldFen")),
        }
    elif ev.event == "OrderCancelled":
        values |= {"status": "cancelled", "released_fen": as_int(arg(ev, "releasedFen"))}
    else:
        values |= {
            "status": "settled",
            "traded_wh": as_int(arg(ev, "tradedWh")),
            "released_fen": as_int(arg(ev, "releasedFen")),
        }
    upsert(conn, ORDERS, key, values)


PROJECTOR = AuctionsProjector()
