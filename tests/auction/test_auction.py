"""CentralAuction end to end: orders with escrow and reservations, amend/cancel with the
priority rule, ranking and clearing into trades of the trade store, refunds to the fen."""

from __future__ import annotations

from ledger.clients.auction import ClearingRule, OrderSide, OrderStatus, Phase
from ledger.clients.trading import TradeStatus
from tests.auction.conftest import CAP, FEE_CAP, FLOOR, MIN_LOT_WH, Book
from tests.trading.conftest import block_time

BID, OFFER = OrderSide.BID, OrderSide.OFFER


def test_open_auction_copies_limits_and_emits(book: Book) -> None:
    assert book.reader.price_limits() == (FLOOR, CAP)
    now = block_time(book.market.ctx)
    receipt = book.operator.open_auction(
        book.market.period.id, 4, 7, now, now + 600, MIN_LOT_WH, ClearingRule.PAIR_AVERAGE, FEE_CAP
    )
    (ev,) = book.operator.events(receipt, "AuctionOpened")
    assert dict(ev["args"]) == {
        "auctionId": 1,
        "periodId": book.market.period.id,
        "firstInterval": 4,
        "lastInterval": 7,
        "opensAt": now,
        "gateClosesAt": now + 600,
        "minLotWh": MIN_LOT_WH,
        "rule": ClearingRule.PAIR_AVERAGE,
        "floorFenPerMwh": FLOOR,
        "capFenPerMwh": CAP,
        "feeCapFenPerMwh": FEE_CAP,
        "operator": book.operator.sender.address,
    }
    a = book.reader.auction(1)
    assert (a.phase, a.rule, a.floor_fen_per_mwh, a.cap_fen_per_mwh) == (
        Phase.OPEN,
        ClearingRule.PAIR_AVERAGE,
        FLOOR,
        CAP,
    )
    assert book.reader.auction_count() == 1


def test_uniform_auction_end_to_end(book: Book) -> None:
    m = book.market
    s, s2, b, b2 = m.seller, m.seller2, m.buyer, m.buyer2
    aid = book.open(ClearingRule.UNIFORM)
    for buyer in (b, b2):
        book.allow(buyer)
    token = m.token
    funds = {x.address: token.balance_of(x.address) for x in (b, b2)}

    def place(actor, side, wh, price):  # type: ignore[no-untyped-def]
        return book.client(actor).placed_order_id(
            book.client(actor).place_order(aid, side, wh, price)
        )

    o1 = place(b, BID, 300_000, 400_000)
    receipt = book.client(s).place_order(aid, OFFER, 200_000, 250_000)
    o2 = book.reader.placed_order_id(receipt)
    (placed,) = book.reader.events(receipt, "OrderPlaced")
    assert dict(placed["args"]) == {
        "orderId": o2,
        "auctionId": aid,
        "node": s.address,
        "side": OFFER,
        "seq": 2,
        "energyWh": 200_000,
        "priceFenPerMwh": 250_000,
        "heldFen": 12_000,  # ceil(200 kWh x cap 600 CNY/MWh x 10 %)
    }
    o3 = place(b2, BID, 200_000, 350_000)
    o4 = place(s2, OFFER, 250_000, 300_000)
    o5 = place(s, OFFER, 100_000, 380_000)
    o6 = place(b2, BID, 150_000, 200_000)
    # escrow: energy at the limit + fee at the fee cap
    assert book.reader.order(o1).held_fen == 120_000 + 4_500
    assert token.balance_of(b.address) == funds[b.address] - 124_500
    assert m.registry.node_info(s.address).reserved_fen == 12_000 + 6_000
    assert m.registry.obligations_of(b2.address) == 2

    # amend: a lower quantity keeps the sequence number; a price change takes a new one
    receipt = book.client(b2).amend_order(o6, 100_000, 200_000)
    (amended,) = book.reader.events(receipt, "OrderAmended")
    assert (amended["args"]["seq"], amended["args"]["heldFen"]) == (6, 20_000 + 1_500)
    receipt = book.client(b2).amend_order(o6, 100_000, 210_000)
    (amended,) = book.reader.events(receipt, "OrderAmended")
    assert (amended["args"]["seq"], amended["args"]["heldFen"]) == (7, 21_000 + 1_500)
    o7 = place(b, BID, 50_000, 150_000)
    receipt = book.client(b).cancel_order(o7)
    (cancelled,) = book.reader.events(receipt, "OrderCancelled")
    assert dict(cancelled["args"]) == {
        "orderId": o7,
        "auctionId": aid,
        "node": b.address,
        "releasedFen": 7_500 + 750,
    }
    assert book.reader.order(o7).status == OrderStatus.CANCELLED

    book.close_gate(aid)
    receipts = book.reader.clear_all(aid, batch=2, steps=3)
    assert len(receipts) >= 4  # ranked in 3 calls, cleared in several bounded calls
    a = book.reader.auction(aid)
    assert (a.phase, a.matched_wh, a.traded_wh, a.trade_count, a.pair_count) == (
        Phase.CLEARED,
        450_000,
        450_000,
        3,
        3,
    )
    matched = [
        e
        for r in receipts
        for e in book.reader.events(r, "AuctionMatched")  # the marginal pair: 350k / 300k
    ]
    assert [dict(e["args"]) for e in matched] == [
        {
            "auctionId": aid,
            "matchedWh": 450_000,
            "pairCount": 3,
            "uniformPriceFenPerMwh": 325_000,
        }
    ]
    fills = book.reader.fills(aid)
    assert [(f.bid_id, f.offer_id, f.energy_wh, f.price_fen_per_mwh) for f in fills] == [
        (o1, o2, 200_000, 325_000),
        (o1, o4, 100_000, 325_000),
        (o3, o4, 150_000, 325_000),
    ]
    trades = [m.seller.market.trade(f.trade_id) for f in fills]
    assert [(t.seller, t.buyer, t.escrow_fen, t.fee_fen, t.status) for t in trades] == [
        (s.address, b.address, 65_000 + 1_200, 1_200, TradeStatus.FORMED),
        (s2.address, b.address, 32_500 + 1_100, 1_100, TradeStatus.FORMED),
        (s2.address, b2.address, 48_750 + 1_800, 1_800, TradeStatus.FORMED),
    ]
    assert all(
        (t.period_id, t.first_interval, t.last_interval) == (m.period.id, 0, 95) for t in trades
    )
    settled = {
        int(e["args"]["orderId"]): (int(e["args"]["tradedWh"]), int(e["args"]["releasedFen"]))
        for r in receipts
        for e in book.reader.events(r, "OrderSettled")
    }
    assert settled == {
        o1: (300_000, 124_500 - 66_200 - 33_600),
        o3: (150_000, 73_000 - 50_550),
        o6: (0, 22_500),
        o2: (200_000, 12_000 - 6_500),
        o4: (250_000, 15_000 - 3_250 - 4_875),
        o5: (0, 6_000),
    }
    # to the fen: buyers paid exactly their trades' escrow; the auction holds nothing
    assert token.balance_of(b.address) == funds[b.address] - 66_200 - 33_600
    assert token.balance_of(b2.address) == funds[b2.address] - 50_550
    assert token.balance_of(book.reader.address) == 0
    assert m.registry.node_info(s.address).reserved_fen == 6_500
    assert m.registry.node_info(s2.address).reserved_fen == 3_250 + 4_875
    # one per node for its trades of the period (held until its deviation settles), no order
    assert m.registry.obligations_of(b.address) == 1
    assert m.registry.obligations_of(s2.address) == 1
    assert m.registry.obligations_of(b2.address) == 1


def test_pair_average_prices_each_pair(book: Book) -> None:
    m = book.market
    aid = book.open(ClearingRule.PAIR_AVERAGE)
    book.allow(m.buyer)
    c_b, c_s, c_s2 = book.client(m.buyer), book.client(m.seller), book.client(m.seller2)
    o1 = c_b.placed_order_id(c_b.place_order(aid, BID, 100_000, 500_000))
    o2 = c_s.placed_order_id(c_s.place_order(aid, OFFER, 60_000, 200_000))
    o3 = c_s2.placed_order_id(c_s2.place_order(aid, OFFER, 60_000, 300_001))
    book.close_gate(aid)
    book.reader.clear_all(aid)
    assert [
        (f.bid_id, f.offer_id, f.energy_wh, f.price_fen_per_mwh) for f in book.reader.fills(aid)
    ] == [(o1, o2, 60_000, 350_000), (o1, o3, 40_000, 400_000)]
    assert book.reader.order(o3).status == OrderStatus.SETTLED


def test_empty_auction_clears(book: Book) -> None:
    aid = book.open()
    book.close_gate(aid)
    receipts = book.reader.clear_all(aid)
    a = book.reader.auction(aid)
    assert (a.phase, a.pair_count, a.traded_wh) == (Phase.CLEARED, 0, 0)
    (cleared,) = book.reader.events(receipts[-1], "AuctionCleared")
    assert dict(cleared["args"]) == {
        "auctionId": aid,
        "tradedWh": 0,
        "tradeCount": 0,
        "by": book.reader.sender.address,
    }
