"""Seeded random sequences of posts, amends, cancels, takes, pay-outs and closes: the tokens
the market holds always equal the sum of the open trades' remaining escrows, and each
seller's reserved bond equals the sum of its open trades' exposures."""

from __future__ import annotations

import random

import pytest

from ledger.clients.trading import ListingSide, ListingStatus, TradeStatus
from ledger.errors import ContractRevertError
from ledger.units import value_fen as energy_fen
from tests.trading.conftest import Actor, Market

STEPS = 150


@pytest.mark.parametrize("seed", [1, 2])
def test_locked_tokens_equal_open_escrows(market: Market, seed: int) -> None:
    rng = random.Random(seed)
    nodes = [market.seller, market.seller2, market.buyer, market.buyer2]
    sellers = [market.seller, market.seller2]
    for n in nodes:
        n.allow(10**15)
    market.open_taking()
    pid = market.period.id
    m = market.settler
    by_address: dict[str, Actor] = {n.address: n for n in nodes}
    open_listings: list[int] = []
    open_trades: dict[int, int] = {}  # trade id -> remaining escrow (the model)
    exposure: dict[str, int] = {n.address: 0 for n in nodes}
    exposure_of: dict[int, tuple[str, int]] = {}
    counts = dict.fromkeys(("post", "amend", "cancel", "take", "pay", "dispatch", "close"), 0)

    for _step in range(STEPS):
        action = rng.choice(
            ["post", "post", "amend", "cancel", "take", "take", "take", "pay", "dispatch", "close"]
        )
        if action == "post" or (action in ("amend", "cancel", "take") and not open_listings):
            side = rng.choice([ListingSide.SELL, ListingSide.BUY])
            maker = rng.choice(sellers if side == ListingSide.SELL else nodes)
            energy = rng.randrange(1, 5_000_000)
            receipt = maker.market.post(
                side,
                pid,
                0,
                rng.randrange(0, 96),
                energy,
                rng.randrange(1, 900_000),
                min_take_wh=rng.choice([0, energy // 3]),
            )
            open_listings.append(maker.market.posted_listing_id(receipt))
            counts["post"] += 1
        elif action == "amend":
            lid = rng.choice(open_listings)
            listing = market.operator.listing(lid)
            by_address[listing.maker].market.amend(
                lid, rng.randrange(1, 900_000), rng.randrange(1, 5_000_000)
            )
            counts["amend"] += 1
        elif action == "cancel":
            lid = open_listings.pop(rng.randrange(len(open_listings)))
            by_address[market.operator.listing(lid).maker].market.cancel(lid)
            counts["cancel"] += 1
        elif action == "take":
            lid = rng.choice(open_listings)
            listing = market.operator.listing(lid)
            pool = sellers if listing.side == ListingSide.BUY else nodes
            takers = [n for n in pool if n.address != listing.maker]
            taker = rng.choice(takers)
            low = min(listing.min_take_wh, listing.remaining_wh)
            energy = rng.choice(
                [listing.remaining_wh, rng.randint(max(low, 1), listing.remaining_wh)]
            )
            receipt = taker.market.take(lid, energy)
            tid = taker.market.created_trade_id(receipt)
            t = taker.market.trade(tid)
            assert t.escrow_fen == energy_fen(energy, listing.price_fen_per_mwh) + t.fee_fen
            assert t.fee_fen == energy * t.sum_rate_fen_per_mwh // 1_000_000
            open_trades[tid] = t.escrow_fen
            exposure[t.seller] += t.exposure_fen
            exposure_of[tid] = (t.seller, t.exposure_fen)
            if market.operator.listing(lid).status == ListingStatus.FILLED:
                open_listings.remove(lid)
            counts["take"] += 1
        elif action == "pay" and open_trades:
            tid = rng.choice(sorted(open_trades))
            amount = rng.randint(0, open_trades[tid])
            to = rng.choice(nodes).address
            m.pay_out(tid, to, amount)
            open_trades[tid] -= amount
            counts["pay"] += 1
        elif action == "dispatch" and open_trades:
            tid = rng.choice(sorted(open_trades))
            t = m.trade(tid)
            if t.status == TradeStatus.FORMED:
                executed = rng.randint(0, t.energy_wh)
                m.mark_dispatched(tid, executed, t.energy_wh - executed)
                counts["dispatch"] += 1
            else:
                with pytest.raises(ContractRevertError):
                    m.mark_dispatched(tid, 0, 0)
        elif action == "close" and open_trades:
            tid = rng.choice(sorted(open_trades))
            m.close_trade(tid, rng.choice([TradeStatus.SETTLED, TradeStatus.FAILED]))
            del open_trades[tid]
            seller, amount = exposure_of.pop(tid)
            exposure[seller] -= amount
            counts["close"] += 1

        locked = market.token.balance_of(m.address)
        assert locked == m.total_escrow_fen() == sum(open_trades.values())
        for address, amount in exposure.items():
            assert market.registry.node_info(address).reserved_fen == amount

    # the chain's own view agrees trade by trade, and every action ran
    assert sum(m.escrow_of(i) for i in range(1, m.trade_count() + 1)) == sum(open_trades.values())
    assert m.open_listing_count() == len(open_listings)
    assert all(counts[k] > 0 for k in counts), counts
