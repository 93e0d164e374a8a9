"""The day's retail layer (docs/retail.md), after the bilateral contracts.

A retailer publishes three packages (fixed price for a commercial consumer, time-of-use for
an industrial one, tiered blocks for a residential one) for the month of the delivery day;
the three smallest consumers that drew energy each bind to one through a retail agency
contract with the retailer (the contracts stage's where it exists, else one negotiated and
registered here); each consumer's bill of the month is computed from its signed readings in
the oracle's store (``ledger.retail.bill``, the day's readings), the retailer anchors the
month's bills as one Merkle root, two consumers pay in full and one pays half (topping
their wallets up at the clearing bank first). The summary counts packages, bills, their
total and what was paid. Nothing here trades, so the day's market figures are untouched.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.bilateral.templates import RETAIL_AGENCY
from ledger.clients.bilateral import BilateralContractsClient
from ledger.clients.registry import NodeRegistryClient, NodeStatus
from ledger.clients.retail import (
    AccountTerms,
    PackageOffer,
    RetailBillsClient,
    RetailPackagesClient,
)
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import TradingMarketClient
from ledger.db import make_engine
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.bill import Bill, compute_bill
from ledger.retail.months import first_day, local_datetime, month_bounds
from ledger.retail.packages import RetailPackage
from ledger.retail.readings import from_oracle_store
from ledger.retail.samples import sample_rates, sample_time_of_use
from ledger.scenario import Participant
from ledger.units import fen_to_cny
from node.contracts.desk import ContractDesk
from node.contracts.store import MessageStore, default_url
from node.registry.participant import Bank
from node.retail.issue import IssuedBatch, bill_ref, issue
from oracle import eip712
from scripts.day import plan
from scripts.day.demo_base import DemoBase

#: (consumer class, voltage level, pricing) of the three demo accounts; the published rates
#: and the time-of-use windows are ``ledger.retail.samples``' illustrative ones.
OFFERS: list[tuple[str, str, dict[str, Any]]] = [
    ("commercial", "below_1kv", {"kind": "fixed", "price_fen_per_mwh": 452_000}),
    ("industrial", "kv_1_10", sample_time_of_use(420_000).model_dump(mode="json")),
    (
        "residential",
        "below_1kv",
        {
            "kind": "tiered",
            "blocks": [
                {"upto_kwh": 180, "price_fen_per_mwh": 520_000},
                {"upto_kwh": 280, "price_fen_per_mwh": 570_000},
                {"price_fen_per_mwh": 820_000},
            ],
        },
    ),
]
RATES = sample_rates()
#: Days after the anchoring a bill is due.
DUE_DAYS = 15


class RetailStages(DemoBase):
    """Retail packages, bindings, the month's bills anchored and paid."""

    def retail(self) -> None:
        needed = ("RetailPackages", "RetailBills", "BilateralContracts")
        if not all(self.has(c) for c in needed):
            self.summary.skipped.append("retail")
            return
        retailer, consumers = self._retail_parties()
        day = self._retail_day_start()
        month = local_datetime(day).year * 100 + local_datetime(day).month
        r_account = self.account(retailer)
        packages = self.ctx.client(RetailPackagesClient, r_account)
        bills: list[Bill] = []
        billed: list[Participant] = []
        engine = make_engine(self.oracle_ctx().settings)
        for consumer in consumers:
            if len(bills) == len(OFFERS):
                break
            klass, voltage, pricing = OFFERS[len(bills)]
            account = self._retail_account(consumer, klass, voltage)
            readings = from_oracle_store(engine, account, month)
            if int(readings.import_wh.sum()) == 0:  # no energy drawn this month: no bill
                continue
            package = self._retail_package(r_account.address, klass, pricing, month)
            package_id = packages.published_id(packages.publish(PackageOffer.of(package)))
            agency = self._retail_agency(retailer, consumer)
            c_packages = self.ctx.client(RetailPackagesClient, self.account(consumer))
            start, end = month_bounds(month)
            until = max(end, self.chain_time() + 30 * 86_400)
            c_packages.bind(package_id, agency, start, until, AccountTerms.of(account))
            bills.append(compute_bill(account, readings, package, RATES, month))
            billed.append(consumer)
        batch = issue(
            self.ctx.client(RetailBillsClient, r_account),
            [bill_ref(b) for b in bills],
            self.chain_time() + DUE_DAYS * 86_400,
        )
        paid = self._retail_pay(batch, billed)
        self.summary.retail_packages = len(bills)
        self.summary.retail_bills = len(bills)
        self.summary.retail_billed_fen = batch.total_fen
        self.summary.retail_paid_fen = paid
        totals = ", ".join(
            f"{p.name} {b.package_name} {fen_to_cny(b.total_fen)} CNY"
            for p, b in zip(billed, bills, strict=True)
        )
        self.report(
            f"retail: {len(bills)} packages of {retailer.name} (fixed, time-of-use, tiered), "
            f"{len(bills)} consumers bound through agency contracts; bills of {month} anchored "
            f"as batch {batch.batch_id} ({totals}); paid {fen_to_cny(paid)} of "
            f"{fen_to_cny(batch.total_fen)} CNY"
        )

    def _retail_parties(self) -> tuple[Participant, list[Participant]]:
        """The contracts stage's retailer and the active consumers, smallest first."""
        registry = self.ctx.client(NodeRegistryClient, self.role("operator"))

        def able(p: Participant) -> bool:
            if p.violation is not None:
                return False
            return registry.status_of(self.account(p).address) == NodeStatus.ACTIVE

        retailer = next(p for p in self.scenario.by_kind("retailer") if able(p))
        consumers = sorted(
            (p for p in self.scenario.by_kind("consumer") if able(p)),
            key=lambda p: (p.capacity_kw, p.index),
        )
        return retailer, consumers

    def _retail_day_start(self) -> int:
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        return market.period(self.period_id).delivery_start

    def _retail_package(
        self, retailer: str, klass: str, pricing: dict[str, Any], month: int
    ) -> RetailPackage:
        start = first_day(month)
        return RetailPackage.model_validate(
            {
                "retailer": retailer,
                "name": f"{pricing['kind'].replace('_', '-')} {klass}",
                "consumer_class": klass,
                "valid_from": start,
                "valid_to": date(start.year + 1, start.month, 1),
                "pricing": pricing,
            }
        )

    def _retail_account(self, p: Participant, klass: str, voltage: str) -> ConsumerAccount:
        meters = [
            {
                "meter_id": "0x" + eip712.meter_id_bytes(plan.meter_label(p, k)).hex(),
                "valid_from": 0,
            }
            for k in range(plan.meter_count(p))
        ]
        return ConsumerAccount.model_validate(
            {
                "node": self.account(p).address,
                "consumer_class": klass,
                "voltage_level": voltage,
                "contracted_capacity_kva": max(1, p.capacity_kw),
                "pf_standard_milli": 900 if klass == "industrial" else None,
                "meters": meters,
            }
        )

    def _retail_agency(self, retailer: Participant, consumer: Participant) -> int:
        """An active retail agency contract retailer -> consumer with no expiry: the chain's
        (``active_contract_between``), else a new one."""
        r, c = self.account(retailer), self.account(consumer)
        client = self.ctx.client(BilateralContractsClient, r)
        if RETAIL_AGENCY.kind not in {t.kind for t in client.templates()}:
            t = RETAIL_AGENCY
            operator = self.ctx.client(BilateralContractsClient, self.role("operator"))
            operator.publish_template(t.kind, t.version, t.template_hash())
        now = self.chain_time()
        found = client.active_contract_between(r.address, c.address, RETAIL_AGENCY.kind, now)
        if found is not None and found.expires_at == 0:
            return found.contract_no
        return self._retail_register_agency(retailer, consumer, r, c)

    def _retail_register_agency(
        self, retailer: Participant, consumer: Participant, r: LocalAccount, c: LocalAccount
    ) -> int:
        data = Path(self.ctx.settings.data_dir)
        stores = [MessageStore(default_url(data, a.address)) for a in (r, c)]
        try:
            ret, con = (ContractDesk(self.ctx, a, s) for a, s in zip((r, c), stores, strict=True))
            fields = {
                "seller": {"address": r.address, "name": retailer.name},
                "buyer": {"address": c.address, "name": consumer.name},
                "first_period_id": self.period_id,
                "first_interval": 0,
                "last_interval": self.schedule.intervals - 1,
                "schedule_wh": [1_000_000],
                "price_fen_per_mwh": 452_000,
                "agency_fee_fen_per_mwh": 1_000,
            }
            offer = ret.propose(RETAIL_AGENCY.kind, fields)
            con.receive(offer)
            nid = offer.step.negotiation_id
            ret.receive(con.accept(nid))
            return con.register(nid, ret.sign_terms(nid), con.sign_terms(nid))
        finally:
            for store in stores:
                store.close()

    def _retail_pay(self, batch: IssuedBatch, consumers: list[Participant]) -> int:
        """Every consumer pays its bill in full but the last, which pays half; the total paid.
        Each first tops its wallet up by the amount at the clearing bank (a day's retail bill
        of these large loads is more than the wallet the day's trading left them)."""
        bank = Bank(self.ctx, self.role("clearing-bank"))
        paid = 0
        for n, consumer in enumerate(consumers):
            account = self.account(consumer)
            bill = batch.bill_of(account.address)
            amount = bill.total_fen if n < len(consumers) - 1 else bill.total_fen // 2
            if amount == 0:
                continue
            bank.mint(account.address, amount, f"retail-bill/{batch.batch_id}/{consumer.index + 1}")
            client = self.ctx.client(RetailBillsClient, account)
            self.ctx.client(SettlementTokenClient, account).approve(client.address, amount)
            args = (bill.consumer, bill.bill_hash, bill.total_fen, bill.proof, amount)
            client.pay(batch.batch_id, *args)
            paid += amount
        return paid
