"""Client of ``BilateralContracts``: templates, co-signed contracts, their period trades.

Units: energy in Wh, prices in fen/MWh. Hashes are 0x hex. The EIP-712 messages and their
digests are built offline by ``ledger.bilateral.typed``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from web3.types import EventData, TxReceipt

from ledger.bilateral.typed import Amendment, ContractTerms, Domain, Termination, hex32
from ledger.clients.base import ContractClient

PAGE = 200
#: The events of one contract (its history), each with ``contractNo``.
CONTRACT_EVENTS = (
    "ContractRegistered",
    "PeriodTradeFormed",
    "ContractAmended",
    "ContractTerminated",
    "ContractCompleted",
    "AnomalyRecorded",
    "ChangeHeld",
    "ChangeReviewed",
)


class ContractStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    COMPLETED = 2
    TERMINATED = 3
    TERMINATED_FOR_CAUSE = 4


class ChangeKind(IntEnum):
    NONE = 0
    AMENDMENT = 1
    TERMINATION = 2


class AnomalyKind(IntEnum):
    """What ``recordAnomaly`` records (its ``kind``)."""

    DEVIATION = 1
    FEE_DISPUTE = 2
    OTHER = 3


class OnChainTemplate(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    version: int
    template_hash: str
    published_at: int


class BilateralContract(BaseModel):
    """``IBilateralContracts.BilateralContract``."""

    model_config = ConfigDict(frozen=True)

    contract_no: int
    template_id: int
    seller: str
    buyer: str
    status: ContractStatus
    document_hash: str
    terms_digest: str
    first_period_id: int
    periods: int
    first_interval: int
    last_interval: int
    price_fen_per_mwh: int
    tolerance_bps: int
    expires_at: int
    registered_at: int
    sequence: int

    @property
    def last_period_id(self) -> int:
        return self.first_period_id + self.periods - 1


class ScheduledPeriod(BaseModel):
    model_config = ConfigDict(frozen=True)

    period_id: int
    energy_wh: int
    trade_id: int


class ScheduledBlock(BaseModel):
    """One block of a period's profile (the whole window when flat) and its trade."""

    model_config = ConfigDict(frozen=True)

    period_id: int
    first_interval: int
    last_interval: int
    energy_wh: int
    trade_id: int


class ProfileTerms(BaseModel):
    model_config = ConfigDict(frozen=True)

    block_intervals: int
    blocks: int
    renewal_notice_days: int


class PendingChange(BaseModel):
    """A co-signed change held for OPERATOR review (kind NONE: none)."""

    model_config = ConfigDict(frozen=True)

    kind: ChangeKind
    sequence: int
    period_id: int
    held_at: int
    digest: str


def _hexed(values: Any) -> list[Any]:
    return [hex32(v) if isinstance(v, bytes) else v for v in values]


class BilateralContractsClient(ContractClient):
    ARTIFACT = "BilateralContracts"

    def domain(self) -> Domain:
        return Domain(chain_id=self.sender.w3.eth.chain_id, verifying_contract=self.address)

    # writes -----------------------------------------------------------------------

    def publish_template(self, kind: str, version: int, template_hash: str) -> TxReceipt:
        return self._transact("publishTemplate", kind, version, bytes.fromhex(template_hash[2:]))

    def register(
        self, terms: ContractTerms, signed_digest: str, seller_sig: str, buyer_sig: str
    ) -> TxReceipt:
        return self._transact(
            "register",
            terms.as_tuple(),
            bytes.fromhex(signed_digest[2:]),
            _sig(seller_sig),
            _sig(buyer_sig),
        )

    def form_period_trade(self, contract_no: int, period_id: int) -> TxReceipt:
        return self._transact("formPeriodTrade", contract_no, period_id)

    def amend(self, amendment: Amendment, seller_sig: str, buyer_sig: str) -> TxReceipt:
        return self._transact("amend", amendment.as_tuple(), _sig(seller_sig), _sig(buyer_sig))

    def terminate(self, termination: Termination, seller_sig: str, buyer_sig: str) -> TxReceipt:
        args = (termination.as_tuple(), _sig(seller_sig), _sig(buyer_sig))
        return self._transact("terminate", *args)

    def terminate_for_cause(self, contract_no: int) -> TxReceipt:
        return self._transact("terminateForCause", contract_no)

    def record_anomaly(
        self, contract_no: int, period_id: int, kind: AnomalyKind, detail_hash: str
    ) -> TxReceipt:
        detail = bytes.fromhex(detail_hash[2:])
        return self._transact("recordAnomaly", contract_no, period_id, int(kind), detail)

    def approve_amendment(self, amendment: Amendment) -> TxReceipt:
        return self._transact("approveAmendment", amendment.as_tuple())

    def approve_termination(self, termination: Termination) -> TxReceipt:
        return self._transact("approveTermination", termination.as_tuple())

    def reject_change(self, contract_no: int, reason_hash: str) -> TxReceipt:
        return self._transact("rejectChange", contract_no, bytes.fromhex(reason_hash[2:]))

    def flag_deviation(self, contract_no: int, period_id: int) -> TxReceipt:
        return self._transact("flagDeviation", contract_no, period_id)

    # reads ------------------------------------------------------------------------

    def terms_digest(self, terms: ContractTerms) -> str:
        return hex32(self._call("termsDigest", terms.as_tuple()))

    def template_count(self) -> int:
        return int(self._call("templateCount"))

    def template(self, template_id: int) -> OnChainTemplate:
        values = _hexed(self._call("template", template_id))
        return OnChainTemplate(**dict(zip(OnChainTemplate.model_fields, values, strict=True)))

    def templates(self) -> list[OnChainTemplate]:
        return [self.template(i) for i in range(1, self.template_count() + 1)]

    def contract_count(self) -> int:
        return int(self._call("contractCount"))

    def contract_of(self, contract_no: int) -> BilateralContract:
        values = _hexed(self._call("contractOf", contract_no))
        return BilateralContract(**dict(zip(BilateralContract.model_fields, values, strict=True)))

    def contracts(self) -> list[BilateralContract]:
        return [self.contract_of(n) for n in range(1, self.contract_count() + 1)]

    def schedule(self, contract_no: int) -> list[ScheduledPeriod]:
        out: list[ScheduledPeriod] = []
        while True:
            page = self._call("schedule", contract_no, len(out), PAGE)
            out += [ScheduledPeriod(period_id=p, energy_wh=e, trade_id=t) for p, e, t in page]
            if len(page) < PAGE:
                return out

    def profile(self, contract_no: int, period_id: int) -> list[ScheduledBlock]:
        return [
            ScheduledBlock(**dict(zip(ScheduledBlock.model_fields, b, strict=True)))
            for b in self._call("profile", contract_no, period_id)
        ]

    def profile_terms(self, contract_no: int) -> ProfileTerms:
        values = self._call("profileTerms", contract_no)
        return ProfileTerms(**dict(zip(ProfileTerms.model_fields, values, strict=True)))

    def pending_change(self, contract_no: int) -> PendingChange:
        values = _hexed(self._call("pendingChange", contract_no))
        return PendingChange(**dict(zip(PendingChange.model_fields, values, strict=True)))

    def contracts_between(self, seller: str, buyer: str) -> list[int]:
        return [int(n) for n in self._call("contractsBetween", seller, buyer)]

    def active_contract_between(
        self, seller: str, buyer: str, kind: str, at: int
    ) -> BilateralContract | None:
        """The latest ``kind`` contract (template kind, e.g. ``retail-agency``) from
        ``seller`` to ``buyer`` in force at time ``at``: active, registered by then and not
        expired (e.g. the agency binding a consumer to a retailer, for retail billing)."""
        kinds = {t.id: t.kind for t in self.templates()}
        for no in reversed(self.contracts_between(seller, buyer)):
            c = self.contract_of(no)
            in_force = c.registered_at <= at and (c.expires_at == 0 or at < c.expires_at)
            if kinds.get(c.template_id) == kind and c.status == ContractStatus.ACTIVE and in_force:
                return c
        return None

    def history(self, contract_no: int) -> list[EventData]:
        """Every event of ``contract_no`` in chain order (the contract's history)."""
        logs: list[EventData] = []
        for name in CONTRACT_EVENTS:
            event = self._contract.events[name]()
            logs += event.get_logs(from_block=0, argument_filters={"contractNo": contract_no})
        return sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))

    def registered_contract_no(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "ContractRegistered")[0]["args"]["contractNo"])

    def formed_trade_id(self, receipt: TxReceipt) -> int:
        return self.formed_trade_ids(receipt)[0]

    def formed_trade_ids(self, receipt: TxReceipt) -> list[int]:
        """The trades a ``formPeriodTrade`` formed (one per non-zero block)."""
        return [int(e["args"]["tradeId"]) for e in self.events(receipt, "PeriodTradeFormed")]

    def published_template_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "TemplatePublished")[0]["args"]["templateId"])


def _sig(signature: str) -> bytes:
    return bytes.fromhex(signature.removeprefix("0x")) if signature else b""
