"""Credit top-up deadline and rating window reminders on the trading fixture's market
(tests/reputation: a credit level drop opens a top-up deadline; settled trades open a
rating window)."""

from __future__ import annotations

from ledger.units import fen_to_cny
from tests.notify.conftest import Centre
from tests.reputation.conftest import Rep, advance_time, block_time, market, rep
from tests.reputation.test_credit import AAA, BBB, GRACE_S, TABLE, set_bond

__all__ = ["market", "rep"]
LEAD_S = 86_400  # the default GRIDLEDGER_NOTIFY_LEAD_S


def test_top_up_deadline_reminded_when_opened_and_a_day_before(rep: Rep, centre: Centre) -> None:
    seller = rep.market.seller
    me = seller.address
    rep.agency.post_credit_level(me, AAA, 0)
    set_bond(rep, seller, 5_000_000)
    assert centre.new(me, "credit") == []

    rep.agency.post_credit_level(me, BBB, 0)
    deadline = block_time(rep.ctx) + GRACE_S
    (r,) = centre.new(me, "credit")
    short = TABLE[BBB] - 5_000_000
    assert (r.key, r.at) == (f"credit:top-up@{deadline}:opened", deadline)
    assert r.detail == (
        f"raise the bond by {fen_to_cny(short)} CNY to {fen_to_cny(TABLE[BBB])} CNY by "
        f"{deadline}, or trading is blocked"
    )
    assert centre.new(me, "credit") == []

    advance_time(rep.ctx, deadline - LEAD_S - block_time(rep.ctx) - 60)
    assert centre.new(me, "credit") == []
    advance_time(rep.ctx, 120)
    (r,) = centre.new(me, "credit")
    assert r.key == f"credit:top-up@{deadline}:due soon"
    assert centre.new(me, "credit") == []
    # topped up and cleared: nothing more to remind
    set_bond(rep, seller, TABLE[BBB])
    rep.stranger.clear_top_up(me)
    assert centre.new(me, "credit") == []


def test_rating_window_closing_reminded_to_who_has_not_rated(rep: Rep, centre: Centre) -> None:
    seller, buyer = rep.market.seller, rep.market.buyer
    trade_id = rep.trade(seller, buyer)
    closes = rep.reader.rating_closes_at(trade_id)
    now = block_time(rep.ctx)
    assert closes - now > LEAD_S + 60
    assert centre.new(seller.address, "rating") == []
    advance_time(rep.ctx, closes - LEAD_S - now - 60)
    assert centre.new(seller.address, "rating") == []
    advance_time(rep.ctx, 120)
    rep.of(buyer).rate(trade_id, 5)
    (r,) = centre.new(seller.address, "rating")
    assert (r.key, r.at) == (f"rating:trade {trade_id}:closing", closes)
    assert centre.new(buyer.address, "rating") == []  # the buyer rated already
    assert centre.new(seller.address, "rating") == []  # once
    advance_time(rep.ctx, closes - block_time(rep.ctx) + 1)
    assert centre.new(seller.address, "rating") == []  # closed: nothing to remind
