"""The chain's clearing equals the pure-Python reference (ledger/auction_clearing.py) on
random books: ties in price (time priority decides), partial fills, orders at the floor
and the cap, amendments and cancellations (the priority rule kept by the test itself),
both rules, clearing cranked in 1..7 steps, and the refunds to the fen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.auction_clearing import BookOrder, clear
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


#: Amendments and cancellations after placing: (order index, what, new price).
ACTIONS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=11),
        st.sampled_from(["price", "less", "more", "cancel"]),
        PRICES,
    ),
    max_size=4,
)


@dataclass
class Mine:
    """The test's own record of an order (independent of the chain's)."""

    order_id: int
    node: str
    bid: bool
    seq: int
    energy_wh: int
    price_fen_per_mwh: int
    live: bool = True


def amend_or_cancel(book: Book, mine: list[Mine], actions: list[Any], next_seq: int) -> None:
    """Apply ``actions`` on chain and to ``mine`` by the priority rule: a price change or a
    larger quantity takes the next sequence number, a smaller quantity keeps it."""
    m = book.market
    nodes = {a.address: a for a in (m.seller, m.seller2, m.buyer, m.buyer2)}
    for index, what, price in actions:
        if not mine or not mine[index % len(mine)].live:
            continue
        o = mine[index % len(mine)]
        c = book.client(nodes[o.node])
        if what == "cancel":
            c.cancel_order(o.order_id)
            o.live = False
            continue
        energy = {
            "price": o.energy_wh,
            "less": max(MIN_LOT_WH, o.energy_wh - MIN_LOT_WH),
            "more": o.energy_wh + MIN_LOT_WH,
        }[what]
        price = price if what == "price" else o.price_fen_per_mwh
        c.amend_order(o.order_id, energy, price)
        if price != o.price_fen_per_mwh or energy > o.energy_wh:
            o.seq, next_seq = next_seq, next_seq + 1
        o.energy_wh, o.price_fen_per_mwh = energy, price


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    orders=ORDERS,
    actions=ACTIONS,
    uniform=st.booleans(),
    steps=st.integers(min_value=1, max_value=7),
)
def test_chain_clearing_matches_reference(
    book: Book,
    orders: list[tuple[int, int, int]],
    actions: list[Any],
    uniform: bool,
    steps: int,
) -> None:
    m = book.market
    actors = [m.seller, m.seller2, m.buyer, m.buyer2]
    for buyer in (m.buyer, m.buyer2):
        book.allow(buyer)
    aid = book.open(ClearingRule.UNIFORM if uniform else ClearingRule.PAIR_AVERAGE)
    mine: list[Mine] = []
    first_seq = 0
    for who, energy_wh, price in orders:
        side = OrderSide.OFFER if who < 2 else OrderSide.BID
        c = book.client(actors[who])
        order_id = c.placed_order_id(c.place_order(aid, side, energy_wh, price))
        first_seq = first_seq or c.order(order_id).seq
        seq = first_seq + len(mine)
        mine.append(Mine(order_id, actors[who].address, who >= 2, seq, energy_wh, price))
    amend_or_cancel(book, mine, actions, first_seq + len(mine))
    held = {o.order_id: book.reader.order(o.order_id).held_fen for o in mine if o.live}
    book.close_gate(aid)
    live = [
        BookOrder(o.order_id, o.node, o.bid, o.seq, o.energy_wh, o.price_fen_per_mwh)
        for o in mine
        if o.live
    ]
    assert sorted(book.reader.book(aid), key=lambda o: o.order_id) == live
    reference = clear(live, uniform=uniform)
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
    bids = {o.order_id for o in live if o.bid}
    assert {k: v for k, v in settled.items() if k in bids} == {k: held[k] - spent[k] for k in bids}
    assert m.token.balance_of(book.reader.address) == 0
