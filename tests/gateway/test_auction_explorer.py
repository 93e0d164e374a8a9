"""The explorer's auction pages over a real auction on the test chain, indexed: the
projection's rows, the page (order count, step curves with the clearing point, fills,
each participant's fills) and the CSV."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import Engine, select

from gateway.indexer import Indexer
from gateway.projections.base import region_label
from gateway.tables import Auction, AuctionFill, AuctionOrder, Trade, table_of
from ledger.clients.auction import ClearingRule, OrderSide
from tests.auction.conftest import Book
from tests.auction.conftest import book as book  # the fixtures
from tests.auction.conftest import market as market

Live = tuple[str, httpx.Client]


def run_auction(book: Book) -> int:
    m = book.market
    aid = book.open(ClearingRule.UNIFORM)
    book.allow(m.buyer)
    c_b, c_s, c_s2 = book.client(m.buyer), book.client(m.seller), book.client(m.seller2)
    c_b.place_order(aid, OrderSide.BID, 300_000, 400_000)
    c_s.place_order(aid, OrderSide.OFFER, 200_000, 250_000)
    c_s2.place_order(aid, OrderSide.OFFER, 250_000, 300_000)
    cancelled = c_s2.placed_order_id(c_s2.place_order(aid, OrderSide.OFFER, 50_000, 200_000))
    c_s2.cancel_order(cancelled)
    book.close_gate(aid)
    book.reader.clear_all(aid)
    return aid


def test_auction_projection_and_pages(
    book: Book,
    indexer: Indexer,
    gw_engine: Engine,
    live: Live,
) -> None:
    aid = run_auction(book)
    indexer.run_once()
    with gw_engine.connect() as conn:
        a = conn.execute(select(table_of(Auction))).mappings().one()
        orders = conn.execute(select(table_of(AuctionOrder))).mappings().all()
        fills = conn.execute(select(table_of(AuctionFill))).mappings().all()
        trades = conn.execute(select(table_of(Trade))).mappings().all()
        # a venue trade has no posted listing: its region is the seller's (its route's start)
        regions = {
            t["trade_id"]: region_label(
                conn, str(book.market.registry.node_info(t["seller"]).region)
            )
            for t in trades
        }
    assert len(trades) == 2
    assert None not in regions.values()
    assert {t["trade_id"]: t["region"] for t in trades} == regions
    assert (a["auction_id"], a["status"], a["order_count"], a["rule"]) == (
        aid,
        "cleared",
        4,
        "uniform",
    )
    assert (a["matched_wh"], a["traded_wh"], a["trade_count"]) == (300_000, 300_000, 2)
    assert a["uniform_price_fen_per_mwh"] == 350_000  # marginal pair 400k / 300k
    assert sorted(o["status"] for o in orders) == ["cancelled", "settled", "settled", "settled"]
    assert [(f["energy_wh"], f["price_fen_per_mwh"]) for f in fills] == [
        (200_000, 350_000),
        (100_000, 350_000),
    ]

    _, client = live
    r = client.get("/auctions")
    assert r.status_code == 200
    assert f'href="/auctions/{aid}"' in r.text
    r = client.get(f"/auctions/{aid}")
    assert r.status_code == 200, r.text[:300]
    html = r.text
    assert "<svg" in html
    assert "demand (bids)" in html
    assert "clearing: 0.300 MWh at 3,500.00 CNY/MWh" in html
    assert html.count('<polyline fill="none"') == 2
    assert book.market.buyer.address.lower()[:8] in html.lower()
    r = client.get(f"/auctions/{aid}/fills.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["energy_wh"], x["price_fen_per_mwh"]) for x in rows] == [
        ("200000", "350000"),
        ("100000", "350000"),
    ]
    assert rows[0]["buyer"] == book.market.buyer.address
    assert client.get("/auctions/999").status_code == 404
