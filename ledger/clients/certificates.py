"""Clients of the green-certificate contracts (mechanism 7): ``GreenCertificate``
(ERC-1155), ``QuotaLedger``, ``CertificateMarket``, ``RelayedGeneration``.

Token id = ``(type_id << 248) | (int(generator, 16) << 64) | vintage_period``; 1 certificate
= 1 MWh; coverage of a certificate = ``1e6 * type_weight_bps // 10000`` Wh; obligation =
``import_wh * weight_bps // 10000``; fine = ``shortfall_wh * fine_rate_fen_per_mwh // 1e6``
(see ``contracts/interfaces/IGreenCertificate.sol`` and ``IQuotaLedger.sol``).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

from eth_abi.abi import encode as abi_encode
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient
from ledger.clients.registry import NodeKind
from ledger.errors import ContractRevertError
from ledger.units import BPS, value_fen

#: Wh per certificate (1 MWh).
WH_PER_CERTIFICATE = 1_000_000
#: Renewable type ids are the registry's node kinds.
RENEWABLE_TYPES = {
    NodeKind.WIND: "wind",
    NodeKind.SOLAR: "solar",
    NodeKind.HYDRO: "hydro",
    NodeKind.BIOMASS: "biomass",
}
OBLIGATED_KINDS = (NodeKind.RETAILER, NodeKind.CONSUMER, NodeKind.GRID_COMPANY)

NodeTotalTuple = tuple[str, int, int, int, int, bytes]


def token_id(type_id: int, generator: str, vintage: int) -> int:
    """The ERC-1155 id of (renewable type, generator, vintage period)."""
    if not 0 < type_id < 256 or not 0 <= vintage < 2**64:
        raise ValueError(f"bad type {type_id} or vintage {vintage}")
    return (type_id << 248) | (int(Web3.to_checksum_address(generator), 16) << 64) | vintage


def decode_token_id(tid: int) -> tuple[int, str, int]:
    """(type id, generator, vintage) of a token id."""
    generator = Web3.to_checksum_address(f"0x{(tid >> 64) & (2**160 - 1):040x}")
    return tid >> 248, generator, tid & (2**64 - 1)


def obligation_wh(import_wh: int, weight_bps: int) -> int:
    return import_wh * weight_bps // BPS


def coverage_wh(certificates: int, type_weight_bps: int) -> int:
    return certificates * WH_PER_CERTIFICATE * type_weight_bps // BPS


def fine_fen(shortfall_wh: int, fine_rate_fen_per_mwh: int) -> int:
    """A quota fine, rounded down (:func:`ledger.units.value_fen`)."""
    return value_fen(shortfall_wh, fine_rate_fen_per_mwh)


class Issuance(NamedTuple):
    issued: bool
    token_id: int
    amount: int
    generation_wh: int
    carried_in_wh: int
    carried_out_wh: int
    issued_at: int


class Retirement(NamedTuple):
    id: int
    token_id: int
    holder: str
    beneficiary: str
    amount: int
    period: int
    trade_id: int
    retired_at: int


class Totals(NamedTuple):
    issued: int
    held: int
    retired: int
    revoked: int


class Quota(NamedTuple):
    set: bool
    weight_bps: int
    deadline: int
    fine_rate_fen_per_mwh: int


class Statement(NamedTuple):
    assessed: bool
    import_wh: int
    obligation_wh: int
    covered_wh: int
    shortfall_wh: int
    fine_fen: int
    paid_fen: int
    slashed_fen: int
    unpaid_fen: int
    assessed_at: int


class Compliance(NamedTuple):
    quota_set: bool
    consumption_recorded: bool
    import_wh: int
    weight_bps: int
    obligation_wh: int
    covered_wh: int
    shortfall_wh: int
    fine_fen: int
    deadline: int
    assessed: bool


class CertListingStatus(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4


class CertListing(NamedTuple):
    id: int
    seller: str
    token_id: int
    status: int
    posted_at: int
    expires_at: int
    amount: int
    remaining: int
    price_fen_per_certificate: int


def _addr(a: str) -> str:
    return Web3.to_checksum_address(a)


class GreenCertificateClient(ContractClient):
    """Issue, revoke, balances, lineage views of ``GreenCertificate``."""

    ARTIFACT = "GreenCertificate"

    def issue(self, generator: str, period: int) -> TxReceipt:
        return self._transact("issue", _addr(generator), period)

    def revoke(self, holder: str, tid: int, amount: int, reason: bytes) -> TxReceipt:
        return self._transact("revoke", _addr(holder), tid, amount, reason)

    def set_approval_for_all(self, operator: str, approved: bool) -> TxReceipt:
        return self._transact("setApprovalForAll", _addr(operator), approved)

    def safe_transfer_from(
        self, sender: str, to: str, tid: int, amount: int, data: bytes = b""
    ) -> TxReceipt:
        return self._transact("safeTransferFrom", _addr(sender), _addr(to), tid, amount, data)

    def safe_batch_transfer_from(
        self, sender: str, to: str, tids: list[int], amounts: list[int], data: bytes = b""
    ) -> TxReceipt:
        return self._transact(
            "safeBatchTransferFrom", _addr(sender), _addr(to), tids, amounts, data
        )

    def is_approved_for_all(self, account: str, operator: str) -> bool:
        return bool(self._call("isApprovedForAll", _addr(account), _addr(operator)))

    def balance_of(self, account: str, tid: int) -> int:
        return int(self._call("balanceOf", _addr(account), tid))

    def token_id_of(self, type_id: int, generator: str, vintage: int) -> int:
        return int(self._call("tokenIdOf", type_id, _addr(generator), vintage))

    def issuance_of(self, generator: str, period: int) -> Issuance:
        return Issuance(*self._call("issuanceOf", _addr(generator), period))

    def carry_wh_of(self, generator: str) -> int:
        return int(self._call("carryWhOf", _addr(generator)))

    def processed_wh_of(self, generator: str) -> int:
        return int(self._call("processedWhOf", _addr(generator)))

    def total_supply(self, tid: int) -> int:
        return int(self._call("totalSupply", tid))

    def issued_of(self, tid: int) -> int:
        return int(self._call("issuedOf", tid))

    def retired_of(self, tid: int) -> int:
        return int(self._call("retiredOf", tid))

    def revoked_of(self, tid: int) -> int:
        return int(self._call("revokedOf", tid))

    def totals(self) -> Totals:
        return Totals(*self._call("totals"))

    def token_ids_all(self) -> list[int]:
        """Token ids with at least one certificate issued, in first-issuance order, from the
        ``CertificatesIssued`` events (the contract keeps no list of token ids)."""
        logs = self._contract.events["CertificatesIssued"]().get_logs(from_block=0)
        ordered = sorted(logs, key=lambda log: (log["blockNumber"], log["logIndex"]))
        out: dict[int, None] = {}
        for log in ordered:
            if int(log["args"]["amount"]) != 0:
                out.setdefault(int(log["args"]["tokenId"]), None)
        return list(out)

    def token_count(self) -> int:
        return len(self.token_ids_all())

    def token_ids(self, offset: int = 0, limit: int = 200) -> list[int]:
        return self.token_ids_all()[offset : offset + limit]

    def retirement_count(self) -> int:
        return int(self._call("retirementCount"))

    def retirement(self, retirement_id: int) -> Retirement:
        """Retirement ``retirement_id`` from its ``CertificatesRetired`` event (the contract
        stores no record; ``retired_at`` is the block's timestamp). An unknown id raises
        the ``UnknownRetirement(retirementId)`` revert the contract's view used to raise."""
        logs = self._contract.events["CertificatesRetired"]().get_logs(
            from_block=0, argument_filters={"retirementId": retirement_id}
        )
        if not logs:
            data = Web3.keccak(text="UnknownRetirement(uint256)")[:4] + abi_encode(
                ["uint256"], [retirement_id]
            )
            raise ContractRevertError(
                "UnknownRetirement", {"retirementId": retirement_id}, "0x" + data.hex()
            )
        return self._retirement(logs[0])

    def _retirement(self, log: Any) -> Retirement:
        a = log["args"]
        block = self._sender.w3.eth.get_block(log["blockNumber"])
        return Retirement(
            id=int(a["retirementId"]),
            token_id=int(a["tokenId"]),
            holder=str(a["holder"]),
            beneficiary=str(a["beneficiary"]),
            amount=int(a["amount"]),
            period=int(a["period"]),
            trade_id=int(a["tradeId"]),
            retired_at=int(block["timestamp"]),
        )

    def _retired_logs(self, beneficiary: str) -> list[Any]:
        logs = self._contract.events["CertificatesRetired"]().get_logs(
            from_block=0, argument_filters={"beneficiary": _addr(beneficiary)}
        )
        return sorted(logs, key=lambda log: int(log["args"]["retirementId"]))

    def retirement_count_of(self, beneficiary: str) -> int:
        """``beneficiary``'s retirements, from the ``CertificatesRetired`` events
        (``beneficiary`` is an indexed topic; the contract keeps no list)."""
        return len(self._retired_logs(beneficiary))

    def retirements_of(
        self, beneficiary: str, offset: int = 0, limit: int = 200
    ) -> list[Retirement]:
        """A page of ``beneficiary``'s retirements in order."""
        logs = self._retired_logs(beneficiary)[offset : offset + limit]
        return [self._retirement(log) for log in logs]

    def issued_event(self, receipt: TxReceipt) -> dict[str, Any]:
        return dict(self.events(receipt, "CertificatesIssued")[0]["args"])


class QuotaLedgerClient(ContractClient):
    """Quotas, coverage (retire, clean trades), compliance and fines."""

    ARTIFACT = "QuotaLedger"

    def set_quota(
        self, period: int, weight_bps: int, deadline: int, fine_rate_fen_per_mwh: int
    ) -> TxReceipt:
        return self._transact("setQuota", period, weight_bps, deadline, fine_rate_fen_per_mwh)

    def set_type_weight(self, type_id: int, weight_bps: int) -> TxReceipt:
        return self._transact("setTypeWeight", type_id, weight_bps)

    def set_fund_account(self, account: str) -> TxReceipt:
        return self._transact("setFundAccount", _addr(account))

    def retire(self, tid: int, amount: int, beneficiary: str, period: int) -> TxReceipt:
        return self._transact("retire", tid, amount, _addr(beneficiary), period)

    def cover_trade(self, trade_id: int) -> TxReceipt:
        return self._transact("coverTrade", trade_id)

    def assess(self, party: str, period: int) -> TxReceipt:
        return self._transact("assess", _addr(party), period)

    def pay_fine(self, party: str, amount_fen: int) -> TxReceipt:
        """Pay up to ``amount_fen`` of ``party``'s unpaid fines from the sender's allowance."""
        return self._transact("payFine", _addr(party), amount_fen)

    def unpaid_fine_of(self, party: str) -> tuple[int, bool]:
        """(unpaid fen, registry obligation held) of ``party``."""
        unpaid_fen, held = self._call("unpaidFineOf", _addr(party))
        return int(unpaid_fen), bool(held)

    def quota_of(self, period: int) -> Quota:
        return Quota(*self._call("quotaOf", period))

    def type_weight_bps(self, type_id: int) -> int:
        return int(self._call("typeWeightBps", type_id))

    def fund_account(self) -> str:
        return str(self._call("fundAccount"))

    def covered_wh_of(self, party: str, period: int) -> int:
        return int(self._call("coveredWhOf", _addr(party), period))

    def trade_covered(self, trade_id: int) -> bool:
        return bool(self._call("tradeCovered", trade_id))

    def compliance_of(self, party: str, period: int) -> Compliance:
        return Compliance(*self._call("complianceOf", _addr(party), period))

    def statement_of(self, party: str, period: int) -> Statement:
        return Statement(*self._call("statementOf", _addr(party), period))

    def assessed_count(self, period: int) -> int:
        return int(self._call("assessedCount", period))

    def assessed_parties(self, period: int, offset: int = 0, limit: int = 200) -> list[str]:
        return [str(a) for a in self._call("assessedParties", period, offset, limit)]


class CertificateMarketClient(ContractClient):
    """One-way certificate listing: generators post, obligated parties take."""

    ARTIFACT = "CertificateMarket"

    def post(
        self, tid: int, amount: int, price_fen_per_certificate: int, expires_at: int = 0
    ) -> TxReceipt:
        return self._transact("post", tid, amount, price_fen_per_certificate, expires_at)

    def take(
        self, listing_id: int, amount: int, max_price_fen_per_certificate: int = 0
    ) -> TxReceipt:
        return self._transact("take", listing_id, amount, max_price_fen_per_certificate)

    def cancel(self, listing_id: int) -> TxReceipt:
        return self._transact("cancel", listing_id)

    def expire(self, listing_id: int) -> TxReceipt:
        return self._transact("expire", listing_id)

    def listing_count(self) -> int:
        return int(self._call("listingCount"))

    def listing(self, listing_id: int) -> CertListing:
        return CertListing(*self._call("listing", listing_id))

    def open_listing_count(self) -> int:
        return int(self._call("openListingCount"))

    def open_listings(self, offset: int = 0, limit: int = 200) -> list[CertListing]:
        return [CertListing(*row) for row in self._call("openListings", offset, limit)]

    def posted_listing_id(self, receipt: TxReceipt) -> int:
        return int(self.events(receipt, "CertificateListingPosted")[0]["args"]["listingId"])


class RelayedGenerationClient(ContractClient):
    """The auxiliary chain's generation source (relayed roots, proven totals, kinds, trades)."""

    ARTIFACT = "RelayedGeneration"

    def relay_period_root(self, period: int, totals_root: bytes) -> TxReceipt:
        return self._transact("relayPeriodRoot", period, totals_root)

    def submit_node_total(self, total: NodeTotalTuple, proof: list[bytes]) -> TxReceipt:
        return self._transact("submitNodeTotal", total, proof)

    def relay_node_kind(self, node: str, kind: int) -> TxReceipt:
        return self._transact("relayNodeKind", _addr(node), kind)

    def relay_trade(
        self, trade_id: int, seller: str, buyer: str, period: int, executed_wh: int
    ) -> TxReceipt:
        return self._transact(
            "relayTrade", trade_id, _addr(seller), _addr(buyer), period, executed_wh
        )

    def period_root_of(self, period: int) -> bytes:
        return bytes(self._call("periodRootOf", period))

    def verified_generation_wh(self, node: str, period: int) -> tuple[bool, int]:
        recorded, wh = self._call("verifiedGenerationWh", _addr(node), period)
        return bool(recorded), int(wh)
