"""The whole flow on the session chain: registry + token + tariff + trading (the trading
area's ``market`` fixture), meter node totals, EIP-712-signed dispatch results and the
settlement engine.

Regions (fen/MWh): 0 North 3,000; 1 Hub 9,000; 2 Coast 1,000; 3 City 2,000; North -> City
is routed [0, 2, 3] (6,000). Nodes: seller node-1 (North), seller2 node-2 (Hub), buyer
node-3 (City), buyer2 node-4 (Coast), storage node-5 (Coast, a seller). Grid account of
region r: node-(70+r); balancing account node-80 (funded, engine allowance); remainder
account node-81.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient, NodeTotalTuple
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide
from ledger.context import LedgerContext
from node.registry.participant import Bank, NodeProfile, onboard_demo_node
from oracle.eip712 import dispatch_typed_data, node_total_leaf, sign_typed
from oracle.merkle import MerkleTree
from tests.conftest import role_account
from tests.trading.conftest import (  # noqa: F401  (the `market` fixture is reused)
    EXTRA_BOND_FEN,
    FUNDS_FEN,
    Actor,
    Market,
    advance_time,
    block_time,
    market,
)

BALANCING_FUNDS_FEN = 100_000_000
GRID_BASE = 70
BALANCING_N = 80
REMAINDER_N = 81
SETTLER_N = 92
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass
class Party:
    """A node with its settlement client."""

    actor: Actor
    engine: SettlementEngineClient

    @property
    def address(self) -> str:
        return self.actor.address


@dataclass
class Flow:
    """The market plus settlement: helpers for each step of a trade's life."""

    market: Market
    engine: SettlementEngineClient  # anyone (a never-funded settler key)
    operator: SettlementEngineClient
    dispatcher: SettlementEngineClient
    dispatch_results: DispatchResultsClient
    dispatch_operator: DispatchResultsClient
    oracle: MeterOracleClient
    dispatch_key: LocalAccount
    balancing: LocalAccount
    remainder: LocalAccount
    grid: dict[int, LocalAccount]
    parties: dict[str, Party] = field(default_factory=dict)
    metered_periods: set[int] = field(default_factory=set)

    @property
    def ctx(self) -> LedgerContext:
        return self.market.ctx

    @property
    def token(self) -> SettlementTokenClient:
        return self.market.token

    @property
    def registry(self) -> NodeRegistryClient:
        return self.market.registry

    @property
    def period(self) -> int:
        return self.market.period.id

    def party(self, name: str) -> Party:
        return self.parties[name]

    # -- trading ---------------------------------------------------------------------------

    def trade(
        self,
        seller: str,
        buyer: str,
        energy_wh: int,
        price_fen_per_mwh: int,
        *,
        period: int | None = None,
    ) -> int:
        """Seller posts (mode 1), buyer takes everything; returns the trade id."""
        period_id = self.period if period is None else period
        s, b = self.party(seller).actor, self.party(buyer).actor
        receipt = s.market.post(ListingSide.SELL, period_id, 0, 3, energy_wh, price_fen_per_mwh)
        listing_id = s.market.posted_listing_id(receipt)
        quote = b.market.quote(listing_id, b.region, energy_wh)
        b.allow(quote.escrow_fen)
        return b.market.created_trade_id(b.market.take(listing_id, energy_wh))

    def open_taking(self) -> None:
        self.market.open_taking()

    # -- oracle ----------------------------------------------------------------------------

    def dispatch(
        self, trade_id: int, executed_wh: int, curtailed_wh: int = 0, reason: int = 0
    ) -> None:
        """Submit the DISPATCH-signed result of a trade (through the METER_ORACLE relay)."""
        period = self.market.settler.trade(trade_id).period_id
        message = {
            "tradeId": trade_id,
            "period": period,
            "executedWh": executed_wh,
            "curtailedWh": curtailed_wh,
            "reasonCode": reason,
        }
        full = dispatch_typed_data(message, self.ctx.w3.eth.chain_id, self.dispatch_results.address)
        signature = sign_typed(self.dispatch_key, full)
        self.dispatch_results.submit_results(
            [(trade_id, period, executed_wh, curtailed_wh, reason)], [signature]
        )

    def meter(
        self,
        totals: Mapping[str, tuple[int, int]],
        *,
        period: int | None = None,
        submit: Iterable[str] | None = None,
    ) -> dict[str, tuple[NodeTotalTuple, list[bytes]]]:
        """Post the period's node totals {name: (importWh, exportWh)} and record those in
        ``submit`` (default: all); returns each total with its proof (for late records)."""
        period_id = self.period if period is None else period
        rows: list[NodeTotalTuple] = [
            (self.party(name).address, period_id, imp, exp, 96, b"\x11" * 32)
            for name, (imp, exp) in totals.items()
        ]
        leaves = [node_total_leaf(a, p, i, e, c, r) for a, p, i, e, c, r in rows]
        tree = MerkleTree(leaves)
        self.oracle.post_period(period_id, tree.root, len(rows), 96 * len(rows))
        chosen = set(totals) if submit is None else set(submit)
        proofs: dict[str, tuple[NodeTotalTuple, list[bytes]]] = {}
        for index, (name, row) in enumerate(zip(totals, rows, strict=True)):
            proofs[name] = (row, tree.proof(index))
            if name in chosen:
                self.oracle.submit_node_total(row, tree.proof(index))
        return proofs

    def open_settlement(self, period: int | None = None) -> int:
        """Schedule the period's settlement at the end of delivery (or in 10 s) and move the
        clock past it."""
        period_id = self.period if period is None else period
        now = block_time(self.ctx)
        end = self.market.settler.period(period_id).delivery_end
        opens_at = max(now + 10, end)
        self.dispatch_operator.set_settlement_opens_at(period_id, opens_at)
        return advance_time(self.ctx, opens_at - block_time(self.ctx) + 1)

    # -- accounting ------------------------------------------------------------------------

    def accounts(self) -> list[str]:
        """Every account that may hold tokens in these tests."""
        out = [p.address for p in self.parties.values()]
        out += [a.address for a in self.grid.values()]
        out += [self.balancing.address, self.remainder.address]
        return out

    def conservation(self) -> tuple[int, int]:
        """(total supply, wallets + escrows + bonds + engine holdings)."""
        token = self.token
        wallets = sum(token.balance_of(a) for a in self.accounts())
        escrow = self.market.settler.total_escrow_fen()
        bonds = self.registry.total_bond_fen()
        engine = self.engine.total_claimable_fen() + self.engine.ftr_fund_fen()
        fund = token.balance_of(self.engine.default_fund())
        assert token.balance_of(self.market.settler.address) == escrow
        assert token.balance_of(self.registry.address) == bonds
        assert token.balance_of(self.engine.address) == engine
        return token.total_supply(), wallets + escrow + bonds + engine + fund


def refund_of(engine: SettlementEngineClient, receipt: Any) -> tuple[int, int]:
    """(energy neither executed nor substituted, refund) of the receipt's ``TradeSettled``."""
    (settled,) = engine.events(receipt, "TradeSettled")
    a = settled["args"]
    return a["energyWh"] - a["executedWh"] - a["substitutedWh"], a["refundFen"]


@pytest.fixture
def flow(market: Market) -> Flow:  # noqa: F811
    ctx = market.ctx
    storage = onboard_demo_node(
        ctx,
        5,
        NodeProfile(kind=NodeKind.STORAGE, side=Side.SELLER, region=2, capacity_kw=20_000),
        extra_bond_fen=EXTRA_BOND_FEN,
    )
    bank = Bank(ctx, role_account("CLEARING_BANK"))
    bank.mint(storage.address, FUNDS_FEN, "FUNDS-5")
    storage_actor = market.actor(storage.account, 2)

    operator = ctx.client(SettlementEngineClient, role_account("OPERATOR"))
    grid = {r: ctx.account(f"node-{GRID_BASE + r}") for r in range(4)}
    for region, account in grid.items():
        operator.set_grid_account(region, account.address)
    balancing = ctx.account(f"node-{BALANCING_N}")
    remainder = ctx.account(f"node-{REMAINDER_N}")
    operator.set_balancing_account(balancing.address)
    operator.set_remainder_account(remainder.address)
    bank.mint(balancing.address, BALANCING_FUNDS_FEN, "BALANCING")
    ctx.client(SettlementTokenClient, balancing).approve(operator.address, 2**255)

    oracle = ctx.client(MeterOracleClient, role_account("METER_ORACLE"))
    f = Flow(
        market=market,
        engine=ctx.client(SettlementEngineClient, ctx.account(f"node-{SETTLER_N}")),
        operator=operator,
        dispatcher=ctx.client(SettlementEngineClient, role_account("DISPATCH")),
        dispatch_results=ctx.client(DispatchResultsClient, role_account("METER_ORACLE")),
        dispatch_operator=ctx.client(DispatchResultsClient, role_account("OPERATOR")),
        oracle=oracle,
        dispatch_key=role_account("DISPATCH"),
        balancing=balancing,
        remainder=remainder,
        grid=grid,
    )
    actors = {
        "seller": market.seller,
        "seller2": market.seller2,
        "buyer": market.buyer,
        "buyer2": market.buyer2,
        "storage": storage_actor,
    }
    for name, actor in actors.items():
        f.parties[name] = Party(actor, ctx.client(SettlementEngineClient, actor.account))
    return f
