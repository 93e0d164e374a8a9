"""The EIP-712 messages of bilateral contracts, as ``BilateralContracts`` hashes them.

Terms, amendments and terminations are co-signed by seller and buyer; negotiation steps
(proposal, counter, accept, reject) are signed by their sender alone. Digests are computed
offline (no chain needed), so a bundle or a stored message verifies with no network.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field

from ledger.errors import SignatureError

DOMAIN_NAME = "GridLedger BilateralContracts"
DOMAIN_VERSION = "1"

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

TERMS_FIELDS = [
    ("templateId", "uint32"),
    ("seller", "address"),
    ("buyer", "address"),
    ("documentHash", "bytes32"),
    ("firstPeriodId", "uint32"),
    ("firstInterval", "uint16"),
    ("lastInterval", "uint16"),
    ("priceFenPerMwh", "uint256"),
    ("scheduleWh", "uint256[]"),
    ("toleranceBps", "uint16"),
    ("expiresAt", "uint64"),
    ("blockIntervals", "uint16"),
    ("renewalNoticeDays", "uint16"),
    ("salt", "bytes32"),
]
AMENDMENT_FIELDS = [
    ("contractNo", "uint256"),
    ("sequence", "uint32"),
    ("documentHash", "bytes32"),
    ("priceFenPerMwh", "uint256"),
    ("scheduleWh", "uint256[]"),
]
TERMINATION_FIELDS = [("contractNo", "uint256"), ("sequence", "uint32"), ("reasonHash", "bytes32")]
#: A negotiation step: ``kind`` is proposal, counter, accept or reject; ``termsHash`` the
#: struct hash of the terms it proposes or answers, ``previous`` the digest it answers.
NEGOTIATION_FIELDS = [
    ("negotiationId", "bytes32"),
    ("step", "uint32"),
    ("kind", "string"),
    ("sender", "address"),
    ("termsHash", "bytes32"),
    ("previous", "bytes32"),
    ("note", "string"),
]


class Domain(BaseModel):
    """Where a message is valid: the chain and the ``BilateralContracts`` address."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    verifying_contract: str


class ContractTerms(BaseModel):
    """``IBilateralContracts.ContractTerms`` (hashes as 0x hex)."""

    model_config = ConfigDict(frozen=True)

    template_id: int
    seller: str
    buyer: str
    document_hash: str
    first_period_id: int
    first_interval: int
    last_interval: int
    price_fen_per_mwh: int
    schedule_wh: list[int]
    tolerance_bps: int
    expires_at: int
    block_intervals: int = 0
    renewal_notice_days: int = 0
    salt: str

    def as_message(self) -> dict[str, Any]:
        return {
            "templateId": self.template_id,
            "seller": self.seller,
            "buyer": self.buyer,
            "documentHash": _b32(self.document_hash),
            "firstPeriodId": self.first_period_id,
            "firstInterval": self.first_interval,
            "lastInterval": self.last_interval,
            "priceFenPerMwh": self.price_fen_per_mwh,
            "scheduleWh": list(self.schedule_wh),
            "toleranceBps": self.tolerance_bps,
            "expiresAt": self.expires_at,
            "blockIntervals": self.block_intervals,
            "renewalNoticeDays": self.renewal_notice_days,
            "salt": _b32(self.salt),
        }

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple ``register`` takes."""
        return tuple(self.as_message().values())


class Amendment(BaseModel):
    """``IBilateralContracts.Amendment``."""

    model_config = ConfigDict(frozen=True)

    contract_no: int
    sequence: int
    document_hash: str
    price_fen_per_mwh: int
    schedule_wh: list[int]

    def as_message(self) -> dict[str, Any]:
        return {
            "contractNo": self.contract_no,
            "sequence": self.sequence,
            "documentHash": _b32(self.document_hash),
            "priceFenPerMwh": self.price_fen_per_mwh,
            "scheduleWh": list(self.schedule_wh),
        }

    def as_tuple(self) -> tuple[Any, ...]:
        return tuple(self.as_message().values())


class Termination(BaseModel):
    """``IBilateralContracts.Termination``."""

    model_config = ConfigDict(frozen=True)

    contract_no: int
    sequence: int
    reason_hash: str

    def as_message(self) -> dict[str, Any]:
        return {
            "contractNo": self.contract_no,
            "sequence": self.sequence,
            "reasonHash": _b32(self.reason_hash),
        }

    def as_tuple(self) -> tuple[Any, ...]:
        return tuple(self.as_message().values())


class NegotiationStep(BaseModel):
    """One signed negotiation message."""

    model_config = ConfigDict(frozen=True)

    negotiation_id: str
    step: int
    kind: str = Field(pattern="^(proposal|counter|accept|reject)$")
    sender: str
    terms_hash: str
    previous: str
    note: str = ""

    def as_message(self) -> dict[str, Any]:
        return {
            "negotiationId": _b32(self.negotiation_id),
            "step": self.step,
            "kind": self.kind,
            "sender": self.sender,
            "termsHash": _b32(self.terms_hash),
            "previous": _b32(self.previous),
            "note": self.note,
        }


_TYPES = {
    "ContractTerms": TERMS_FIELDS,
    "Amendment": AMENDMENT_FIELDS,
    "Termination": TERMINATION_FIELDS,
    "NegotiationStep": NEGOTIATION_FIELDS,
}
_MODEL_TYPES: dict[type[BaseModel], str] = {
    ContractTerms: "ContractTerms",
    Amendment: "Amendment",
    Termination: "Termination",
    NegotiationStep: "NegotiationStep",
}
Message = ContractTerms | Amendment | Termination | NegotiationStep


def _b32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise SignatureError(f"not a 32-byte hash: {value!r}")
    return raw


def hex32(raw: bytes) -> str:
    """A 32-byte value as 0x hex."""
    return "0x" + raw.hex()


def typed_data(domain: Domain, message: Message) -> dict[str, Any]:
    """The full EIP-712 typed data of ``message`` (what wallets sign)."""
    primary = _MODEL_TYPES[type(message)]
    return {
        "types": {
            "EIP712Domain": _DOMAIN_FIELDS,
            primary: [{"name": n, "type": t} for n, t in _TYPES[primary]],
        },
        "primaryType": primary,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": message.as_message(),
    }


def digest(domain: Domain, message: Message) -> str:
    """The EIP-712 digest (0x hex) the contract recomputes."""
    signable = encode_typed_data(full_message=typed_data(domain, message))
    return hex32(keccak(b"\x19" + signable.version + signable.header + signable.body))


def struct_hash(domain: Domain, message: Message) -> str:
    """The EIP-712 struct hash of ``message`` (domain-independent)."""
    signable = encode_typed_data(full_message=typed_data(domain, message))
    return hex32(bytes(signable.body))


def sign(account: LocalAccount, domain: Domain, message: Message) -> str:
    """``account``'s signature (0x hex, 65 bytes) of ``message``."""
    signed = account.sign_typed_data(full_message=typed_data(domain, message))
    return "0x" + bytes(signed.signature).hex()


def recover(domain: Domain, message: Message, signature: str) -> str:
    """The address that signed ``message`` (raises SignatureError on a malformed one)."""
    signable = encode_typed_data(full_message=typed_data(domain, message))
    try:
        return str(Account.recover_message(signable, signature=bytes.fromhex(signature[2:])))
    except (ValueError, TypeError, BadSignature) as exc:
        raise SignatureError(f"malformed signature: {exc}") from exc


def check_signed_by(domain: Domain, message: Message, signature: str, party: str) -> None:
    """Raise SignatureError unless ``party`` signed ``message``."""
    if not signature:
        raise SignatureError(f"signature of {party} is missing")
    signer = recover(domain, message, signature)
    if signer.lower() != party.lower():
        raise SignatureError(f"signature of {party} was made by {signer}")
