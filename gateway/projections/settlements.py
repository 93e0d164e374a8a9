"""Settlements of trades, append-only: one row per settled (or failed) trade.

SettlementEngine emits, in one transaction, ``TransmissionFeePaid`` (one per region on the
route), ``RemainderPaid`` and then ``TradeSettled``, which carries the seller's credit
(``sellerFen``) and the buyer's refund (``refundFen``); the fee payments are summed into the
row of that trade in that transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from gateway.decode import DecodedEvent
from gateway.projections.base import Projector, append, arg, as_int, need_int, upsert
from gateway.tables import Settlement, table_of

T = table_of(Settlement)
#: payment event -> the column its ``amountFen`` adds to
PAYMENTS = {
    "TransmissionFeePaid": "transmission_fee_fen",
    "RemainderPaid": "remainder_fen",
}


class SettlementsProjector(Projector):
    name = "settlements"
    events = frozenset({"TradeSettled", "TradeFailed", *PAYMENTS})
    models = (Settlement,)

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        trade_id = need_int(ev, "tradeId")
        found = (
            conn.execute(select(T).where(T.c.trade_id == trade_id, T.c.tx_hash == ev.tx_hash))
            .mappings()
            .first()
        )
        row: dict[str, Any] = dict(found) if found is not None else {}
        values: dict[str, Any] = {}
        if ev.event in PAYMENTS:
            column = PAYMENTS[ev.event]
            amount = as_int(arg(ev, "amountFen"))
            values[column] = (row.get(column) or 0) + (amount or 0)
            if not row:
                values["outcome"] = "paying"
        else:
            failed = ev.event == "TradeFailed" or bool(arg(ev, "failed"))
            values["outcome"] = "failed" if failed else "settled"
            values["executed_wh"] = as_int(arg(ev, "executedWh"))
            values["curtailed_wh"] = as_int(arg(ev, "curtailedWh"))
            # TradeSettled carries the seller's and the refund's amounts (older documented
            # shapes used other names)
            for column, names in (
                ("paid_to_seller_fen", ("paidToSellerFen", "sellerFen")),
                ("refund_fen", ("refundFen",)),
                ("transmission_fee_fen", ("transmissionFeeFen", "feeFen")),
                ("deviation_fen", ("deviationFen",)),
            ):
                amount = as_int(arg(ev, *names))
                if amount is not None:
                    values[column] = amount
        if not row:
            append(conn, T, ev, {"trade_id": trade_id, **values})
        else:
            upsert(conn, T, {"id": row["id"]}, values)


PROJECTOR = SettlementsProjector()
