"""Bad input to the auction: each a custom error with its context (issue #20, item 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger.clients.access import role_id
from ledger.clients.auction import ClearingRule, OrderSide
from ledger.clients.registry import NodeRegistryClient
from ledger.errors import ContractRevertError
from tests.auction.conftest import CAP, FLOOR, MIN_LOT_WH, Book
from tests.trading.conftest import block_time

BID, OFFER = OrderSide.BID, OrderSide.OFFER


def reverts(call: Callable[[], Any], name: str, arguments: dict[str, Any] | None = None) -> None:
    with pytest.raises(ContractRevertError) as err:
        call()
    assert err.value.name == name
    if arguments is not None:
        assert err.value.arguments == arguments


def test_order_errors(book: Book) -> None:
    m = book.market
    s, b, b2 = m.seller, m.buyer, m.buyer2
    c_s, c_b, c_b2 = book.client(s), book.client(b), book.client(b2)
    now = block_time(m.ctx)
    aid = book.operator.opened_auction_id(
        book.operator.open_auction(
            m.period.id, 0, 95, now + 100, now + 700, MIN_LOT_WH, ClearingRule.UNIFORM, 15_000
        )
    )
    a = book.reader.auction(aid)
    # outside the window (not open yet)
    with pytest.raises(ContractRevertError) as err:
        c_b.place_order(aid, BID, MIN_LOT_WH, FLOOR)
    assert err.value.name == "OutsideOrderWindow"
    assert err.value.arguments["opensAt"] == a.opens_at
    book.market.ctx.w3.provider.make_request("evm_increaseTime", [100])  # type: ignore[arg-type]
    book.allow(b)
    reverts(
        lambda: c_b.place_order(aid, BID, MIN_LOT_WH - 1, FLOOR),
        "BelowMinimumLot",
        {"auctionId": aid, "energyWh": MIN_LOT_WH - 1, "minLotWh": MIN_LOT_WH},
    )
    for price in (FLOOR - 1, CAP + 1):
        reverts(
            lambda p=price: c_b.place_order(aid, BID, MIN_LOT_WH, p),  # type: ignore[misc]
            "PriceOutsideLimits",
            {
                "auctionId": aid,
                "priceFenPerMwh": price,
                "floorFenPerMwh": FLOOR,
                "capFenPerMwh": CAP,
            },
        )
    # a buyer's offer, a seller's bid
    reverts(
        lambda: c_b.place_order(aid, OFFER, MIN_LOT_WH, FLOOR),
        "WrongSideForOrder",
        {"node": b.address, "side": OFFER},
    )
    reverts(
        lambda: c_s.place_order(aid, BID, MIN_LOT_WH, FLOOR),
        "WrongSideForOrder",
        {"node": s.address, "side": BID},
    )
    # insufficient allowance, then balance
    need = 100_000 * CAP // 1_000_000 + 100_000 * 15_000 // 1_000_000
    reverts(
        lambda: c_b2.place_order(aid, BID, 100_000, CAP),
        "InsufficientAllowance",
        {"buyer": b2.address, "allowanceFen": 0, "neededFen": need},
    )
    book.allow(b2)
    balance = m.token.balance_of(b2.address)
    huge = 10**12
    reverts(
        lambda: c_b2.place_order(aid, BID, huge, CAP),
        "InsufficientBalance",
        {
            "buyer": b2.address,
            "balanceFen": balance,
            "neededFen": huge * CAP // 1_000_000 + huge * 15_000 // 1_000_000,
        },
    )
    # bond exposure not covered
    available = m.registry.node_info(s.address)
    with pytest.raises(ContractRevertError) as err:
        c_s.place_order(aid, OFFER, 10**12, CAP)
    assert err.value.name == "InsufficientBond"
    assert err.value.arguments["node"] == s.address
    assert err.value.arguments["neededFen"] == 10**12 * CAP // 1_000_000 // 10
    assert available.reserved_fen == m.registry.node_info(s.address).reserved_fen
    # a blocked node
    settler_registry = m.ctx.client(NodeRegistryClient, m.ctx.account("node-90"))
    reason = b"FRAUD".ljust(32, b"\x00")
    settler_registry.block_trading(b2.address, reason)
    reverts(
        lambda: c_b2.place_order(aid, BID, MIN_LOT_WH, FLOOR),
        "TradingBlocked",
        {"node": b2.address, "reason": reason},
    )
    # amend or cancel another's order
    oid = c_b.placed_order_id(c_b.place_order(aid, BID, MIN_LOT_WH, FLOOR))
    reverts(
        lambda: c_s.cancel_order(oid),
        "NotOrderOwner",
        {"orderId": oid, "caller": s.address, "node": b.address},
    )
    reverts(
        lambda: c_s.amend_order(oid, MIN_LOT_WH, CAP),
        "NotOrderOwner",
        {"orderId": oid, "caller": s.address, "node": b.address},
    )
    # clearing before the gate
    with pytest.raises(ContractRevertError) as err:
        book.reader.rank(aid, [oid])
    assert (err.value.name, err.value.arguments["gateClosesAt"]) == (
        "GateNotClosed",
        a.gate_closes_at,
    )
    reverts(lambda: book.reader.clear(aid, 10), "GateNotClosed")
    # after the gate: no orders, amendments or cancellations
    book.close_gate(aid)
    reverts(lambda: c_b.cancel_order(oid), "OutsideOrderWindow")
    reverts(lambda: c_b.place_order(aid, BID, MIN_LOT_WH, FLOOR), "OutsideOrderWindow")


def test_ranking_errors(book: Book) -> None:
    m = book.market
    aid = book.open()
    book.allow(m.buyer)
    c = book.client(m.buyer)
    o1 = c.placed_order_id(c.place_order(aid, BID, MIN_LOT_WH, 200_000))
    o2 = c.placed_order_id(c.place_order(aid, BID, MIN_LOT_WH, 300_000))
    o3 = c.placed_order_id(c.place_order(aid, BID, MIN_LOT_WH, 200_000))
    book.close_gate(aid)
    reverts(
        lambda: book.reader.clear(aid, 5),
        "RankingIncomplete",
        {"auctionId": aid, "rankedBids": 0, "liveBids": 3, "rankedOffers": 0, "liveOffers": 0},
    )
    reverts(
        lambda: book.reader.rank(aid, [o1, o2]),
        "OutOfPriorityOrder",
        {"auctionId": aid, "orderId": o2, "previousOrderId": o1},
    )
    reverts(
        lambda: book.reader.rank(aid, [o2, o3, o1]),
        "OutOfPriorityOrder",
        {"auctionId": aid, "orderId": o1, "previousOrderId": o3},
    )
    reverts(lambda: book.reader.rank(aid, [o2, o2]), "OutOfPriorityOrder")
    reverts(lambda: book.reader.rank(aid, [99]), "UnknownOrder", {"orderId": 99})
    book.reader.rank(aid, [o2, o1, o3])
    reverts(lambda: book.reader.rank(aid, [o1]), "NotRanking")
    reverts(lambda: book.reader.clear(aid, 0), "ZeroSteps")
    book.reader.clear(aid, 100)
    reverts(lambda: book.reader.clear(aid, 1), "AlreadyCleared", {"auctionId": aid})


def test_admin_errors(book: Book) -> None:
    m = book.market
    reverts(lambda: book.operator.set_price_limits(1, 2), "AccessControlUnauthorizedAccount")
    reverts(
        lambda: book.regulator.set_price_limits(5, 4),
        "InvalidPriceLimits",
        {"floorFenPerMwh": 5, "capFenPerMwh": 4},
    )
    with pytest.raises(ContractRevertError) as err:
        book.regulator.open_auction(m.period.id, 0, 1, 0, 1, 1, ClearingRule.UNIFORM, 0)
    assert err.value.arguments["neededRole"] == role_id("OPERATOR")
    now = block_time(m.ctx)
    reverts(
        lambda: book.operator.open_auction(
            m.period.id, 0, 96, now, now + 60, 1, ClearingRule.UNIFORM, 0
        ),
        "InvalidDeliveryWindow",
    )
    reverts(
        lambda: book.operator.open_auction(
            m.period.id, 0, 1, now, now + 60, 0, ClearingRule.UNIFORM, 0
        ),
        "ZeroMinLot",
    )
    late = m.period.delivery_start + 1
    reverts(
        lambda: book.operator.open_auction(
            m.period.id, 0, 1, now, late, 1, ClearingRule.UNIFORM, 0
        ),
        "InvalidAuctionWindows",
    )
    reverts(lambda: book.reader.auction(42), "UnknownAuction", {"auctionId": 42})
