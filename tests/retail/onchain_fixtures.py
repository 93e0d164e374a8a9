"""The retail layer on the trading fixture's market (tests/trading/conftest.py).

``market.buyer`` node-3 is the consumer, ``market.buyer2`` node-4 the retailer; node-5 is
a second retailer (for switching). Both retailers hold a retail agency contract with the
consumer in ``BilateralContracts`` (templates published, contracts co-signed and
registered through the parties' desks).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.bilateral.templates import RETAIL_AGENCY, WHOLESALE
from ledger.clients.bilateral import BilateralContractsClient
from ledger.clients.registry import NodeKind, Side
from ledger.clients.retail import (
    AccountTerms,
    PackageOffer,
    RetailBillsClient,
    RetailPackagesClient,
)
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.retail.accounts import DemandBasis
from ledger.retail.months import local_datetime
from ledger.retail.packages import ConsumerClass, FixedPrice, RetailPackage, TierBlock, Tiered
from node.contracts.desk import ContractDesk
from node.contracts.store import MessageStore
from node.registry.participant import Bank, NodeProfile, onboard_demo_node
from tests.conftest import role_account
from tests.trading.conftest import Market, block_time
from tests.trading.conftest import market as market

FUNDS_FEN = 50_000_000
PRICE = 450_000  # fen/MWh (0.45 CNY/kWh)
TERMS = AccountTerms(
    consumer_class=ConsumerClass.commercial,
    contracted_capacity_kva=630,
    demand_basis=DemandBasis.capacity,
    pf_standard_milli=900,
)


@dataclass
class Party:
    account: LocalAccount
    packages: RetailPackagesClient
    bills: RetailBillsClient
    token: SettlementTokenClient

    @property
    def address(self) -> str:
        return str(self.account.address)


@dataclass
class Retail:
    ctx: LedgerContext
    market: Market
    consumer: Party
    retailer: Party
    retailer2: Party
    agency: int
    """The agency contract retailer -> consumer."""
    agency2: int
    """The agency contract retailer2 -> consumer."""
    desks: dict[str, ContractDesk]

    def party(self, account: LocalAccount) -> Party:
        return Party(
            account,
            self.ctx.client(RetailPackagesClient, account),
            self.ctx.client(RetailBillsClient, account),
            self.ctx.client(SettlementTokenClient, account),
        )

    def now(self) -> int:
        return block_time(self.ctx)

    def package(self, retailer: Party, name: str = "Business fixed", **kw: object) -> RetailPackage:
        today = local_datetime(self.now()).date()
        values: dict[str, object] = {
            "retailer": retailer.address,
            "name": name,
            "consumer_class": ConsumerClass.commercial,
            "valid_from": today - timedelta(days=1),
            "valid_to": today + timedelta(days=366),
            "pricing": FixedPrice(price_fen_per_mwh=PRICE),
        }
        return RetailPackage.model_validate(values | kw)

    def publish(self, retailer: Party, package: RetailPackage | None = None) -> int:
        offer = PackageOffer.of(package or self.package(retailer))
        return retailer.packages.published_id(retailer.packages.publish(offer))

    def bind(self, package_id: int, contract_no: int, days: int = 30) -> int:
        now = self.now()
        receipt = self.consumer.packages.bind(
            package_id, contract_no, now, now + days * 86_400, TERMS
        )
        return self.consumer.packages.bound_id(receipt)


TIERED = Tiered(
    blocks=[
        TierBlock(upto_kwh=1_000, price_fen_per_mwh=400_000),
        TierBlock(price_fen_per_mwh=500_000),
    ]
)


def _agency(ret: ContractDesk, con: ContractDesk, first_period: int) -> int:
    fields = {
        "seller": {"address": ret.account.address, "name": "Retailer"},
        "buyer": {"address": con.account.address, "name": "Shop"},
        "first_period_id": first_period,
        "first_interval": 0,
        "last_interval": 95,
        "schedule_wh": [1_000_000],
        "price_fen_per_mwh": PRICE,
        "agency_fee_fen_per_mwh": 1_000,
    }
    offer = ret.propose("retail-agency", fields)
    con.receive(offer)
    nid = offer.step.negotiation_id
    ret.receive(con.accept(nid))
    return con.register(nid, ret.sign_terms(nid), con.sign_terms(nid))


@pytest.fixture
def retail(
    ctx: LedgerContext,
    market: Market,
    tmp_path: Path,
) -> Iterator[Retail]:
    operator = ctx.client(BilateralContractsClient, role_account("OPERATOR"))
    for t in (WHOLESALE, RETAIL_AGENCY):
        operator.publish_template(t.kind, t.version, t.template_hash())
    profile = NodeProfile(kind=NodeKind.RETAILER, side=Side.BUYER, region=2)
    second = onboard_demo_node(ctx, 5, profile, extra_bond_fen=1)
    Bank(ctx, role_account("CLEARING_BANK")).mint(second.address, FUNDS_FEN, "FUNDS-5")
    accounts = {"con": market.buyer.account, "ret": market.buyer2.account, "ret2": second.account}
    stores = {k: MessageStore(f"sqlite:///{tmp_path / f'{k}.db'}") for k in accounts}
    desks = {k: ContractDesk(ctx, a, stores[k]) for k, a in accounts.items()}
    first = market.period.id
    agency = _agency(desks["ret"], desks["con"], first)
    agency2 = _agency(desks["ret2"], desks["con"], first)
    setup = Retail(ctx, market, None, None, None, agency, agency2, desks)  # type: ignore[arg-type]
    setup.consumer = setup.party(accounts["con"])
    setup.retailer = setup.party(accounts["ret"])
    setup.retailer2 = setup.party(accounts["ret2"])
    yield setup
    for store in stores.values():
        store.close()


def terminate(retail: Retail, retailer_key: str, contract_no: int) -> None:
    """Terminate ``contract_no`` by mutual consent (co-signed by retailer and consumer)."""
    ret, con = retail.desks[retailer_key], retail.desks["con"]
    termination = ret.termination(contract_no, "switching retailer")
    sigs = (ret.sign_message(contract_no, termination), con.sign_message(contract_no, termination))
    ret.client.terminate(termination, *sigs)
