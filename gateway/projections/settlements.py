"""Settlements (and failed trades' refunds), append-only."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.models import Settlement, table_of
from gateway.projections.base import Projector, append, arg, as_int, need_int


class SettlementsProjector(Projector):
    name = "settlements"
    events = frozenset({"TradeSettled", "TradeFailed"})
    models = (Settlement,)

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        append(
            conn,
            table_of(Settlement),
            ev,
            {
                "trade_id": need_int(ev, "tradeId"),
                "outcome": "settled" if ev.event == "TradeSettled" else "failed",
                "paid_to_seller_fen": as_int(arg(ev, "paidToSellerFen", "sellerFen")),
                "refund_fen": as_int(arg(ev, "refundFen")),
                "transmission_fee_fen": as_int(arg(ev, "transmissionFeeFen", "feeFen")),
                "deviation_fen": as_int(arg(ev, "deviationFen")),
            },
        )


PROJECTOR = SettlementsProjector()
