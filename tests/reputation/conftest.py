"""Reputation fixtures: the trading area's ``market`` (4 tradeable nodes, one open period)
plus ReputationLedger clients for every actor and a helper that makes settled trades.

Trades are driven to Settled through TradingMarket's MARKET_CONTRACT hooks by the market
fixture's settler key (``markDispatched`` + ``closeTrade``), as settlement would.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.reputation import ReputationLedgerClient
from ledger.clients.trading import ListingSide, TradeStatus
from ledger.context import LedgerContext
from tests.conftest import role_account
from tests.trading.conftest import (  # noqa: F401  (the `market` fixture is reused)
    Actor,
    Market,
    advance_time,
    block_time,
    market,
)

DAY_S = 86_400
ENERGY_WH = 1_000_000
PRICE = 300_000  # fen/MWh


@dataclass
class Rep:
    """The market and ReputationLedger clients of each actor."""

    market: Market
    reader: ReputationLedgerClient
    agency: ReputationLedgerClient
    regulator: ReputationLedgerClient
    operator: ReputationLedgerClient
    stranger: ReputationLedgerClient

    @property
    def ctx(self) -> LedgerContext:
        return self.market.ctx

    def of(self, actor: Actor | LocalAccount) -> ReputationLedgerClient:
        account = actor.account if isinstance(actor, Actor) else actor
        return self.ctx.client(ReputationLedgerClient, account)

    def trade(self, seller: Actor, buyer: Actor, *, settle: bool = True) -> int:
        """Seller posts ENERGY_WH (mode 1), buyer takes it all, settler settles it."""
        receipt = seller.market.post(
            ListingSide.SELL, self.market.period.id, 0, 3, ENERGY_WH, PRICE
        )
        listing_id = seller.market.posted_listing_id(receipt)
        quote = buyer.market.quote(listing_id, buyer.region, ENERGY_WH)
        buyer.allow(quote.escrow_fen)
        trade_id = buyer.market.created_trade_id(buyer.market.take(listing_id, ENERGY_WH))
        if settle:
            self.market.settler.mark_dispatched(trade_id, ENERGY_WH, 0)
            self.market.settler.close_trade(trade_id, TradeStatus.SETTLED)
        return trade_id

    def today(self) -> int:
        return block_time(self.ctx) // DAY_S

    def goto_midday(self, days_ahead: int) -> int:
        """Move the chain to noon UTC ``days_ahead`` days from today; returns the day."""
        day = self.today() + days_ahead
        target = day * DAY_S + DAY_S // 2
        now = block_time(self.ctx)
        assert target > now
        advance_time(self.ctx, target - now)
        return self.today()


@pytest.fixture
def rep(market: Market) -> Rep:  # noqa: F811
    ctx = market.ctx
    market.open_taking()
    return Rep(
        market=market,
        reader=ctx.client(ReputationLedgerClient, ctx.account("node-91")),
        agency=ctx.client(ReputationLedgerClient, role_account("CREDIT_AGENCY")),
        regulator=ctx.client(ReputationLedgerClient, role_account("REGULATOR")),
        operator=ctx.client(ReputationLedgerClient, role_account("OPERATOR")),
        stranger=ctx.client(ReputationLedgerClient, ctx.account("node-93")),
    )
