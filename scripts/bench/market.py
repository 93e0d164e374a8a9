"""A trading market for the load sections: a tariff ring, many sellers with big sell
listings, many buyers with funds and allowances, an open period in its taking window.

The same setup as the trading area's test fixture (tests/trading/conftest.py), replicated
here so the benchmarks do not import test code, and built with pre-signed transactions so
hundreds of nodes onboard in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.clients.registry import NodeKind, Side
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, Period, TradingMarketClient
from scripts.bench.common import (
    BenchChain,
    Blaster,
    Call,
    NodeSpec,
    define_tariff,
    onboard_many,
    open_period,
)

#: Price of every benchmark listing (fen/MWh): 350 yuan/MWh.
PRICE = 350_000
#: Energy of one benchmark take (Wh): value 350 fen, exposure 35 fen.
TAKE_WH = 1_000
#: Energy of one benchmark listing (Wh): room for a million takes.
LISTING_WH = 1_000_000_000
EXTRA_BOND_FEN = 100_000_000
FUNDS_FEN = 1_000_000_000


@dataclass
class Traders:
    chain: BenchChain
    sellers: list[NodeSpec]
    buyers: list[NodeSpec]
    period: Period
    listings: list[int]
    market: TradingMarketClient
    token: SettlementTokenClient
    onboarding: dict[str, float]

    def take_calls(self, count: int, offset: int = 0) -> list[Call]:
        """``count`` takes of ``TAKE_WH``, buyers and listings round robin."""
        m = self.market
        calls = []
        for i in range(offset, offset + count):
            buyer = self.buyers[i % len(self.buyers)]
            listing = self.listings[(i // len(self.buyers) + i) % len(self.listings)]
            calls.append(
                Call(buyer.account, m.address, m.encode("take", listing, TAKE_WH, 0), gas=2_000_000)
            )
        return calls

    def transfer_calls(self, count: int, offset: int = 0) -> list[Call]:
        """``count`` plain token transfers of 1 fen, buyer to the next buyer."""
        t = self.token
        calls = []
        n = len(self.buyers)
        for i in range(offset, offset + count):
            src = self.buyers[i % n]
            dst = self.buyers[(i + 1) % n]
            calls.append(
                Call(src.account, t.address, t.encode("transfer", dst.account.address, 1), 100_000)
            )
        return calls

    def post_calls(self, count: int, seller_index: int | None = None) -> list[Call]:
        m = self.market
        calls = []
        for i in range(count):
            s = self.sellers[i % len(self.sellers) if seller_index is None else seller_index]
            data = m.encode(
                "post",
                int(ListingSide.SELL),
                self.period.id,
                0,
                95,
                LISTING_WH,
                PRICE,
                0,
                0,
                b"\x00" * 32,
            )
            calls.append(Call(s.account, m.address, data, gas=800_000))
        return calls


def traders(
    chain: BenchChain,
    *,
    sellers: int,
    buyers: int,
    listings_per_seller: int = 2,
    blaster: Blaster | None = None,
) -> Traders:
    """Onboard ``sellers`` wind sellers and ``buyers`` consumers, post the listings and move
    the clock into the taking window."""
    b = blaster or Blaster(chain, threads=8, batch=50)
    define_tariff(chain)
    seller_specs = [
        NodeSpec(n + 1, NodeKind.WIND, Side.SELLER, n % 4, capacity_kw=100_000)
        for n in range(sellers)
    ]
    buyer_specs = [
        NodeSpec(sellers + n + 1, NodeKind.CONSUMER, Side.BUYER, (n + 2) % 4) for n in range(buyers)
    ]
    timings = onboard_many(
        chain,
        seller_specs + buyer_specs,
        extra_bond_fen=EXTRA_BOND_FEN,
        funds_fen=FUNDS_FEN,
        blaster=b,
    )
    period = open_period(chain)
    market = chain.client(TradingMarketClient, seller_specs[0].account)
    token = chain.client(SettlementTokenClient, seller_specs[0].account)
    t = Traders(chain, seller_specs, buyer_specs, period, [], market, token, timings)
    first = market.listing_count() + 1
    posts = t.post_calls(sellers * listings_per_seller)
    b.run(posts)
    t.listings = list(range(first, first + len(posts)))
    chain.advance(max(0, period.taking_opens_at - chain.block_time()) + 1)
    return t
