"""The centralised auction's clearing, in pure Python: the reference the chain is checked
against (tests/auction) and what anyone re-derives a result with from chain data alone.

Rules (docs/auction.md): bids by price descending then sequence number, offers by price
ascending then sequence number; the queue heads match while the bid's limit >= the offer's,
each step one pair of ``min(left, left)`` Wh. Prices: ``uniform`` -- every pair at
``(b + o) // 2`` of the last matched pair's limits (the marginal pair); ``pair_average`` --
each pair at ``(b + o) // 2`` of its own limits (high-low matching).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BookOrder:
    """A live order as clearing reads it."""

    order_id: int
    node: str
    bid: bool
    seq: int
    energy_wh: int
    price_fen_per_mwh: int


@dataclass(frozen=True)
class Match:
    """One matched pair and its price under the auction's rule."""

    bid_id: int
    offer_id: int
    energy_wh: int
    price_fen_per_mwh: int


@dataclass(frozen=True)
class Result:
    """A clearing: the pairs in order, the uniform price (0 under pair average or without a
    match) and the matched energy."""

    matches: list[Match]
    uniform_price_fen_per_mwh: int
    matched_wh: int


def priority_order(book: list[BookOrder]) -> tuple[list[BookOrder], list[BookOrder]]:
    """Bids (price descending, then sequence) and offers (price ascending, then sequence)."""
    bids = sorted((o for o in book if o.bid), key=lambda o: (-o.price_fen_per_mwh, o.seq))
    offers = sorted((o for o in book if not o.bid), key=lambda o: (o.price_fen_per_mwh, o.seq))
    return bids, offers


def clear(book: list[BookOrder], *, uniform: bool) -> Result:
    """Match the book by price then time priority and price the pairs by the rule."""
    bids, offers = priority_order(book)
    left = {o.order_id: o.energy_wh for o in book}
    pairs: list[tuple[BookOrder, BookOrder, int]] = []
    i = j = 0
    while i < len(bids) and j < len(offers):
        b, s = bids[i], offers[j]
        if b.price_fen_per_mwh < s.price_fen_per_mwh:
            break
        q = min(left[b.order_id], left[s.order_id])
        pairs.append((b, s, q))
        left[b.order_id] -= q
        left[s.order_id] -= q
        i += left[b.order_id] == 0
        j += left[s.order_id] == 0
    marginal = 0
    if uniform and pairs:
        b, s, _ = pairs[-1]
        marginal = (b.price_fen_per_mwh + s.price_fen_per_mwh) // 2
    matches = [
        Match(
            b.order_id,
            s.order_id,
            q,
            marginal if uniform else (b.price_fen_per_mwh + s.price_fen_per_mwh) // 2,
        )
        for b, s, q in pairs
    ]
    return Result(matches, marginal, sum(q for _, _, q in pairs))


def step_curves(
    book: list[BookOrder],
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Demand and supply step curves: (cumulative Wh, price fen/MWh) at each order's end,
    in priority order."""
    bids, offers = priority_order(book)

    def curve(orders: list[BookOrder]) -> list[tuple[int, int]]:
        total, out = 0, []
        for o in orders:
            total += o.energy_wh
            out.append((total, o.price_fen_per_mwh))
        return out

    return curve(bids), curve(offers)
