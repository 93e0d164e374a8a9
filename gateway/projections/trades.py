"""Trades through their life: take, dispatch verdict, metering, settlement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gateway import summary
from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    arg,
    as_addr,
    as_int,
    as_text,
    get_row,
    need_int,
    region_label,
    upsert,
)
from gateway.queries import DISPATCH_REASONS
from gateway.tables import Listing, Trade, table_of
from ledger.clients.trading import TradeStatus
from ledger.display import TRADE_STATUS_NAMES
from ledger.units import wh_to_mwh_text

T = table_of(Trade)
#: TradingMarket's ``TradeStatus`` enum by name, as the CLI names it (ledger.display).
TRADE_STATUSES = TRADE_STATUS_NAMES
#: The status of a trade TradeCloser closed without a dispatch result (the market's status
#: is Failed; the outcome counts against the dispatch center, not the parties).
NOT_DISPATCHED = "not dispatched"


class TradesProjector(Projector):
    name = "trades"
    events = frozenset(
        {
            "TradeCreated",
            "DispatchVerdictRecorded",
            "DispatchResultRecorded",
            "TradeDispatched",
            "TradeRouted",
            "TradeStatusChanged",
            "TradeMetered",
            "TradeSettled",
            "TradeFailed",
            "TradeCancelled",
            "TradeClosedUndispatched",
        }
    )
    models = (Trade,)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        trade_id = need_int(ev, "tradeId")
        key = {"trade_id": trade_id}
        values: dict[str, Any] = {"block_number": ev.block_number}
        old = get_row(conn, T, **key)
        if ev.event == "TradeCreated":
            listing_id = as_int(arg(ev, "listingId"))
            listing = get_row(conn, table_of(Listing), listing_id=listing_id)
            seller = as_addr(arg(ev, "seller"))
            buyer = as_addr(arg(ev, "buyer"))
            taker = as_addr(arg(ev, "taker"))
            if listing is not None:
                maker_sells = listing["side"] != "buy"
                seller = seller or (listing["maker"] if maker_sells else taker)
                buyer = buyer or (taker if maker_sells else listing["maker"])
            values |= {
                "listing_id": listing_id,
                "seller": seller,
                "buyer": buyer,
                "energy_wh": as_int(arg(ev, "energyWh")),
                "price_fen_per_mwh": as_int(arg(ev, "priceFenPerMwh"))
                or (listing or {}).get("price_fen_per_mwh"),
                "period": as_int(arg(ev, "period")) or (listing or {}).get("period"),
                "region": region_label(conn, arg(ev, "region")) or (listing or {}).get("region"),
                "prepayment_fen": as_int(arg(ev, "prepaymentFen")),
                "status": TRADE_STATUS_NAMES[TradeStatus.FORMED],
                "created_block": ev.block_number,
                "created_time": ev.block_time,
                "tx_hash": ev.tx_hash,
            }
            self._write(conn, key, old, values)
            return
        if old is None:
            return
        if ev.event == "DispatchVerdictRecorded":
            accepted = bool(arg(ev, "accepted", "feasible"))
            values |= {
                "dispatch_accepted": accepted,
                "dispatch_reason": as_text(arg(ev, "reason")),
                "status": "dispatched" if accepted else "rejected",
            }
        elif ev.event in ("DispatchResultRecorded", "TradeDispatched"):
            executed = as_int(arg(ev, "executedWh"))
            curtailed = as_int(arg(ev, "curtailedWh")) or 0
            values |= {
                "dispatch_accepted": bool(executed),
                "dispatch_reason": _dispatch_text(executed or 0, curtailed, arg(ev, "reasonCode")),
                "delivered_wh": executed,
                "status": "dispatched",
            }
        elif ev.event == "TradeRouted":
            values["transmission_fee_fen"] = as_int(arg(ev, "feeFen"))
            route = arg(ev, "route")
            if old["region"] is None and isinstance(route, list) and route:
                # a venue trade (auction, bilateral contract) has no posted listing: its
                # region is its synthetic listing's maker's, the seller's, where the route starts
                values["region"] = region_label(conn, str(route[0]))
        elif ev.event == "TradeStatusChanged":
            status = as_text(arg(ev, "status"), TRADE_STATUSES) or "unknown"
            if old["status"] != NOT_DISPATCHED:  # the market's Failed that follows it
                values["status"] = status
        elif ev.event == "TradeClosedUndispatched":
            values |= {
                "refund_fen": as_int(arg(ev, "refundFen")),
                "dispatch_accepted": False,
                "dispatch_reason": "no dispatch result by the closure deadline",
                "status": NOT_DISPATCHED,
            }
        elif ev.event == "TradeMetered":
            values |= {
                "delivered_wh": as_int(arg(ev, "deliveredWh", "suppliedWh")),
                "consumed_wh": as_int(arg(ev, "consumedWh")),
                "status": "metered",
            }
        elif ev.event == "TradeSettled":
            # SettlementEngine's TradeSettled carries energies, a ``failed`` flag, the
            # seller's credit (sellerFen) and the refund (refundFen); older shapes named them
            for column, names in (
                ("paid_to_seller_fen", ("paidToSellerFen", "sellerFen")),
                ("refund_fen", ("refundFen",)),
                ("transmission_fee_fen", ("transmissionFeeFen", "feeFen")),
                ("deviation_fen", ("deviationFen",)),
                ("delivered_wh", ("executedWh",)),
            ):
                amount = as_int(arg(ev, *names))
                if amount is not None:
                    values[column] = amount
            values["status"] = "failed" if arg(ev, "failed") is True else "settled"
        elif ev.event == "TradeFailed":
            values |= {"refund_fen": as_int(arg(ev, "refundFen")), "status": "failed"}
        else:
            values["status"] = "cancelled"
        self._write(conn, key, old, values)

    def _write(
        self,
        conn: Connection,
        key: dict[str, Any],
        old: dict[str, Any] | None,
        values: dict[str, Any],
    ) -> None:
        """Update (or insert) the trade row and its share of the market series."""
        upsert(conn, T, key, values)
        summary.trades_changed(conn, [old], [{**(old or key), **values}])

    def clear(self, conn: Connection) -> None:
        super().clear(conn)
        summary.trades_emptied(conn)


PROJECTOR = TradesProjector()


def _dispatch_text(executed_wh: int, curtailed_wh: int, reason_code: Any) -> str:
    """A dispatch result in words: energies in MWh (exact) and the reason code by name."""
    text = (
        f"executed {wh_to_mwh_text(executed_wh)} MWh, curtailed {wh_to_mwh_text(curtailed_wh)} MWh"
    )
    code = as_int(reason_code)
    if code:
        name = DISPATCH_REASONS[code] if code < len(DISPATCH_REASONS) else f"code {code}"
        text += f", reason: {name}"
    return text
