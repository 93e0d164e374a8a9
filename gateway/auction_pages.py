"""The explorer's auction pages: every auction, and one auction with its order count, the
supply and demand step curves with the clearing point (server-side SVG), the results,
each participant's fills, and the fills as CSV."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import HTMLResponse, PlainTextResponse
from markupsafe import Markup
from sqlalchemy import Connection, select

from gateway import svg
from gateway.deps import ConnDep
from gateway.pages import INT64, PageDep
from gateway.tables import Auction, AuctionFill, AuctionOrder, table_of
from ledger.auction_clearing import BookOrder, step_curves

router = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])
AUCTIONS, ORDERS, FILLS = table_of(Auction), table_of(AuctionOrder), table_of(AuctionFill)
AuctionId = Annotated[int, Path(ge=0, le=INT64)]
CSV_COLUMNS = ("pair_index", "trade_id", "bid_id", "offer_id", "buyer", "seller",
               "energy_wh", "price_fen_per_mwh")  # fmt: skip


def auction_detail(conn: Connection, auction_id: int) -> dict[str, Any] | None:
    """The auction's row, its orders, fills (with both parties) and per-node totals."""
    row = conn.execute(select(AUCTIONS).where(AUCTIONS.c.auction_id == auction_id)).mappings()
    auction = row.first()
    if auction is None:
        return None
    orders = [
        dict(o)
        for o in conn.execute(
            select(ORDERS).where(ORDERS.c.auction_id == auction_id).order_by(ORDERS.c.order_id)
        ).mappings()
    ]
    node_of = {o["order_id"]: o["node"] for o in orders}
    fills = [
        {**f, "buyer": node_of.get(f["bid_id"]), "seller": node_of.get(f["offer_id"])}
        for f in conn.execute(
            select(FILLS).where(FILLS.c.auction_id == auction_id).order_by(FILLS.c.pair_index)
        ).mappings()
    ]
    per_node: dict[str, dict[str, int]] = {}
    for f in fills:
        for role in ("buyer", "seller"):
            node = per_node.setdefault(f[role] or "?", {"bought_wh": 0, "sold_wh": 0, "fills": 0})
            node["bought_wh" if role == "buyer" else "sold_wh"] += f["energy_wh"] or 0
            node["fills"] += 1
    return {
        "auction": dict(auction),
        "orders": orders,
        "fills": fills,
        "per_node": sorted(per_node.items()),
        "chart": _chart(orders, fills, dict(auction)),
    }


def _chart(orders: list[dict[str, Any]], fills: list[dict[str, Any]], a: dict[str, Any]) -> Markup:
    book = [
        BookOrder(
            o["order_id"],
            o["node"] or "",
            o["side"] == "bid",
            o["seq"] or 0,
            o["energy_wh"] or 0,
            o["price_fen_per_mwh"] or 0,
        )
        for o in orders
        if o["status"] != "cancelled"
    ]
    demand, supply = step_curves(book)
    point = None
    if fills:
        price = a["uniform_price_fen_per_mwh"] or fills[-1]["price_fen_per_mwh"] or 0
        point = (sum(f["energy_wh"] or 0 for f in fills) / 1e6, price / 100)
    return svg.step_chart(
        [(q / 1e6, p / 100) for q, p in demand],
        [(q / 1e6, p / 100) for q, p in supply],
        point,
        "Demand and supply with the clearing point",
        "CNY/MWh",
        "MWh",
    )


@router.get("/auctions", summary="Every centralised auction")
def auctions_page(page: PageDep, conn: ConnDep) -> HTMLResponse:
    rows = conn.execute(select(AUCTIONS).order_by(AUCTIONS.c.auction_id.desc())).mappings()
    return page.render("auctions.html", title="Auctions", auctions=[dict(r) for r in rows])


@router.get("/auctions/{auction_id}", summary="One auction: book, curves, results, fills")
def auction_page(page: PageDep, conn: ConnDep, auction_id: AuctionId) -> HTMLResponse:
    detail = auction_detail(conn, auction_id)
    if detail is None:
        raise HTTPException(404, f"no auction #{auction_id} is indexed")
    return page.render("auction.html", title=f"Auction #{auction_id}", **detail)


@router.get(
    "/auctions/{auction_id}/fills.csv",
    response_class=PlainTextResponse,
    summary="An auction's fills as CSV (Wh, fen/MWh)",
)
def auction_csv(page: PageDep, conn: ConnDep, auction_id: AuctionId) -> PlainTextResponse:
    detail = auction_detail(conn, auction_id)
    if detail is None:
        raise HTTPException(404, f"no auction #{auction_id} is indexed")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(detail["fills"])
    return PlainTextResponse(out.getvalue(), media_type="text/csv")
