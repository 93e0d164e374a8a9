"""Bilateral contracts on the trading fixture's market: published templates, two desks.

``market`` (tests/trading/conftest.py) gives seller node-1 (wind), buyer node-3
(consumer), buyer2 node-4 (retailer) and one open period. Each party's desk keeps its own
message store (SQLite in the test's tmp dir).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.bilateral.templates import RETAIL_AGENCY, WHOLESALE
from ledger.clients.bilateral import BilateralContractsClient
from ledger.context import LedgerContext
from ledger.settings import Settings
from node.contracts.cli import app
from node.contracts.desk import ContractDesk
from node.contracts.store import MessageStore
from tests.conftest import role_account
from tests.trading.conftest import Market, market  # noqa: F401 - the fixture

PRICE = 350_000  # fen/MWh (350 CNY/MWh)
SCHEDULE = [2_000_000, 3_000_000]  # Wh in periods p, p+1


@dataclass
class Parties:
    market: Market
    operator: BilateralContractsClient
    seller: ContractDesk
    buyer: ContractDesk
    retailer: ContractDesk

    def fields(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "seller": {"address": self.seller.account.address, "name": "Wind Farm One"},
            "buyer": {"address": self.buyer.account.address, "name": "Steel Works"},
            "first_period_id": self.market.period.id,
            "first_interval": 0,
            "last_interval": 95,
            "schedule_wh": list(SCHEDULE),
            "price_fen_per_mwh": PRICE,
        }
        values.update(overrides)
        return values

    def negotiate(self, **overrides: Any) -> str:
        """Propose (seller), counter (buyer, lower price), accept (seller): the id."""
        offer = self.seller.propose("wholesale", self.fields(**overrides), "offer")
        self.buyer.receive(offer)
        nid = offer.step.negotiation_id
        counter_fields = self.fields(**(overrides | {"price_fen_per_mwh": PRICE - 10_000}))
        counter = self.buyer.counter(nid, counter_fields, "lower please")
        self.seller.receive(counter)
        accept = self.seller.accept(nid, "agreed")
        self.buyer.receive(accept)
        return nid

    def cosign(self, nid: str) -> tuple[str, str]:
        return self.seller.sign_terms(nid), self.buyer.sign_terms(nid)


@pytest.fixture
def parties(
    ctx: LedgerContext,
    market: Market,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> Iterator[Parties]:
    operator = ctx.client(BilateralContractsClient, role_account("OPERATOR"))
    for t in (WHOLESALE, RETAIL_AGENCY):
        operator.publish_template(t.kind, t.version, t.template_hash())
    stores = [MessageStore(f"sqlite:///{tmp_path / f'{n}.db'}") for n in ("s", "b", "r")]
    desks = [
        ContractDesk(ctx, actor.account, store)
        for actor, store in zip((market.seller, market.buyer, market.buyer2), stores, strict=True)
    ]
    yield Parties(market, operator, *desks)
    for store in stores:
        store.close()


@dataclass
class Cli:
    """``gridledger contract ...`` on the session chain with the demo keys."""

    env: dict[str, str]

    def __call__(self, *args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, list(args), env=self.env)
        assert result.exit_code == code, (result.output, result.exception)
        return result.output


@pytest.fixture
def cli(session_settings: Settings) -> Cli:
    return Cli(
        {
            "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
            "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
            "GRIDLEDGER_DEMO_KEYS": "1",
        }
    )
