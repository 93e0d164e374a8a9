"""A small market on the session chain: a tariff graph, tradeable nodes, one open period.

Regions (rates fen/MWh): 0 North 3,000; 1 Hub 9,000; 2 Coast 1,000; 3 City 2,000; edges
0-1, 1-3, 0-2, 2-3, so North -> City is cheapest via Coast: route [0, 2, 3], 6,000 fen/MWh.

Nodes: ``seller`` node-1 (wind, region 0), ``seller2`` node-2 (coal, region 1, 820 g/kWh),
``buyer`` node-3 (consumer, region 3), ``buyer2`` node-4 (retailer registered as buyer,
region 2). Every node holds ``FUNDS_FEN`` of tokens and its required bond plus ``EXTRA_BOND_FEN``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.clients.access import MarketAccessClient
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import Period, TradingMarketClient
from ledger.context import LedgerContext
from node.registry.participant import Bank, NodeProfile, onboard_demo_node
from tests.conftest import role_account

REGIONS = {0: "North", 1: "Hub", 2: "Coast", 3: "City"}
RATES = {0: 3_000, 1: 9_000, 2: 1_000, 3: 2_000}
EDGES = [(0, 1), (1, 3), (0, 2), (2, 3)]
FUNDS_FEN = 50_000_000  # 500,000 CNY each
EXTRA_BOND_FEN = 10_000_000
#: Period windows relative to the block time when the fixture opens it.
TAKING_OPENS_IN_S = 3_600
TAKING_CLOSES_IN_S = 7_200
DELIVERY_STARTS_IN_S = 86_400


def block_time(ctx: LedgerContext) -> int:
    return int(ctx.w3.eth.get_block("latest")["timestamp"])


def advance_time(ctx: LedgerContext, seconds: int) -> int:
    """Move the chain clock forward and mine a block; return the new block time."""
    ctx.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return block_time(ctx)


def set_next_time(ctx: LedgerContext, timestamp: int) -> None:
    """Fix the timestamp of the next block (deterministic gas of `lastActiveAt` writes)."""
    ctx.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]


@dataclass
class Actor:
    """A market node with its clients."""

    account: LocalAccount
    market: TradingMarketClient
    token: SettlementTokenClient
    registry: NodeRegistryClient
    region: int

    @property
    def address(self) -> str:
        return str(self.account.address)

    def allow(self, amount_fen: int) -> None:
        self.token.approve(self.market.address, amount_fen)


@dataclass
class Market:
    ctx: LedgerContext
    operator: TradingMarketClient
    settler: TradingMarketClient
    tariff: TransmissionTariffClient
    token: SettlementTokenClient
    registry: NodeRegistryClient
    period: Period
    seller: Actor
    seller2: Actor
    buyer: Actor
    buyer2: Actor

    def actor(self, account: LocalAccount, region: int) -> Actor:
        return Actor(
            account,
            self.ctx.client(TradingMarketClient, account),
            self.ctx.client(SettlementTokenClient, account),
            self.ctx.client(NodeRegistryClient, account),
            region,
        )

    def open_taking(self) -> int:
        """Advance into the taking window of ``period``."""
        return advance_time(self.ctx, max(0, self.period.taking_opens_at - block_time(self.ctx)))


NODES = {
    "seller": (1, NodeProfile(kind=NodeKind.WIND, side=Side.SELLER, region=0, capacity_kw=50_000)),
    "seller2": (
        2,
        NodeProfile(
            kind=NodeKind.COAL,
            side=Side.SELLER,
            region=1,
            capacity_kw=300_000,
            carbon_intensity_g_per_kwh=820,
        ),
    ),
    "buyer": (3, NodeProfile(kind=NodeKind.CONSUMER, side=Side.BUYER, region=3)),
    "buyer2": (4, NodeProfile(kind=NodeKind.RETAILER, side=Side.BUYER, region=2)),
}


def open_period(ctx: LedgerContext, operator: TradingMarketClient) -> Period:
    now = block_time(ctx)
    receipt = operator.open_period(
        now + DELIVERY_STARTS_IN_S, now, now + TAKING_OPENS_IN_S, now + TAKING_CLOSES_IN_S
    )
    return operator.period(operator.opened_period_id(receipt))


@pytest.fixture
def market(ctx: LedgerContext) -> Market:
    regulator = ctx.client(TransmissionTariffClient, role_account("REGULATOR"))
    for region, name in REGIONS.items():
        regulator.define_region(region, name)
    for region, rate in RATES.items():
        regulator.schedule_stamp_rate(region, rate)
    for a, b in EDGES:
        regulator.set_edge(a, b)
    bank = Bank(ctx, role_account("CLEARING_BANK"))
    actors: dict[str, Actor] = {}
    for name, (n, profile) in NODES.items():
        node = onboard_demo_node(ctx, n, profile, extra_bond_fen=EXTRA_BOND_FEN)
        bank.mint(node.address, FUNDS_FEN, f"FUNDS-{n}")
        actors[name] = Actor(
            node.account,
            ctx.client(TradingMarketClient, node.account),
            node.token,
            node.registry,
            profile.region,
        )
    operator = ctx.client(TradingMarketClient, role_account("OPERATOR"))
    # A stand-in for the settlement contract: a plain key holding MARKET_CONTRACT.
    settler_key = ctx.account("node-90")
    ctx.client(MarketAccessClient, role_account("ADMIN")).grant_role(
        "MARKET_CONTRACT", settler_key.address
    )
    reader = ctx.account("node-91")
    return Market(
        ctx=ctx,
        operator=operator,
        settler=ctx.client(TradingMarketClient, settler_key),
        tariff=regulator,
        token=ctx.client(SettlementTokenClient, reader),
        registry=ctx.client(NodeRegistryClient, reader),
        period=open_period(ctx, operator),
        **actors,
    )


def checksum(address: str) -> str:
    return Web3.to_checksum_address(address)
