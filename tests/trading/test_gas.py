"""No operation's gas grows with the number of open listings: post, amend, take and cancel
cost exactly the same execution gas with 10 and with 1,000 open listings.

Execution gas is the receipt's gasUsed minus the intrinsic 21,000 and the calldata cost
(a 2-byte listing id costs 12 gas more calldata than a 1-byte one). Each measured
transaction gets a fresh block timestamp, so the registry's lastActiveAt writes always
change their slot, as in production.
"""

from __future__ import annotations

from hexbytes import HexBytes
from web3.types import TxReceipt

from ledger.clients.trading import ListingSide
from tests.trading.conftest import Market, block_time, set_next_time

PRICE = 300_000
#: Written by the test for the report: {open listings: {operation: execution gas}}.
GAS_REPORT: dict[int, dict[str, int]] = {}


def _execution_gas(market: Market, receipt: TxReceipt) -> int:
    tx = market.ctx.w3.eth.get_transaction(receipt["transactionHash"])
    data = bytes(HexBytes(tx["input"]))
    calldata = sum(16 if byte else 4 for byte in data)
    return int(receipt["gasUsed"]) - 21_000 - calldata


def _fill(market: Market, target_open: int) -> None:
    """Post cheap sell listings from seller2 until ``target_open`` listings are open."""
    m = market.seller2.market
    count = target_open - m.open_listing_count()
    if count <= 0:
        return
    data = m.encode("post", 0, market.period.id, 0, 0, 1_000, PRICE, 0, 0, b"\x00" * 32)
    hashes = [m.sender.send(m.address, data, gas=500_000) for _ in range(count)]
    for h in hashes:
        assert m.sender.wait(h)["status"] == 1
    assert m.open_listing_count() == target_open


def _measure(market: Market) -> dict[str, int]:
    """Post two listings, then amend, take (partially) and cancel one (from mid-set)."""
    ctx = market.ctx
    s, b = market.seller, market.buyer

    def tick() -> None:
        set_next_time(ctx, block_time(ctx) + 7)

    tick()
    first = s.market.posted_listing_id(
        s.market.post(ListingSide.SELL, market.period.id, 4, 7, 1_000_000, PRICE)
    )
    tick()
    post = s.market.post(ListingSide.SELL, market.period.id, 4, 7, 1_000_000, PRICE)
    second = s.market.posted_listing_id(post)
    tick()
    amend = s.market.amend(second, PRICE + 1, 900_000)
    tick()
    take = b.market.take(second, 100_000)
    tick()
    cancel = s.market.cancel(first)  # not the last of the open set: swap and pop moves one
    return {
        "post": _execution_gas(market, post),
        "amend": _execution_gas(market, amend),
        "take": _execution_gas(market, take),
        "cancel": _execution_gas(market, cancel),
    }


def test_gas_is_flat_from_10_to_1000_open_listings(market: Market) -> None:
    market.open_taking()
    market.buyer.allow(10**15)
    _measure(market)  # warm-up: first listing/trade of each node touches fresh slots
    _fill(market, 10)
    at_10 = _measure(market)
    _fill(market, 1_000)
    at_1000 = _measure(market)
    GAS_REPORT.update({10: at_10, 1_000: at_1000})
    route_gas = market.tariff.estimate_cheapest_route_gas(0, 3)
    print(f"\nexecution gas at 10 open listings: {at_10}\nat 1,000: {at_1000}")
    print(f"of which the tariff's cheapestRoute (as a transaction, incl. 21,000): {route_gas}")
    assert at_10 == at_1000
    assert market.seller.market.open_listing_count() >= 1_000
