"""Clearing steps cost the same gas whatever the size of the book (each step is O(1))."""

from __future__ import annotations

from statistics import median_low

from ledger.clients.auction import ClearingRule, OrderSide, Phase
from tests.auction.conftest import MIN_LOT_WH, Book


def step_gas(book: Book, orders: int) -> dict[Phase, int]:
    """The median gas of one clearing step of each phase, for a book of ``orders`` bids and
    as many offers, each pair matching one to one (a node's first trade of a period and a
    route's first use cost more: the median is the steady step)."""
    m = book.market
    aid = book.open(ClearingRule.UNIFORM)
    book.allow(m.buyer)
    bidder, seller = book.client(m.buyer), book.client(m.seller)
    for k in range(orders):
        bidder.place_order(aid, OrderSide.BID, MIN_LOT_WH, 400_000 - k)
        seller.place_order(aid, OrderSide.OFFER, MIN_LOT_WH, 200_000 + k)
    book.close_gate(aid)
    bids, offers = [], []
    for o in book.reader.book(aid):
        (bids if o.bid else offers).append(o.order_id)
    book.reader.rank(aid, bids + offers)  # prices already in priority order
    gas: dict[Phase, list[int]] = {}
    while (phase := book.reader.auction(aid).phase) != Phase.CLEARED:
        receipt = book.reader.clear(aid, 1)
        gas.setdefault(max(phase, Phase.MATCHING), []).append(int(receipt["gasUsed"]))
    return {phase: median_low(values) for phase, values in gas.items()}


def test_step_gas_is_flat_in_book_size(book: Book) -> None:
    small = step_gas(book, 2)
    large = step_gas(book, 12)
    for phase in (Phase.MATCHING, Phase.FORMING, Phase.REFUNDING):
        assert abs(large[phase] - small[phase]) <= 0.05 * small[phase], (phase, small, large)
