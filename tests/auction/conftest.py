"""The auction on the trading tests' small market (tests/trading/conftest.py): sellers
node-1 (North) and node-2 (Hub), buyers node-3 (City) and node-4 (Coast), one open period.

``Book`` opens an auction with floor ``FLOOR`` and cap ``CAP`` (fen/MWh), a minimum lot of
``MIN_LOT_WH`` and a fee cap ``FEE_CAP`` above every cheapest route of the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.auction import CentralAuctionClient, ClearingRule
from tests.conftest import role_account
from tests.trading.conftest import Actor, Market, advance_time, block_time
from tests.trading.conftest import market as market  # the fixture

FLOOR = 100_000
CAP = 600_000
MIN_LOT_WH = 10_000
#: Hub -> Coast is the dearest cheapest route: 9,000 + 2,000 + 1,000 fen/MWh.
FEE_CAP = 15_000
GATE_IN_S = 600


@dataclass
class Book:
    """A market with the auction contract's clients."""

    market: Market
    regulator: CentralAuctionClient
    operator: CentralAuctionClient
    reader: CentralAuctionClient

    def client(self, actor: Actor | LocalAccount) -> CentralAuctionClient:
        account = actor.account if isinstance(actor, Actor) else actor
        return self.market.ctx.client(CentralAuctionClient, account)

    def open(self, rule: ClearingRule = ClearingRule.UNIFORM, *, gate_in_s: int = GATE_IN_S) -> int:
        now = block_time(self.market.ctx)
        receipt = self.operator.open_auction(
            self.market.period.id, 0, 95, now, now + gate_in_s, MIN_LOT_WH, rule, FEE_CAP
        )
        return self.operator.opened_auction_id(receipt)

    def close_gate(self, auction_id: int) -> None:
        gate = self.reader.auction(auction_id).gate_closes_at
        advance_time(self.market.ctx, max(0, gate - block_time(self.market.ctx)))

    def allow(self, actor: Actor, amount_fen: int = 10**12) -> None:
        actor.token.approve(self.reader.address, amount_fen)


@pytest.fixture
def book(market: Market) -> Book:
    ctx = market.ctx
    regulator = ctx.client(CentralAuctionClient, role_account("REGULATOR"))
    regulator.set_price_limits(FLOOR, CAP)
    return Book(
        market=market,
        regulator=regulator,
        operator=ctx.client(CentralAuctionClient, role_account("OPERATOR")),
        reader=ctx.client(CentralAuctionClient, ctx.account("node-91")),
    )
