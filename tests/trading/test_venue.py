"""TradingMarket.formVenueTrade: the hook venues (central auction, bilateral contracts) form
trades through, checked, priced and settled like a posted trade."""

from __future__ import annotations

import pytest

from ledger.clients.access import MarketAccessClient, role_id
from ledger.clients.trading import ListingSide, ListingStatus, TradeStatus, TradingMarketClient
from ledger.errors import ContractRevertError
from ledger.units import exposure_fen
from ledger.units import value_fen as energy_fen
from tests.conftest import role_account
from tests.trading.conftest import DELIVERY_STARTS_IN_S, Market, advance_time

PRICE = 350_000
ROUTE_N_TO_CITY = [0, 2, 3]
SUM_N_TO_CITY = 6_000


def test_venue_trade_forms_routes_and_settles_like_a_take(market: Market) -> None:
    s, b, m = market.seller, market.buyer, market.settler
    key = market.ctx.account("node-92")
    market.ctx.client(MarketAccessClient, role_account("ADMIN")).grant_role("VENUE", key.address)
    v = market.ctx.client(TradingMarketClient, key)
    pid = market.period.id
    value = energy_fen(1_500_000, PRICE)
    fee = 1_500_000 * SUM_N_TO_CITY // 1_000_000
    escrow = value + fee
    b.allow(escrow)  # the buyer pays its own escrow here (a bilateral contract's case)
    buyer_before = b.token.balance_of(b.address)
    listings_before = v.listing_count()
    receipt = v.form_venue_trade(s.address, b.address, b.address, pid, 8, 11, 1_500_000, PRICE)
    tid = v.created_trade_id(receipt)
    lid = listings_before + 1
    (created,) = v.events(receipt, "TradeCreated")
    assert dict(created["args"]) == {
        "tradeId": tid,
        "listingId": lid,
        "period": pid,
        "buyer": b.address,
        "seller": s.address,
        "taker": b.address,
        "energyWh": 1_500_000,
        "priceFenPerMwh": PRICE,
        "prepaymentFen": escrow,
        "remainingWh": 0,
    }
    (routed,) = v.events(receipt, "TradeRouted")
    assert dict(routed["args"]) == {
        "tradeId": tid,
        "firstInterval": 8,
        "lastInterval": 11,
        "route": ROUTE_N_TO_CITY,
        "sumRateFenPerMwh": SUM_N_TO_CITY,
        "feeFen": fee,
        "exposureFen": exposure_fen(value, 1_000),
    }
    (formed,) = v.events(receipt, "VenueTradeFormed")
    assert dict(formed["args"]) == {
        "tradeId": tid,
        "listingId": lid,
        "venue": key.address,
        "payer": b.address,
    }
    assert v.events(receipt, "ListingPosted") == []
    listing = v.listing(lid)
    assert (listing.maker, listing.side, listing.status) == (
        s.address,
        ListingSide.SELL,
        ListingStatus.FILLED,
    )
    assert (listing.period_id, listing.first_interval, listing.last_interval) == (pid, 8, 11)
    assert (listing.energy_wh, listing.taken_wh, listing.remaining_wh) == (1_500_000, 1_500_000, 0)
    assert listing.region == 0
    t = v.trade(tid)
    assert (t.buyer, t.seller, t.status, t.route, t.fee_fen, t.escrow_fen) == (
        b.address,
        s.address,
        TradeStatus.FORMED,
        ROUTE_N_TO_CITY,
        fee,
        escrow,
    )
    assert (t.period_id, t.first_interval, t.last_interval) == (pid, 8, 11)
    assert b.token.balance_of(b.address) == buyer_before - escrow
    assert market.token.balance_of(v.address) == escrow == v.total_escrow_fen()
    assert market.registry.node_info(s.address).reserved_fen == exposure_fen(value, 1_000)
    assert market.registry.obligations_of(s.address) == 1
    assert market.registry.obligations_of(b.address) == 1
    assert v.trade_count_in(s.address, pid) == 1 == v.trade_count_in(b.address, pid)
    assert [x.id for x in v.trades_of(s.address)] == [tid]
    assert [x.id for x in v.period_trades(pid)] == [tid]

    # settles like a posted trade
    m.mark_dispatched(tid, 1_400_000, 100_000)
    m.pay_out(tid, s.address, energy_fen(1_400_000, PRICE))
    buyer_before = market.token.balance_of(b.address)
    receipt = m.close_trade(tid, TradeStatus.SETTLED)
    (refund,) = m.events(receipt, "EscrowPaidOut")
    assert (refund["args"]["to"], refund["args"]["amountFen"]) == (b.address, 44_000)
    assert market.token.balance_of(b.address) == buyer_before + 44_000
    assert m.total_escrow_fen() == 0 == market.token.balance_of(m.address)
    assert market.registry.node_info(s.address).reserved_fen == 0
    # each party's obligation of the period: held until its deviation of the period settles
    assert (
        market.registry.obligations_of(s.address) == 1 == market.registry.obligations_of(b.address)
    )


def test_venue_trade_is_restricted_and_checked(market: Market) -> None:
    s, s2, b = market.seller, market.seller2, market.buyer
    pid = market.period.id
    with pytest.raises(ContractRevertError) as err:
        b.market.form_venue_trade(s.address, b.address, b.address, pid, 0, 0, 1_000, PRICE)
    assert err.value.name == "AccessControlUnauthorizedAccount"
    assert err.value.arguments["neededRole"] == role_id("VENUE")

    key = market.ctx.account("node-92")
    market.ctx.client(MarketAccessClient, role_account("ADMIN")).grant_role("VENUE", key.address)
    v = market.ctx.client(TradingMarketClient, key)
    cases = [
        (
            (b.address, s.address, s.address, pid, 0, 0, 1_000, PRICE),
            "NotASeller",
            {"node": b.address},
        ),
        (
            (s.address, s.address, s.address, pid, 0, 0, 1_000, PRICE),
            "SelfTrade",
            {"node": s.address},
        ),
        ((s.address, b.address, b.address, pid, 0, 0, 0, PRICE), "ZeroEnergy", {}),
        ((s.address, b.address, b.address, pid, 0, 0, 1_000, 0), "ZeroPrice", {}),
        (
            (s.address, b.address, b.address, 99, 0, 0, 1_000, PRICE),
            "UnknownPeriod",
            {"periodId": 99},
        ),
        (
            (s.address, b.address, b.address, pid, 5, 96, 1_000, PRICE),
            "InvalidDeliveryWindow",
            {"periodId": pid, "firstInterval": 5, "lastInterval": 96, "intervals": 96},
        ),
        (
            (s.address, b.address, s2.address, pid, 0, 0, 1_000_000, PRICE),
            "InsufficientAllowance",
            {"buyer": s2.address, "allowanceFen": 0, "neededFen": 350_000 + 6_000},
        ),
    ]
    for args, name, arguments in cases:
        with pytest.raises(ContractRevertError) as err:
            v.form_venue_trade(*args)
        assert (err.value.name, err.value.arguments) == (name, arguments)
    now = advance_time(market.ctx, DELIVERY_STARTS_IN_S)
    with pytest.raises(ContractRevertError) as err:
        v.form_venue_trade(s.address, b.address, b.address, pid, 0, 0, 1_000, PRICE)
    assert err.value.name == "DeliveryStarted"
    assert err.value.arguments["deliveryStart"] == market.period.delivery_start
    assert err.value.arguments["nowS"] >= now
