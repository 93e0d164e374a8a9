"""TradingMarket: periods, both modes end to end, escrow, exposure, settlement hooks."""

from __future__ import annotations

import pytest

from ledger.clients.access import role_id
from ledger.clients.trading import ListingSide, ListingStatus, TradeStatus, TradingMarketClient
from ledger.errors import ContractRevertError
from ledger.units import exposure_fen
from ledger.units import value_fen as energy_fen
from tests.conftest import role_account
from tests.trading.conftest import (
    DELIVERY_STARTS_IN_S,
    FUNDS_FEN,
    TAKING_CLOSES_IN_S,
    TAKING_OPENS_IN_S,
    Market,
    block_time,
)

ZERO32 = b"\x00" * 32
TERMS = bytes.fromhex("11" * 32)
PRICE = 350_000  # fen/MWh = 350 CNY/MWh
#: North (0) -> Coast (2) -> City (3): 3,000 + 1,000 + 2,000.
ROUTE_N_TO_CITY = [0, 2, 3]
SUM_N_TO_CITY = 6_000


def test_open_period_stores_windows_and_emits(market: Market) -> None:
    ctx, op = market.ctx, market.operator
    now = block_time(ctx)
    receipt = op.open_period(
        now + 100_000, now + 10, now + 20, now + 30, interval_s=3600, intervals=24
    )
    (ev,) = op.events(receipt, "PeriodOpened")
    assert dict(ev["args"]) == {
        "period": 2,
        "deliveryStart": now + 100_000,
        "intervalS": 3600,
        "intervals": 24,
        "postingOpensAt": now + 10,
        "takingOpensAt": now + 20,
        "takingClosesAt": now + 30,
        "operator": op.sender.address,
    }
    p = op.period(2)
    assert (p.interval_s, p.intervals, p.delivery_end) == (3600, 24, now + 100_000 + 86_400)
    assert op.period_count() == 2


def test_open_period_checks(market: Market) -> None:
    op = market.operator
    now = block_time(market.ctx)
    with pytest.raises(ContractRevertError) as err:
        op.open_period(now + 1000, now, now + 10, now + 20, intervals=0)
    assert (err.value.name, err.value.arguments) == (
        "InvalidPeriodLength",
        {"intervalS": 900, "intervals": 0},
    )
    with pytest.raises(ContractRevertError) as err:
        op.open_period(now + 15, now, now + 10, now + 20)  # taking closes after delivery
    assert err.value.name == "InvalidPeriodWindows"
    assert err.value.arguments["deliveryStart"] == now + 15
    with pytest.raises(ContractRevertError) as err:
        market.seller.market.open_period(now + 1000, now, now + 10, now + 20)
    assert err.value.name == "AccessControlUnauthorizedAccount"
    assert err.value.arguments["neededRole"] == role_id("OPERATOR")
    with pytest.raises(ContractRevertError) as err:
        op.period(9)
    assert (err.value.name, err.value.arguments) == ("UnknownPeriod", {"periodId": 9})


def test_mode1_seller_posts_buyer_takes_end_to_end(market: Market) -> None:
    s, b, m = market.seller, market.buyer, market.settler
    pid = market.period.id
    receipt = s.market.post(
        ListingSide.SELL, pid, 32, 35, 4_000_000, PRICE, min_take_wh=500_000, terms_hash=TERMS
    )
    lid = s.market.posted_listing_id(receipt)
    (ev,) = s.market.events(receipt, "ListingPosted")
    assert dict(ev["args"]) == {
        "listingId": lid,
        "maker": s.address,
        "period": pid,
        "side": 0,
        "region": 0,
        "firstInterval": 32,
        "lastInterval": 35,
        "energyWh": 4_000_000,
        "minTakeWh": 500_000,
        "priceFenPerMwh": PRICE,
        "expiresAt": market.period.taking_closes_at,
        "termsHash": TERMS,
    }
    listing = s.market.listing(lid)
    assert listing.status == ListingStatus.OPEN
    assert listing.remaining_wh == 4_000_000
    assert market.registry.obligations_of(s.address) == 1

    q = b.market.quote(lid, b.region, 1_500_000)
    fee = 1_500_000 * SUM_N_TO_CITY // 1_000_000
    value = energy_fen(1_500_000, PRICE)
    assert (q.route, q.sum_rate_fen_per_mwh, q.fee_fen) == (ROUTE_N_TO_CITY, SUM_N_TO_CITY, fee)
    assert q.escrow_fen == value + fee == 525_000 + 9_000

    market.open_taking()
    b.allow(q.escrow_fen)
    balance_before = b.token.balance_of(b.address)
    receipt = b.market.take(lid, 1_500_000, PRICE)
    tid = b.market.created_trade_id(receipt)
    (created,) = b.market.events(receipt, "TradeCreated")
    assert dict(created["args"]) == {
        "tradeId": tid,
        "listingId": lid,
        "period": pid,
        "buyer": b.address,
        "seller": s.address,
        "taker": b.address,
        "energyWh": 1_500_000,
        "priceFenPerMwh": PRICE,
        "prepaymentFen": q.escrow_fen,
        "remainingWh": 2_500_000,
    }
    (routed,) = b.market.events(receipt, "TradeRouted")
    assert dict(routed["args"]) == {
        "tradeId": tid,
        "firstInterval": 32,
        "lastInterval": 35,
        "route": ROUTE_N_TO_CITY,
        "sumRateFenPerMwh": SUM_N_TO_CITY,
        "feeFen": fee,
        "exposureFen": exposure_fen(value, 1_000),
    }
    t = b.market.trade(tid)
    assert (t.buyer, t.seller, t.status, t.route, t.fee_fen) == (
        b.address,
        s.address,
        TradeStatus.FORMED,
        ROUTE_N_TO_CITY,
        fee,
    )
    assert t.escrow_fen == value + fee
    assert t.energy_fen == value
    assert b.token.balance_of(b.address) == balance_before - t.escrow_fen
    assert market.token.balance_of(b.market.address) == t.escrow_fen == b.market.total_escrow_fen()
    assert b.market.escrow_of(tid) == t.escrow_fen
    assert market.registry.node_info(s.address).reserved_fen == 52_500  # ceil(525,000 * 10 %)
    assert market.registry.obligations_of(s.address) == 2  # the listing and the trade
    assert market.registry.obligations_of(b.address) == 1
    assert b.market.listing(lid).remaining_wh == 2_500_000
    assert [x.id for x in b.market.trades_of(s.address)] == [tid]
    assert [x.id for x in b.market.period_trades(pid)] == [tid]

    # settlement: dispatched, seller paid the energy, grid company the fee, buyer refunded
    receipt = m.mark_dispatched(tid, 1_400_000, 100_000)
    (st,) = m.events(receipt, "TradeStatusChanged")
    assert dict(st["args"]) == {
        "tradeId": tid,
        "previous": TradeStatus.FORMED,
        "status": TradeStatus.DISPATCHED,
        "by": m.sender.address,
    }
    seller_before = market.token.balance_of(s.address)
    receipt = m.pay_out(tid, s.address, energy_fen(1_400_000, PRICE))
    (paid,) = m.events(receipt, "EscrowPaidOut")
    assert dict(paid["args"]) == {
        "tradeId": tid,
        "to": s.address,
        "amountFen": 490_000,
        "remainingFen": t.escrow_fen - 490_000,
        "by": m.sender.address,
    }
    assert market.token.balance_of(s.address) == seller_before + 490_000
    buyer_before = market.token.balance_of(b.address)
    receipt = m.close_trade(tid, TradeStatus.SETTLED)
    (refund,) = m.events(receipt, "EscrowPaidOut")
    assert refund["args"]["to"] == b.address
    assert refund["args"]["amountFen"] == 44_000
    assert market.token.balance_of(b.address) == buyer_before + 44_000
    assert m.trade(tid).status == TradeStatus.SETTLED
    assert m.escrow_of(tid) == 0
    assert m.total_escrow_fen() == 0 == market.token.balance_of(m.address)
    assert market.registry.node_info(s.address).reserved_fen == 0
    # the listing is still open; the period's obligation of each party is held until its
    # deviation of the period settles (SettlementEngine.settleDeviation)
    assert market.registry.obligations_of(s.address) == 2
    assert market.registry.obligations_of(b.address) == 1


def test_mode2_buyer_posts_seller_takes_end_to_end(market: Market) -> None:
    s, b = market.seller, market.buyer
    pid = market.period.id
    lid = b.market.posted_listing_id(b.market.post(ListingSide.BUY, pid, 0, 95, 2_000_000, PRICE))
    assert b.market.listing(lid).region == 3
    q = s.market.quote(lid, s.region, 2_000_000)
    assert (q.route, q.fee_fen) == (ROUTE_N_TO_CITY, 12_000)
    b.allow(q.escrow_fen)
    market.open_taking()
    receipt = s.market.take(lid, 2_000_000, PRICE)
    tid = s.market.created_trade_id(receipt)
    (created,) = s.market.events(receipt, "TradeCreated")
    assert (created["args"]["buyer"], created["args"]["seller"], created["args"]["taker"]) == (
        b.address,
        s.address,
        s.address,
    )
    assert created["args"]["remainingWh"] == 0
    t = s.market.trade(tid)
    assert t.escrow_fen == 700_000 + 12_000 == q.escrow_fen
    assert market.token.balance_of(b.address) == FUNDS_FEN - t.escrow_fen
    assert s.market.listing(lid).status == ListingStatus.FILLED
    assert s.market.open_listing_count() == 0
    assert market.registry.obligations_of(b.address) == 1  # listing closed, trade open
    # a failed trade refunds the whole prepayment
    market.settler.close_trade(tid, TradeStatus.FAILED)
    assert market.token.balance_of(b.address) == FUNDS_FEN
    # each party's obligation of the period: held until its deviation of the period settles
    assert market.registry.obligations_of(b.address) == 1
    assert market.registry.obligations_of(s.address) == 1
    assert market.registry.node_info(s.address).reserved_fen == 0


def test_amend_cancel_expire(market: Market) -> None:
    s, b = market.seller, market.buyer
    pid = market.period.id
    lid = s.market.posted_listing_id(s.market.post(ListingSide.SELL, pid, 0, 3, 1_000_000, PRICE))
    receipt = s.market.amend(lid, 400_000, 3_000_000)
    (ev,) = s.market.events(receipt, "ListingAmended")
    assert dict(ev["args"]) == {
        "listingId": lid,
        "maker": s.address,
        "priceFenPerMwh": 400_000,
        "remainingWh": 3_000_000,
        "energyWh": 3_000_000,
        "previousPriceFenPerMwh": PRICE,
        "previousRemainingWh": 1_000_000,
    }
    with pytest.raises(ContractRevertError) as err:
        b.market.amend(lid, 1, 1)
    assert (err.value.name, err.value.arguments) == (
        "NotListingMaker",
        {"listingId": lid, "caller": b.address},
    )
    with pytest.raises(ContractRevertError) as err:
        b.market.cancel(lid)
    assert err.value.name == "NotListingMaker"
    receipt = s.market.cancel(lid)
    (ev,) = s.market.events(receipt, "ListingCancelled")
    assert dict(ev["args"]) == {"listingId": lid, "maker": s.address, "remainingWh": 3_000_000}
    assert s.market.listing(lid).status == ListingStatus.CANCELLED
    assert market.registry.obligations_of(s.address) == 0
    with pytest.raises(ContractRevertError) as err:
        s.market.cancel(lid)
    assert (err.value.name, err.value.arguments) == (
        "ListingNotOpen",
        {"listingId": lid, "status": ListingStatus.CANCELLED},
    )

    now = block_time(market.ctx)
    lid2 = s.market.posted_listing_id(
        s.market.post(ListingSide.SELL, pid, 0, 0, 1_000, PRICE, expires_at=now + 50)
    )
    with pytest.raises(ContractRevertError) as err:
        b.market.expire_listing(lid2)
    assert err.value.name == "ListingNotExpired"
    market.open_taking()
    receipt = b.market.expire_listing(lid2)
    (ev,) = b.market.events(receipt, "ListingExpired")
    assert dict(ev["args"]) == {
        "listingId": lid2,
        "maker": s.address,
        "remainingWh": 1_000,
        "by": b.address,
    }
    assert s.market.open_listing_count() == 0
    assert market.registry.obligations_of(s.address) == 0


def test_paging_views(market: Market) -> None:
    s = market.seller
    pid = market.period.id
    ids = [
        s.market.posted_listing_id(s.market.post(ListingSide.SELL, pid, 0, 0, 1_000 + i, PRICE))
        for i in range(5)
    ]
    assert s.market.listing_count() == 5
    assert s.market.open_listing_count() == 5
    s.market.cancel(ids[1])  # swap and pop: the last moves into position 1
    assert [x.id for x in s.market.open_listings(0, 10)] == [ids[0], ids[4], ids[2], ids[3]]
    assert [x.id for x in s.market.open_listings(1, 2)] == [ids[4], ids[2]]
    assert s.market.open_listings(10, 5) == []
    assert s.market.listing_count_of(s.address) == 5
    assert [x.id for x in s.market.listings_of(s.address, 3, 10)] == ids[3:]
    assert s.market.trades_of(s.address) == []
    assert s.market.period_trades(pid) == []
    with pytest.raises(ContractRevertError) as err:
        s.market.listing(99)
    assert err.value.name == "UnknownListing"
    with pytest.raises(ContractRevertError) as err:
        s.market.trade(1)
    assert err.value.name == "UnknownTrade"


def test_settlement_hooks_are_restricted_and_checked(market: Market) -> None:
    s, b, m = market.seller, market.buyer, market.settler
    lid = s.market.posted_listing_id(
        s.market.post(ListingSide.SELL, market.period.id, 0, 0, 1_000_000, PRICE)
    )
    market.open_taking()
    b.allow(10**12)
    tid = b.market.created_trade_id(b.market.take(lid, 1_000_000))
    escrow = b.market.escrow_of(tid)
    for call in (
        lambda: b.market.mark_dispatched(tid, 0, 0),
        lambda: b.market.pay_out(tid, b.address, 1),
        lambda: b.market.close_trade(tid, TradeStatus.FAILED),
    ):
        with pytest.raises(ContractRevertError) as err:
            call()
        assert err.value.name == "AccessControlUnauthorizedAccount"
        assert err.value.arguments["neededRole"] == role_id("MARKET_CONTRACT")
    with pytest.raises(ContractRevertError) as err:
        m.mark_dispatched(tid, 900_000, 100_001)
    assert err.value.name == "DispatchExceedsTrade"
    with pytest.raises(ContractRevertError) as err:
        m.pay_out(tid, s.address, escrow + 1)
    assert (err.value.name, err.value.arguments) == (
        "EscrowExceeded",
        {"tradeId": tid, "amountFen": escrow + 1, "remainingFen": escrow},
    )
    with pytest.raises(ContractRevertError) as err:
        m.close_trade(tid, TradeStatus.DISPATCHED)
    assert err.value.name == "InvalidFinalStatus"
    m.pay_out(tid, s.address, escrow)
    m.close_trade(tid, TradeStatus.SETTLED)
    with pytest.raises(ContractRevertError) as err:
        m.pay_out(tid, s.address, 1)
    assert (err.value.name, err.value.arguments) == (
        "InvalidTradeStatus",
        {"tradeId": tid, "status": TradeStatus.SETTLED},
    )
    with pytest.raises(ContractRevertError) as err:
        m.mark_dispatched(tid, 0, 0)
    assert err.value.name == "InvalidTradeStatus"


def test_exposure_rate(market: Market) -> None:
    op = market.operator
    assert op.exposure_bps() == 1_000
    receipt = op.set_exposure_bps(2_500)
    (ev,) = op.events(receipt, "ExposureRateSet")
    assert dict(ev["args"]) == {"exposureBps": 2_500, "operator": op.sender.address}
    with pytest.raises(ContractRevertError) as err:
        op.set_exposure_bps(10_001)
    assert (err.value.name, err.value.arguments) == ("InvalidExposureRate", {"exposureBps": 10_001})
    s, b = market.seller, market.buyer
    lid = s.market.posted_listing_id(
        s.market.post(ListingSide.SELL, market.period.id, 0, 0, 1_000_001, 333_333)
    )
    market.open_taking()
    b.allow(10**12)
    tid = b.market.created_trade_id(b.market.take(lid, 1_000_001))
    t = b.market.trade(tid)
    value = 1_000_001 * 333_333 // 1_000_000
    assert t.energy_fen == value == 333_333
    assert t.exposure_fen == -(-value * 2_500 // 10_000) == 83_334  # rounded up
    assert market.registry.node_info(s.address).reserved_fen == 83_334


def test_constants_of_fixture() -> None:
    assert TAKING_OPENS_IN_S < TAKING_CLOSES_IN_S < DELIVERY_STARTS_IN_S
    assert isinstance(role_account("OPERATOR").address, str)
    assert TradingMarketClient.ARTIFACT == "TradingMarket"
