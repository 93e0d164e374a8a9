"""Clients of ``RetailPackages`` and ``RetailBills`` (docs/retail.md).

Units: prices in fen/MWh, money in fen, times in unix seconds, months as YYYYMM. Hashes
are 0x hex. The bill leaf and the Merkle tree over a month's bills are built offline
(``ledger.retail.leaves``, the contract's ``billLeaf``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient, model_from_values
from ledger.retail.accounts import ConsumerAccount, DemandBasis
from ledger.retail.months import local_midnight
from ledger.retail.packages import (
    ConsumerClass,
    FixedPrice,
    PeriodKind,
    RetailPackage,
    TimeOfUse,
    package_hash,
)

#: The on-chain ``ConsumerClass`` / ``PricingKind`` / ``DemandBasis`` codes are the
#: positions of these values (``ledger.retail``'s enums and pricing kinds, in order).
CLASSES: tuple[ConsumerClass, ...] = tuple(ConsumerClass)
PRICING_KINDS = ("fixed", "time_of_use", "tiered")
DEMAND_BASES: tuple[DemandBasis, ...] = tuple(DemandBasis)


def _coded(values: tuple[Any, ...]) -> BeforeValidator:
    """Read an on-chain code (an int) as the value at that position."""
    return BeforeValidator(lambda v: values[v] if isinstance(v, int) else v)


ClassField = Annotated[ConsumerClass, _coded(CLASSES)]
PricingField = Annotated[str, _coded(PRICING_KINDS)]
BasisField = Annotated[DemandBasis, _coded(DEMAND_BASES)]


def _b32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _hex(value: Any) -> Any:
    return "0x" + value.hex() if isinstance(value, bytes) else value


def _addr(value: str) -> str:
    return str(Web3.to_checksum_address(value))


class PackageOffer(BaseModel):
    """``IRetailPackages.PackageOffer``: what a retailer publishes."""

    model_config = ConfigDict(frozen=True)

    package_hash: str
    consumer_class: ConsumerClass
    pricing_kind: str
    two_part: bool
    valid_from: int
    valid_to: int
    headline_price_fen_per_mwh: int

    @classmethod
    def of(cls, package: RetailPackage) -> PackageOffer:
        """The offer of ``package``: its hash, class, kind, window (local midnights) and
        headline price (the fixed price, the flat rate, or the first block's price)."""
        pricing = package.pricing
        if isinstance(pricing, FixedPrice):
            headline = pricing.price_fen_per_mwh
        elif isinstance(pricing, TimeOfUse):
            rates = pricing.rates_fen_per_mwh
            headline = rates.get(PeriodKind.flat, min(rates.values()))
        else:
            headline = pricing.blocks[0].price_fen_per_mwh
        return cls(
            package_hash="0x" + package_hash(package).hex(),
            consumer_class=package.consumer_class,
            pricing_kind=pricing.kind,
            two_part=package.two_part,
            valid_from=local_midnight(package.valid_from),
            valid_to=local_midnight(package.valid_to),
            headline_price_fen_per_mwh=headline,
        )

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            _b32(self.package_hash),
            CLASSES.index(self.consumer_class),
            PRICING_KINDS.index(self.pricing_kind),
            self.two_part,
            self.valid_from,
            self.valid_to,
            self.headline_price_fen_per_mwh,
        )


class Package(BaseModel):
    """``IRetailPackages.Package``."""

    model_config = ConfigDict(frozen=True)

    id: int
    retailer: str
    package_hash: str
    consumer_class: ClassField
    pricing_kind: PricingField
    two_part: bool
    valid_from: int
    valid_to: int
    headline_price_fen_per_mwh: int
    published_at: int
    withdrawn_at: int

    def offered_at(self, at: int) -> bool:
        return self.withdrawn_at == 0 and self.valid_from <= at < self.valid_to


class AccountTerms(BaseModel):
    """``IRetailPackages.AccountTerms``: a consumer's billing account terms."""

    model_config = ConfigDict(frozen=True)

    consumer_class: ClassField
    contracted_capacity_kva: int
    demand_basis: BasisField
    pf_standard_milli: int

    @classmethod
    def of(cls, account: ConsumerAccount) -> AccountTerms:
        """The terms of ``account`` (no power-factor standard: 0)."""
        return cls(
            consumer_class=account.consumer_class,
            contracted_capacity_kva=account.contracted_capacity_kva,
            demand_basis=account.demand_basis,
            pf_standard_milli=account.pf_standard_milli or 0,
        )

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (
            CLASSES.index(self.consumer_class),
            self.contracted_capacity_kva,
            DEMAND_BASES.index(self.demand_basis),
            self.pf_standard_milli,
        )


class Binding(BaseModel):
    """``IRetailPackages.Binding``."""

    model_config = ConfigDict(frozen=True)

    id: int
    consumer: str
    retailer: str
    package_id: int
    contract_no: int
    valid_from: int
    valid_to: int
    terms: AccountTerms
    bound_at: int
    previous_binding_id: int

    def covers(self, start: int, end: int) -> bool:
        """Whether [start, end) overlaps the binding's window."""
        return self.valid_from < end and start < self.valid_to


class BillBatch(BaseModel):
    """``IRetailBills.BillBatch``: a month's anchored bills."""

    model_config = ConfigDict(frozen=True)

    id: int
    retailer: str
    month: int
    root: str
    count: int
    total_fen: int
    due_at: int
    anchored_at: int
    paid_fen: int


class BillStatus(BaseModel):
    """``IRetailBills.BillStatus``."""

    model_config = ConfigDict(frozen=True)

    leaf: str
    total_fen: int
    paid_fen: int
    due_at: int
    overdue: bool
    marked_overdue: bool

    @property
    def unpaid_fen(self) -> int:
        return self.total_fen - self.paid_fen


class RetailPackagesClient(ContractClient):
    """Packages and bindings (see ``IRetailPackages``)."""

    ARTIFACT = "RetailPackages"

    def publish(self, offer: PackageOffer) -> TxReceipt:
        return self._transact("publish", offer.as_tuple())

    def withdraw(self, package_id: int) -> TxReceipt:
        return self._transact("withdraw", package_id)

    def bind(
        self, package_id: int, contract_no: int, valid_from: int, valid_to: int, terms: AccountTerms
    ) -> TxReceipt:
        args = (package_id, contract_no, valid_from, valid_to, terms.as_tuple())
        return self._transact("bind", *args)

    def package_count(self) -> int:
        return int(self._call("packageCount"))

    def package_of(self, package_id: int) -> Package:
        return model_from_values(Package, [_hex(v) for v in self._call("packageOf", package_id)])

    def packages(self) -> list[Package]:
        return [self.package_of(i) for i in range(1, self.package_count() + 1)]

    def package_id_of(self, package_hash: str) -> int:
        return int(self._call("packageIdOf", _b32(package_hash)))

    def binding_count(self) -> int:
        return int(self._call("bindingCount"))

    def binding_of(self, binding_id: int) -> Binding:
        values = list(self._call("bindingOf", binding_id))
        values[7] = model_from_values(AccountTerms, values[7])
        return model_from_values(Binding, values)

    def current_binding_id(self, consumer: str) -> int:
        return int(self._call("currentBindingId", _addr(consumer)))

    def history(self, consumer: str) -> list[Binding]:
        """``consumer``'s bindings, latest first (the chain of ``previousBindingId``)."""
        out: list[Binding] = []
        binding_id = self.current_binding_id(consumer)
        while binding_id:
            out.append(self.binding_of(binding_id))
            binding_id = out[-1].previous_binding_id
        return out

    def binding_at(self, consumer: str, start: int, end: int) -> Binding | None:
        """``consumer``'s latest binding overlapping [start, end), if any."""
        return next((b for b in self.history(consumer) if b.covers(start, end)), None)

    def customers_of(self, retailer: str) -> list[Binding]:
        """Every binding made to ``retailer`` (its ``ConsumerBound`` events), in order."""
        event = self._contract.events["ConsumerBound"]()
        logs = event.get_logs(from_block=0, argument_filters={"retailer": _addr(retailer)})
        return [self.binding_of(int(e["args"]["bindingId"])) for e in logs]

    def in_force(self, binding_id: int) -> bool:
        return bool(self._call("inForce", binding_id))

    def published_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "PackagePublished")[0]["args"]["packageId"])

    def bound_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "ConsumerBound")[0]["args"]["bindingId"])


class RetailBillsClient(ContractClient):
    """Anchored monthly bills and their payment (see ``IRetailBills``)."""

    ARTIFACT = "RetailBills"

    def anchor_bills(
        self, month: int, root: str, count: int, total_fen: int, due_at: int
    ) -> TxReceipt:
        return self._transact("anchorBills", month, _b32(root), count, total_fen, due_at)

    def pay(
        self,
        batch_id: int,
        consumer: str,
        bill_hash: str,
        total_fen: int,
        proof: Sequence[str],
        amount_fen: int,
    ) -> TxReceipt:
        args = (_addr(consumer), _b32(bill_hash), total_fen, [_b32(p) for p in proof])
        return self._transact("pay", batch_id, *args, amount_fen)

    def mark_overdue(
        self, batch_id: int, consumer: str, bill_hash: str, total_fen: int, proof: Sequence[str]
    ) -> TxReceipt:
        args = (_addr(consumer), _b32(bill_hash), total_fen, [_b32(p) for p in proof])
        return self._transact("markOverdue", batch_id, *args)

    def settlement_token(self) -> str:
        return str(self._call("settlementToken"))

    def batch_count(self) -> int:
        return int(self._call("batchCount"))

    def batch_of(self, batch_id: int) -> BillBatch:
        return model_from_values(BillBatch, [_hex(v) for v in self._call("batchOf", batch_id)])

    def batches(self) -> list[BillBatch]:
        return [self.batch_of(i) for i in range(1, self.batch_count() + 1)]

    def batch_id_of(self, retailer: str, month: int) -> int:
        return int(self._call("batchIdOf", _addr(retailer), month))

    def bill_leaf(
        self, consumer: str, retailer: str, month: int, bill_hash: str, total_fen: int
    ) -> str:
        args = (_addr(consumer), _addr(retailer), month, _b32(bill_hash), total_fen)
        return str(_hex(self._call("billLeaf", *args)))

    def bill_status(
        self, batch_id: int, consumer: str, bill_hash: str, total_fen: int, proof: Sequence[str]
    ) -> BillStatus:
        args = (_addr(consumer), _b32(bill_hash), total_fen, [_b32(p) for p in proof])
        values = [_hex(v) for v in self._call("billStatus", batch_id, *args)]
        return model_from_values(BillStatus, values)

    def paid_fen_of(self, batch_id: int, leaf: str) -> int:
        return int(self._call("paidFenOf", batch_id, _b32(leaf)))

    def anchored_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "BillsAnchored")[0]["args"]["batchId"])
