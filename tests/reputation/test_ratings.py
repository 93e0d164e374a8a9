"""Mutual ratings: who may rate what and when, the events, the O(1) update (exact against
the mirror), decay over chain time, and gas."""

from __future__ import annotations

import pytest

from ledger.clients.registry import code
from ledger.clients.reputation import WAD, ReputationState
from ledger.clients.trading import TradeStatus
from ledger.errors import ContractRevertError
from tests.reputation.conftest import DAY_S, Rep, block_time

LATE = code("LATE_DELIVERY")
ZERO32 = b"\x00" * 32


def revert(call: object) -> ContractRevertError:
    with pytest.raises(ContractRevertError) as err:
        call()  # type: ignore[operator]
    return err.value


def test_first_rating_counts_the_trade_and_updates_the_ratee(rep: Rep) -> None:
    m = rep.market
    seller, buyer = m.seller, m.buyer
    tid = rep.trade(seller, buyer)
    client = rep.of(buyer)
    receipt = client.rate(tid, 4, LATE)
    day = block_time(rep.ctx) // DAY_S
    (rated,) = client.events(receipt, "RatingSubmitted")
    assert dict(rated["args"]) == {
        "tradeId": tid,
        "rater": buyer.address,
        "ratee": seller.address,
        "score": 4,
        "reasonCode": LATE,
    }
    (counted,) = client.events(receipt, "TradeCounted")
    assert dict(counted["args"]) == {
        "tradeId": tid,
        "buyer": buyer.address,
        "seller": seller.address,
        "by": buyer.address,
    }
    updates = {
        e["args"]["node"]: dict(e["args"]) for e in client.events(receipt, "ReputationUpdated")
    }
    seller_state = ReputationState(day=day).rated(4).traded()
    buyer_state = ReputationState(day=day).traded()
    assert updates[seller.address] == {
        "node": seller.address,
        "reputation": seller_state.reputation,
        "positiveWad": 3 * WAD // 4,
        "ratingsWad": WAD,
        "tradesWad": WAD,
        "penaltyWad": 0,
        "updatedDay": day,
    }
    assert updates[buyer.address]["reputation"] == buyer_state.reputation == 363
    assert seller_state.reputation == 393
    assert rep.reader.reputation_of(seller.address) == 393
    info = rep.reader.reputation_info(seller.address)
    assert (info.rating_count, info.trade_count, info.warned) == (1, 1, False)
    rated_at = block_time(rep.ctx)
    ratings = rep.reader.trade_ratings(tid)
    assert (ratings.buyer_score, ratings.seller_score, ratings.counted) == (4, 0, True)
    assert (ratings.buyer_rated_at, ratings.seller_rated_at) == (rated_at, 0)
    assert ratings.buyer_reason == LATE
    assert ratings.seller_reason == ZERO32

    # the other side rates back: no second count of the trade
    receipt = rep.of(seller).rate(tid, 5)
    assert rep.of(seller).events(receipt, "TradeCounted") == []
    (upd,) = client.events(receipt, "ReputationUpdated")
    assert upd["args"]["node"] == buyer.address
    assert upd["args"]["reputation"] == buyer_state.rated(5).reputation
    back = rep.reader.trade_ratings(tid)
    assert (back.buyer_score, back.seller_score, back.counted) == (4, 5, True)
    assert (back.buyer_rated_at, back.seller_rated_at) == (rated_at, block_time(rep.ctx))


def test_ratings_of_neighbouring_trades_are_independent(rep: Rep) -> None:
    """A trade's scores share a storage word with 31 other trade ids: each keeps its own."""
    m = rep.market
    seller, buyer = m.seller, m.buyer
    first, second, third = (rep.trade(seller, buyer) for _ in range(3))
    rep.of(buyer).rate(second, 2)
    rep.of(seller).rate(third, 5)
    rep.reader.record_trade(first)
    got = {t: rep.reader.trade_ratings(t) for t in (first, second, third)}
    assert (got[first].buyer_score, got[first].seller_score, got[first].counted) == (0, 0, True)
    assert (got[second].buyer_score, got[second].seller_score, got[second].counted) == (
        2,
        0,
        True,
    )
    assert (got[third].buyer_score, got[third].seller_score, got[third].counted) == (0, 5, True)
    assert revert(lambda: rep.of(buyer).rate(second, 3)).name == "AlreadyRated"
    rep.of(buyer).rate(third, 1)
    assert rep.reader.trade_ratings(third).buyer_score == 1
    assert revert(lambda: rep.reader.record_trade(third)).name == "TradeAlreadyCounted"


def test_rating_rules(rep: Rep) -> None:
    m = rep.market
    seller, buyer, other = m.seller, m.buyer, m.buyer2
    tid = rep.trade(seller, buyer)
    open_tid = rep.trade(seller, buyer, settle=False)
    failed_tid = rep.trade(seller, other, settle=False)
    m.settler.close_trade(failed_tid, TradeStatus.FAILED)

    for score in (0, 6):
        err = revert(lambda s=score: rep.of(buyer).rate(tid, s))
        assert (err.name, err.arguments) == ("InvalidScore", {"score": score})
    err = revert(lambda: rep.of(buyer).rate(open_tid, 5))
    assert (err.name, err.arguments) == ("TradeNotSettled", {"tradeId": open_tid, "status": 1})
    err = revert(lambda: rep.of(other).rate(failed_tid, 1))
    assert (err.name, err.arguments) == ("TradeNotSettled", {"tradeId": failed_tid, "status": 4})
    err = revert(lambda: rep.of(other).rate(tid, 1))
    assert (err.name, err.arguments) == (
        "NotTradeParty",
        {"tradeId": tid, "caller": other.address},
    )
    err = revert(lambda: rep.of(buyer).rate(999, 5))
    assert (err.name, err.arguments) == ("UnknownTrade", {"tradeId": 999})

    rep.of(buyer).rate(tid, 5)
    err = revert(lambda: rep.of(buyer).rate(tid, 4))
    assert (err.name, err.arguments) == ("AlreadyRated", {"tradeId": tid, "rater": buyer.address})
    err = revert(lambda: rep.stranger.record_trade(tid))
    assert (err.name, err.arguments) == ("TradeAlreadyCounted", {"tradeId": tid})

    # the window closes 30 days after the period's delivery end
    closes = m.period.delivery_end + 30 * DAY_S
    assert rep.reader.rating_closes_at(tid) == closes
    rep.ctx.w3.provider.make_request("evm_setNextBlockTimestamp", [closes - 1])  # type: ignore[arg-type]
    rep.of(seller).rate(tid, 3)  # last second inside
    rep.ctx.w3.provider.make_request("evm_setNextBlockTimestamp", [closes + 5])  # type: ignore[arg-type]
    err = revert(lambda: rep.stranger.record_trade(open_tid))
    assert err.name == "TradeNotSettled"
    m.settler.close_trade(open_tid, TradeStatus.SETTLED)
    now = block_time(rep.ctx)
    assert now >= closes
    err = revert(lambda: rep.of(seller).rate(open_tid, 5))
    assert err.name == "RatingWindowClosed"
    assert err.arguments["tradeId"] == open_tid
    assert err.arguments["closesAt"] == closes
    assert err.arguments["nowS"] >= closes


def test_record_trade_counts_both_parties_once(rep: Rep) -> None:
    m = rep.market
    tid = rep.trade(m.seller, m.buyer)
    receipt = rep.stranger.record_trade(tid)
    (ev,) = rep.stranger.events(receipt, "TradeCounted")
    assert ev["args"]["by"] == rep.stranger.sender.address
    for node in (m.seller.address, m.buyer.address):
        info = rep.reader.reputation_info(node)
        assert (info.trade_count, info.trades_wad, info.rating_count) == (1, WAD, 0)
        assert info.reputation == 363  # 500 x (0.7 + 0.3 / 11)
    # a later rating does not count it again
    receipt = rep.of(m.buyer).rate(tid, 5)
    assert rep.reader.reputation_info(m.seller.address).trade_count == 1
    assert rep.reader.events(receipt, "TradeCounted") == []


def test_many_ratings_exact_and_decay_over_chain_time(rep: Rep) -> None:
    m = rep.market
    seller = m.seller
    scores = [5, 4, 5, 1, 5, 3, 5, 2]
    trades = [
        rep.trade(seller, m.buyer if i % 2 == 0 else m.buyer2) for i in range(len(scores) + 1)
    ]
    day = rep.goto_midday(1)
    expected = ReputationState(day=day)
    for tid, score in zip(trades, scores, strict=False):
        buyer = m.buyer if trades.index(tid) % 2 == 0 else m.buyer2
        rep.of(buyer).rate(tid, score)
        expected = expected.rated(score).traded()
    assert rep.reader.reputation_of(seller.address) == expected.reputation == 512

    # 20 days later: the view decays lazily, the stored sums stay until the next update
    day = rep.goto_midday(20)
    later = expected.decayed(day)
    assert rep.reader.reputation_of(seller.address) == later.reputation
    stored = rep.reader.reputation_info(seller.address)
    assert stored.ratings_wad == len(scores) * WAD
    assert stored.reputation == later.reputation
    # a rating now applies the decay first (exact fixed point)
    last = trades[-1]
    buyer = m.buyer if (len(trades) - 1) % 2 == 0 else m.buyer2
    rep.of(buyer).rate(last, 5)
    after = later.rated(5).traded()
    info = rep.reader.reputation_info(seller.address)
    assert info.state == after
    assert info.reputation == after.reputation

    # half a year without trading: back towards the prior
    day = rep.goto_midday(180)
    assert rep.reader.reputation_of(seller.address) == after.decayed(day).reputation
    assert 350 < after.decayed(day).reputation < after.reputation


def test_gas_per_rating(rep: Rep) -> None:
    m = rep.market
    t1 = rep.trade(m.seller, m.buyer)
    t2 = rep.trade(m.seller, m.buyer)
    first = rep.of(m.buyer).rate(t1, 5)["gasUsed"]  # counts the trade: 2 nodes updated
    back = rep.of(m.seller).rate(t1, 5)["gasUsed"]  # 1 node, trade already counted
    again = rep.of(m.buyer).rate(t2, 4, LATE)["gasUsed"]
    print(f"gas per rating: first {first}, second side {back}, with reason {again}")
    assert first < 230_000  # 5 fresh storage slots (trade, 2 per node)
    assert back < 120_000
    assert again < 180_000
