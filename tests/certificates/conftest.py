"""Green certificates on the session chain (main-chain mode), on the trading area's market.

Nodes (tests/trading/conftest.py): ``wind`` node-1 (Wind, region 0), ``coal`` node-2,
``consumer`` node-3, ``retailer`` node-4 (obligated parties); plus ``solar`` node-6 (Solar)
onboarded here. Meter totals of a period are posted by METER_ORACLE as a Merkle root
(oracle/merkle.py, the leaf of oracle/eip712.py) and every node total is recorded.
Fund account of fines: node-85. The trading fixture's stand-in settler (node-90, holding
MARKET_CONTRACT) settles trades for ``coverTrade``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.certificates import (
    CertificateMarketClient,
    GreenCertificateClient,
    NodeTotalTuple,
    QuotaLedgerClient,
)
from ledger.clients.oracle import MeterOracleClient
from ledger.clients.registry import NodeKind, Side
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, TradeStatus
from ledger.context import LedgerContext
from node.certificates.api import Certificates
from node.registry.participant import Bank, NodeProfile, onboard_demo_node
from oracle.eip712 import node_total_leaf
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

FUND_N = 85
SOLAR_N = 6
MWH = 1_000_000


@dataclass
class Party:
    """A node with its certificate API and token client."""

    account: LocalAccount
    certs: Certificates
    token: SettlementTokenClient

    @property
    def address(self) -> str:
        return str(self.account.address)


@dataclass
class CertWorld:
    market: Market
    cert: GreenCertificateClient  # a never-funded reader/caller
    quota: QuotaLedgerClient  # anyone
    regulator: QuotaLedgerClient
    verifier: GreenCertificateClient
    oracle: MeterOracleClient
    fund: LocalAccount
    parties: dict[str, Party] = field(default_factory=dict)

    @property
    def ctx(self) -> LedgerContext:
        return self.market.ctx

    def p(self, name: str) -> Party:
        return self.parties[name]

    def meter(
        self, period: int, totals: Mapping[str, tuple[int, int]]
    ) -> dict[str, tuple[NodeTotalTuple, list[bytes]]]:
        """Post period ``period``'s node totals {name: (importWh, exportWh)} and record all."""
        rows: list[NodeTotalTuple] = [
            (self.p(name).address, period, imp, exp, 4, b"\x22" * 32)
            for name, (imp, exp) in totals.items()
        ]
        tree = MerkleTree([node_total_leaf(*row) for row in rows])
        self.oracle.post_period(period, tree.root, len(rows), 4 * len(rows))
        out: dict[str, tuple[NodeTotalTuple, list[bytes]]] = {}
        for index, (name, row) in enumerate(zip(totals, rows, strict=True)):
            self.oracle.submit_node_total(row, tree.proof(index))
            out[name] = (row, tree.proof(index))
        return out

    def quota_for(self, period: int, weight_bps: int, fine_rate: int, in_s: int = 86_400) -> int:
        """Set ``period``'s quota with a deadline ``in_s`` from now; returns the deadline."""
        deadline = block_time(self.ctx) + in_s
        self.regulator.set_quota(period, weight_bps, deadline, fine_rate)
        return deadline

    def settled_trade(self, seller: str, buyer: str, energy_wh: int, executed_wh: int) -> int:
        """Seller posts (mode 1), buyer takes all, the stand-in settler closes it Settled."""
        m = self.market
        s, b = self._actor(seller), self._actor(buyer)
        listing = s.market.posted_listing_id(
            s.market.post(ListingSide.SELL, m.period.id, 0, 3, energy_wh, 40_000)
        )
        if block_time(self.ctx) < m.period.taking_opens_at:
            m.open_taking()
        b.allow(b.market.quote(listing, b.region, energy_wh).escrow_fen)
        trade_id = b.market.created_trade_id(b.market.take(listing, energy_wh))
        m.settler.mark_dispatched(trade_id, executed_wh, 0)
        m.settler.close_trade(trade_id, TradeStatus.SETTLED)
        return trade_id

    def _actor(self, name: str) -> Actor:
        m = self.market
        return {"wind": m.seller, "coal": m.seller2, "consumer": m.buyer, "retailer": m.buyer2}[
            name
        ]


@pytest.fixture
def world(market: Market) -> CertWorld:  # noqa: F811
    ctx = market.ctx
    solar = onboard_demo_node(
        ctx,
        SOLAR_N,
        NodeProfile(kind=NodeKind.SOLAR, side=Side.SELLER, region=0, capacity_kw=20_000),
        extra_bond_fen=EXTRA_BOND_FEN,
    )
    Bank(ctx, role_account("CLEARING_BANK")).mint(solar.address, FUNDS_FEN, "FUNDS-6")
    w = CertWorld(
        market=market,
        cert=ctx.client(GreenCertificateClient, ctx.account("node-93")),
        quota=ctx.client(QuotaLedgerClient, ctx.account("node-93")),
        regulator=ctx.client(QuotaLedgerClient, role_account("REGULATOR")),
        verifier=ctx.client(GreenCertificateClient, role_account("VERIFIER")),
        oracle=ctx.client(MeterOracleClient, role_account("METER_ORACLE")),
        fund=ctx.account(f"node-{FUND_N}"),
    )
    w.regulator.set_fund_account(w.fund.address)
    accounts = {
        "wind": market.seller.account,
        "coal": market.seller2.account,
        "consumer": market.buyer.account,
        "retailer": market.buyer2.account,
        "solar": solar.account,
    }
    for name, account in accounts.items():
        w.parties[name] = Party(
            account, Certificates(ctx, account), ctx.client(SettlementTokenClient, account)
        )
    return w


def market_client(w: CertWorld, name: str) -> CertificateMarketClient:
    return w.p(name).certs.market


__all__ = ["MWH", "CertWorld", "Party", "advance_time", "block_time", "market_client"]
