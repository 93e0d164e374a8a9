"""Every bad post, amend and take reverts with its exact custom error and arguments."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from ledger.clients.registry import NodeKind, NodeRegistryClient, code
from ledger.clients.trading import ListingSide, ListingStatus
from ledger.errors import ContractRevertError
from tests.conftest import role_account
from tests.trading.conftest import Market, advance_time, block_time

PRICE = 300_000


def reverts(call: Any, name: str, arguments: dict[str, Any] | None = None) -> ContractRevertError:
    with pytest.raises(ContractRevertError) as err:
        call()
    assert err.value.name == name, err.value.signature
    if arguments is not None:
        assert dict(err.value.arguments) == arguments
    return err.value


def _sell(market: Market, energy_wh: int = 1_000_000, min_take_wh: int = 0, **kw: Any) -> int:
    s = market.seller.market
    receipt = s.post(
        ListingSide.SELL, market.period.id, 0, 3, energy_wh, PRICE, min_take_wh=min_take_wh, **kw
    )
    return s.posted_listing_id(receipt)


def test_post_inputs(market: Market) -> None:
    s, pid, p = market.seller, market.period.id, market.period
    now = block_time(market.ctx)
    post = s.market.post
    reverts(lambda: post(ListingSide.SELL, 7, 0, 0, 1, 1), "UnknownPeriod", {"periodId": 7})
    reverts(
        lambda: post(ListingSide.SELL, pid, 3, 2, 1, 1),
        "InvalidDeliveryWindow",
        {"periodId": pid, "firstInterval": 3, "lastInterval": 2, "intervals": 96},
    )
    reverts(
        lambda: post(ListingSide.SELL, pid, 0, 96, 1, 1),
        "InvalidDeliveryWindow",
        {"periodId": pid, "firstInterval": 0, "lastInterval": 96, "intervals": 96},
    )
    reverts(lambda: post(ListingSide.SELL, pid, 0, 0, 0, 1), "ZeroEnergy", {})
    reverts(lambda: post(ListingSide.SELL, pid, 0, 0, 1, 0), "ZeroPrice", {})
    reverts(
        lambda: post(ListingSide.SELL, pid, 0, 0, 10, 1, min_take_wh=11),
        "InvalidMinTake",
        {"minTakeWh": 11, "energyWh": 10},
    )
    err = reverts(
        lambda: post(ListingSide.SELL, pid, 0, 0, 10, 1, expires_at=p.taking_closes_at + 1),
        "InvalidExpiry",
    )
    assert err.arguments["expiresAt"] == p.taking_closes_at + 1
    err = reverts(lambda: post(ListingSide.SELL, pid, 0, 0, 10, 1, expires_at=now), "InvalidExpiry")
    # a buyer cannot post a sell listing
    b = market.buyer
    reverts(
        lambda: b.market.post(ListingSide.SELL, pid, 0, 0, 10, 1),
        "NotASeller",
        {"node": b.address},
    )
    # an unregistered key cannot post at all (the registry's own error bubbles up)
    stranger = market.actor(market.ctx.account("node-77"), 0)
    reverts(
        lambda: stranger.market.post(ListingSide.BUY, pid, 0, 0, 10, 1),
        "NodeNotActive",
        {"node": stranger.address},
    )


def test_post_outside_posting_window(market: Market) -> None:
    ctx, op, s = market.ctx, market.operator, market.seller
    now = block_time(ctx)
    receipt = op.open_period(now + 90_000, now + 1_000, now + 2_000, now + 3_000)
    pid = op.opened_period_id(receipt)
    err = reverts(lambda: s.market.post(ListingSide.SELL, pid, 0, 0, 10, 1), "OutsidePostingWindow")
    assert (err.arguments["periodId"], err.arguments["opensAt"], err.arguments["closesAt"]) == (
        pid,
        now + 1_000,
        now + 3_000,
    )
    advance_time(ctx, 3_100)
    reverts(lambda: s.market.post(ListingSide.SELL, pid, 0, 0, 10, 1), "OutsidePostingWindow")


def test_take_outside_taking_window(market: Market) -> None:
    lid = _sell(market)
    b, p = market.buyer, market.period
    b.allow(10**12)
    err = reverts(lambda: b.market.take(lid, 1_000), "OutsideTakingWindow")
    assert (err.arguments["periodId"], err.arguments["opensAt"], err.arguments["closesAt"]) == (
        p.id,
        p.taking_opens_at,
        p.taking_closes_at,
    )
    advance_time(market.ctx, p.taking_closes_at - block_time(market.ctx) + 1)
    reverts(lambda: b.market.take(lid, 1_000), "OutsideTakingWindow")
    # and the maker can no longer amend once taking closed
    reverts(lambda: market.seller.market.amend(lid, 1, 1), "OutsidePostingWindow")


def test_self_take(market: Market) -> None:
    lid = _sell(market)
    market.open_taking()
    s = market.seller
    reverts(lambda: s.market.take(lid, 1_000), "SelfTake", {"listingId": lid, "node": s.address})


def test_over_take_and_below_minimum(market: Market) -> None:
    lid = _sell(market, energy_wh=1_000_000, min_take_wh=300_000)
    market.open_taking()
    b = market.buyer
    b.allow(10**12)
    reverts(
        lambda: b.market.take(lid, 1_000_001),
        "TakeExceedsRemaining",
        {"listingId": lid, "energyWh": 1_000_001, "remainingWh": 1_000_000},
    )
    reverts(
        lambda: b.market.take(lid, 299_999),
        "TakeBelowMinimum",
        {"listingId": lid, "energyWh": 299_999, "minTakeWh": 300_000},
    )
    reverts(lambda: b.market.take(lid, 0), "ZeroEnergy", {})
    b.market.take(lid, 800_000)
    # the last 200,000 Wh are below the minimum but are the whole remainder: allowed
    b.market.take(lid, 200_000)
    assert b.market.listing(lid).status == ListingStatus.FILLED


def test_expired_listing(market: Market) -> None:
    p = market.period
    lid = _sell(market, expires_at=p.taking_opens_at + 10)
    b = market.buyer
    b.allow(10**12)
    now = advance_time(market.ctx, p.taking_opens_at + 10 - block_time(market.ctx))
    err = reverts(lambda: b.market.take(lid, 1_000), "ListingHasExpired")
    assert err.arguments["listingId"] == lid
    assert err.arguments["expiresAt"] == p.taking_opens_at + 10
    assert err.arguments["nowS"] >= now
    reverts(lambda: market.seller.market.amend(lid, 1, 1), "ListingHasExpired")


def test_insufficient_allowance_and_balance(market: Market) -> None:
    lid = _sell(market)
    market.open_taking()
    b = market.buyer
    quote = b.market.quote(lid, b.region, 1_000_000)
    b.allow(quote.escrow_fen - 1)
    reverts(
        lambda: b.market.take(lid, 1_000_000),
        "InsufficientAllowance",
        {"buyer": b.address, "allowanceFen": quote.escrow_fen - 1, "neededFen": quote.escrow_fen},
    )
    b.allow(10**12)
    balance = b.token.balance_of(b.address)
    b.token.transfer(market.buyer2.address, balance - quote.escrow_fen + 1)
    reverts(
        lambda: b.market.take(lid, 1_000_000),
        "InsufficientBalance",
        {"buyer": b.address, "balanceFen": quote.escrow_fen - 1, "neededFen": quote.escrow_fen},
    )


def test_mode2_poster_cannot_pay(market: Market) -> None:
    b, s = market.buyer, market.seller
    lid = b.market.posted_listing_id(
        b.market.post(ListingSide.BUY, market.period.id, 0, 0, 1_000_000, PRICE)
    )
    market.open_taking()
    need = s.market.quote(lid, s.region, 1_000_000).escrow_fen
    reverts(
        lambda: s.market.take(lid, 1_000_000),
        "InsufficientAllowance",
        {"buyer": b.address, "allowanceFen": 0, "neededFen": need},
    )
    # a buyer-side node cannot take (sell into) a buy listing
    reverts(
        lambda: market.buyer2.market.take(lid, 1_000_000),
        "NotASeller",
        {"node": market.buyer2.address},
    )


def test_price_limit(market: Market) -> None:
    lid = _sell(market)
    market.open_taking()
    b = market.buyer
    b.allow(10**12)
    market.seller.market.amend(lid, PRICE + 1, 1_000_000)
    reverts(
        lambda: b.market.take(lid, 1_000, PRICE),
        "PriceLimitExceeded",
        {"listingId": lid, "priceFenPerMwh": PRICE + 1, "limitFenPerMwh": PRICE},
    )


def test_unqualified_taker(market: Market) -> None:
    lid = _sell(market)
    market.open_taking()
    b = market.buyer
    b.allow(10**12)
    licence = code("SUPPLY_CONTRACT")
    operator = market.ctx.client(NodeRegistryClient, role_account("OPERATOR"))
    operator.set_required_qualification(NodeKind.CONSUMER, licence, True)
    reverts(
        lambda: b.market.take(lid, 1_000),
        "QualificationMissing",
        {"node": b.address, "licenceType": licence},
    )


def test_unbonded_or_blocked_taker(market: Market) -> None:
    lid = _sell(market)
    market.open_taking()
    b = market.buyer
    b.allow(10**12)
    agency = market.ctx.client(NodeRegistryClient, role_account("CREDIT_AGENCY"))
    operator = market.ctx.client(NodeRegistryClient, role_account("OPERATOR"))
    operator.set_bond_requirement(0, 10**12)
    agency.set_credit_level(b.address, 0)
    err = reverts(lambda: b.market.take(lid, 1_000), "BondBelowRequirement")
    assert err.arguments["node"] == b.address
    assert err.arguments["requiredFen"] == 10**12


def test_amend_after_full_take(market: Market) -> None:
    lid = _sell(market, energy_wh=500_000)
    market.open_taking()
    b = market.buyer
    b.allow(10**12)
    b.market.take(lid, 500_000)
    s = market.seller
    reverts(
        lambda: s.market.amend(lid, PRICE, 100),
        "ListingNotOpen",
        {"listingId": lid, "status": ListingStatus.FILLED},
    )
    reverts(
        lambda: s.market.cancel(lid),
        "ListingNotOpen",
        {"listingId": lid, "status": ListingStatus.FILLED},
    )
    reverts(
        lambda: b.market.take(lid, 1),
        "ListingNotOpen",
        {"listingId": lid, "status": ListingStatus.FILLED},
    )
    reverts(lambda: s.market.amend(lid + 5, 1, 1), "UnknownListing", {"listingId": lid + 5})


def test_amend_inputs(market: Market) -> None:
    lid = _sell(market)
    s = market.seller
    reverts(lambda: s.market.amend(lid, PRICE, 0), "ZeroEnergy", {})
    reverts(lambda: s.market.amend(lid, 0, 10), "ZeroPrice", {})


def test_exit_blocked_by_open_listing(market: Market) -> None:
    _sell(market)
    s = market.seller
    reverts(lambda: s.registry.exit(), "OpenObligations", {"node": s.address, "obligations": 1})
    assert Web3.is_address(s.address)
