"""Fixtures of the participant contracts: role wallets, nodes and a MARKET_CONTRACT key."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.clients.access import MarketAccessClient
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side, code
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.identity import IdentityBundle, demo_bundle
from ledger.keystore import demo_account
from node.registry.participant import NodeProfile, Participant
from tests.conftest import role_account

#: A demo key given MARKET_CONTRACT in tests (standing in for settlement/trading contracts).
MARKET_INDEX = 990
STRANGER_INDEX = 991
WIND = NodeProfile(kind=NodeKind.WIND, side=Side.SELLER, region=3, capacity_kw=50_000)
COAL = NodeProfile(
    kind=NodeKind.COAL,
    side=Side.SELLER,
    region=1,
    capacity_kw=600_000,
    carbon_intensity_g_per_kwh=820,
)
CONSUMER = NodeProfile(kind=NodeKind.CONSUMER, side=Side.BUYER, region=2, capacity_kw=2_000)


@dataclass
class Market:
    """Clients of the registry and the token for every actor of a test."""

    ctx: LedgerContext

    def registry(self, who: LocalAccount) -> NodeRegistryClient:
        return self.ctx.client(NodeRegistryClient, who)

    def token(self, who: LocalAccount) -> SettlementTokenClient:
        return self.ctx.client(SettlementTokenClient, who)

    def role(self, role: str) -> NodeRegistryClient:
        return self.registry(role_account(role))

    @property
    def verifier(self) -> NodeRegistryClient:
        return self.role("VERIFIER")

    @property
    def operator(self) -> NodeRegistryClient:
        return self.role("OPERATOR")

    @property
    def regulator(self) -> NodeRegistryClient:
        return self.role("REGULATOR")

    @property
    def agency(self) -> NodeRegistryClient:
        return self.role("CREDIT_AGENCY")

    @property
    def market(self) -> NodeRegistryClient:
        return self.registry(demo_account(MARKET_INDEX))

    @property
    def bank(self) -> SettlementTokenClient:
        return self.token(role_account("CLEARING_BANK"))

    def node(self, n: int) -> Participant:
        return Participant(self.ctx, demo_account(1000 + n))

    def now(self) -> int:
        return int(self.ctx.w3.eth.get_block("latest")["timestamp"])

    def warp(self, seconds: int) -> None:
        self.ctx.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    _refs: int = 0

    def mint(self, to: str, amount_fen: int) -> None:
        self._refs += 1
        self.bank.mint(to, amount_fen, code(f"DEP-{self._refs}-{self.now()}"))

    def apply(
        self, n: int, profile: NodeProfile = WIND, bundle: IdentityBundle | None = None
    ) -> Participant:
        node = self.node(n)
        node.apply(profile, bundle or demo_bundle(n))
        return node

    def admit(
        self, n: int, profile: NodeProfile = WIND, bond_fen: int | None = None
    ) -> Participant:
        """Apply, approve, mint and deposit the required bond (or ``bond_fen``)."""
        node = self.apply(n, profile)
        self.verifier.approve_node(node.address)
        amount = node.registry.required_bond_of(node.address) if bond_fen is None else bond_fen
        if amount:
            self.mint(node.address, amount)
            node.deposit_bond(amount)
        return node


@pytest.fixture
def market(ctx: LedgerContext, admin: LocalAccount) -> Market:
    access = ctx.client(MarketAccessClient, admin)
    access.grant_role("MARKET_CONTRACT", demo_account(MARKET_INDEX).address)
    return Market(ctx)


@pytest.fixture
def stranger() -> LocalAccount:
    return demo_account(STRANGER_INDEX)


def addr(account: LocalAccount) -> str:
    return Web3.to_checksum_address(account.address)
