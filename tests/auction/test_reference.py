"""The chain's clearing equals the pure-Python reference (ledger/auction_clearing.py) on
random books: ties in price (time priority decides), partial fills, orders at the floor
and the cap, both rules, and the refunds to the fen."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.auction_clearing import clear
from ledger.clients.auction import ClearingRule, OrderSide, Phase
from tests.auction.conftest import CAP, FLOOR, MIN_LOT_WH, Book

#: A few prices, so ties are common; the floor and the cap included.
PRICES = st.sampled_from([FLOOR, 200_000, 250_000, 300_000, 300_001, 450_000, CAP])
ORDERS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # seller, seller2, buyer, buyer2
        st.integers(min_value=1, max_value=10).map(lambda k: k * MIN_LOT_WH),
        PRICES,
    ),
    min_size=0,
    max_size=12,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(orders=ORDERS, uniform=st.booleans(), steps=st.integers(min_value=1, max_value=7))
def test_chain_clearing_matches_reference(
    book: Book, orders: list[tuple[int, int, int]], uniform: bool, steps: int
) -> None:
    m = book.market
    actors = [m.seller, m.seller2, m.buyer, m.buyer2]
    for buyer in (m.buyer, m.buyer2):
        book.allow(buyer)
    aid = book.open(ClearingRule.UNIFORM if uniform else ClearingRule.PAIR_AVERAGE)
    held: dict[int, int] = {}
    for who, energy_wh, price in orders:
        side = OrderSide.OFFER if who < 2 else OrderSide.BID
        c = book.client(actors[who])
        order_id = c.placed_order_id(c.place_order(aid, side, energy_wh, price))
        held[order_id] = c.order(order_id).held_fen
    book.close_gate(aid)
    reference = clear(book.reader.book(aid), uniform=uniform)
    receipts = book.reader.clear_all(aid, batch=5, steps=steps)

    a = book.reader.auction(aid)
    assert a.phase == Phase.CLEARED
    assert a.matched_wh == reference.matched_wh == a.traded_wh
    chain = [
        (f.bid_id, f.offer_id, f.energy_wh, f.price_fen_per_mwh) for f in book.reader.fills(aid)
    ]
    assert chain == [
        (x.bid_id, x.offer_id, x.energy_wh, x.price_fen_per_mwh) for x in reference.matches
    ]
    matched = [e for r in receipts for e in book.reader.events(r, "AuctionMatched")]
    assert [int(e["args"]["uniformPriceFenPerMwh"]) for e in matched] == [
        reference.uniform_price_fen_per_mwh
    ]
    # refunds to the fen: a bid gets back its escrow less its trades' escrow
    spent: dict[int, int] = dict.fromkeys(held, 0)
    for f in book.reader.fills(aid):
        spent[f.bid_id] += m.seller.market.trade(f.trade_id).escrow_fen
    settled = {
        int(e["args"]["orderId"]): int(e["args"]["releasedFen"])
        for r in receipts
        for e in book.reader.events(r, "OrderSettled")
    }
    bids = {o.order_id for o in book.reader.book(aid) if o.bid}
    assert {k: v for k, v in settled.items() if k in bids} == {k: held[k] - spent[k] for k in bids}
    assert m.token.balance_of(book.reader.address) == 0
