"""Anchored and direct orders in one book clear as the pure-Python reference says, with
the book re-derived from chain data alone (the intake's anchor logs and the auction's
OrderPlaced logs): time priority is the order of entry, anchored batches in intake
sequence order."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.auction_clearing import BookOrder, clear
from ledger.clients.auction import ClearingRule, OrderSide, Phase
from ledger.clients.intake import AnchorEntry
from tests.auction.conftest import CAP, FLOOR, MIN_LOT_WH
from tests.intake.conftest import Desk

PRICES = st.sampled_from([FLOOR, 250_000, 300_000, 300_001, CAP])
ORDERS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # seller, seller2, buyer, buyer2
        st.integers(min_value=1, max_value=8).map(lambda k: k * MIN_LOT_WH),
        PRICES,
        st.booleans(),  # through the intake (else directly on chain)
    ),
    max_size=10,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(orders=ORDERS, uniform=st.booleans())
def test_anchored_and_direct_orders_clear_as_the_reference(
    desk: Desk, orders: list[tuple[int, int, int, bool]], uniform: bool
) -> None:
    book, m = desk.book, desk.book.market
    actors = [m.seller, m.seller2, m.buyer, m.buyer2]
    for buyer in (m.buyer, m.buyer2):
        book.allow(buyer)
    aid = book.open(ClearingRule.UNIFORM if uniform else ClearingRule.PAIR_AVERAGE)
    _, intake_seq, _ = desk.intake.state()
    pending: list[AnchorEntry] = []
    expected: list[tuple[str, bool, int, int]] = []  # in time priority order

    def flush() -> None:
        if pending:
            desk.intake.anchor(pending)
            pending.clear()

    for who, energy_wh, price, via_intake in orders:
        side = OrderSide.OFFER if who < 2 else OrderSide.BID
        expected.append((actors[who].address, who >= 2, energy_wh, price))
        if via_intake:
            intake_seq += 1
            pending.append(
                desk.entry(intake_seq, desk.order(actors[who], aid, side, energy_wh, price))
            )
        else:
            flush()
            book.client(actors[who]).place_order(aid, side, energy_wh, price)
    flush()
    book.close_gate(aid)

    chain_book = sorted(book.reader.book(aid), key=lambda o: o.seq)
    assert [(o.node, o.bid, o.energy_wh, o.price_fen_per_mwh) for o in chain_book] == expected
    anchored = {o.order_id for o in desk.intake.anchored_outcomes() if o.order_id is not None}
    assert len(anchored & {o.order_id for o in chain_book}) == sum(x[3] for x in orders)
    reference = clear(
        [
            BookOrder(o.order_id, o.node, o.bid, o.seq, o.energy_wh, o.price_fen_per_mwh)
            for o in chain_book
        ],
        uniform=uniform,
    )
    book.reader.clear_all(aid, batch=4, steps=5)
    a = book.reader.auction(aid)
    assert a.phase == Phase.CLEARED
    assert a.traded_wh == reference.matched_wh
    assert [
        (f.bid_id, f.offer_id, f.energy_wh, f.price_fen_per_mwh) for f in book.reader.fills(aid)
    ] == [(x.bid_id, x.offer_id, x.energy_wh, x.price_fen_per_mwh) for x in reference.matches]
    assert m.token.balance_of(book.reader.address) == 0
