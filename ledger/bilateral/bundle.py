"""The offline verification bundle of a registered contract, and its verifier.

A bundle (one JSON file) holds the document (HTML, PDF as hex, its template and fields),
the co-signed terms with both signatures, the amendments with theirs, the on-chain record
(the ``ContractRegistered`` log: address, topics, data, transaction) and the header of its
block. ``verify_bundle`` needs no network: it re-renders the document from the template
and fields and compares bytes (HTML and PDF), recomputes the EIP-712 digests and recovers
both parties, decodes the log and compares it with the terms, hashes the block header
(RLP, keccak) against the recorded block hash and recomputes the block's receipts root
from its receipts, the log found in its transaction's receipt.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict

from ledger.bilateral.receipts import receipts_root
from ledger.bilateral.render import render
from ledger.bilateral.templates import template_by_key
from ledger.bilateral.typed import (
    Amendment,
    ContractTerms,
    Domain,
    check_signed_by,
    digest,
    hex32,
)
from ledger.errors import BundleError, SignatureError

REGISTERED_SIGNATURE = (
    "ContractRegistered(uint256,uint32,address,address,bytes32,bytes32,uint32,uint16,"
    "uint256,uint256,address)"
)
#: Header fields in RLP order; the optional tail is present from the fork that added it.
HEADER_FIELDS = (
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
)
OPTIONAL_HEADER_FIELDS = (
    "baseFeePerGas",
    "withdrawalsRoot",
    "blobGasUsed",
    "excessBlobGas",
    "parentBeaconBlockRoot",
    "requestsHash",
)
_INT_FIELDS = {
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "baseFeePerGas",
    "blobGasUsed",
    "excessBlobGas",
}


class SignedAmendment(BaseModel):
    model_config = ConfigDict(frozen=True)

    amendment: Amendment
    seller_signature: str
    buyer_signature: str


class ChainRecord(BaseModel):
    """The registration log and its block header (hex strings / ints as JSON-RPC gives)."""

    model_config = ConfigDict(frozen=True)

    address: str
    topics: list[str]
    data: str
    transaction_hash: str
    block_number: int
    block_hash: str
    header: dict[str, Any]
    receipts: list[dict[str, Any]]
    """Every receipt of the block (JSON-RPC form), in transaction order."""
    transaction_index: int


class Bundle(BaseModel):
    """Everything needed to verify a contract offline."""

    model_config = ConfigDict(frozen=True)

    contract_no: int
    domain: Domain
    template_key: str
    fields: dict[str, Any]
    html: str
    pdf_hex: str
    terms: ContractTerms
    seller_signature: str
    buyer_signature: str
    amendments: list[SignedAmendment] = []
    record: ChainRecord


class BundleReport(BaseModel):
    """What verified (``checks``, in order)."""

    contract_no: int
    document_hash: str
    block_number: int
    checks: list[str]


def header_hash(header: dict[str, Any]) -> str:
    """keccak of the RLP header built from JSON-RPC block fields."""
    items: list[Any] = [_header_item(k, header[k]) for k in HEADER_FIELDS]
    items += [_header_item(k, header[k]) for k in OPTIONAL_HEADER_FIELDS if k in header]
    return hex32(keccak(rlp.encode(items)))


def _header_item(key: str, value: Any) -> Any:
    if key in _INT_FIELDS:
        return int(value, 16) if isinstance(value, str) else int(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def verify_bundle(bundle: Bundle) -> BundleReport:
    """Verify ``bundle`` with no network; BundleError names the first failing check."""
    checks: list[str] = []
    template = template_by_key(bundle.template_key)
    document = render(template, template.parse(bundle.fields))
    if document.html != bundle.html:
        raise BundleError("the HTML document differs from the one rendered from its terms")
    if document.pdf.hex() != bundle.pdf_hex:
        raise BundleError("the PDF document differs from the one rendered from its terms")
    checks.append(f"document re-rendered byte for byte ({document.document_hash})")
    terms_digest = _check_terms(bundle, checks)
    current_hash = bundle.terms.document_hash
    for signed in bundle.amendments:
        _check_cosigned(bundle, signed.amendment, signed.seller_signature, signed.buyer_signature)
        current_hash = signed.amendment.document_hash
        checks.append(f"amendment {signed.amendment.sequence} signed by both parties")
    if current_hash != document.document_hash:
        raise BundleError(
            f"the document hash {document.document_hash} is not the signed {current_hash}"
        )
    _check_record(bundle, terms_digest, checks)
    return BundleReport(
        contract_no=bundle.contract_no,
        document_hash=document.document_hash,
        block_number=bundle.record.block_number,
        checks=checks,
    )


def _check_terms(bundle: Bundle, checks: list[str]) -> str:
    _check_cosigned(bundle, bundle.terms, bundle.seller_signature, bundle.buyer_signature)
    checks.append("terms signed by seller and buyer (EIP-712)")
    return digest(bundle.domain, bundle.terms)


def _check_cosigned(
    bundle: Bundle, message: ContractTerms | Amendment, seller_sig: str, buyer_sig: str
) -> None:
    try:
        check_signed_by(bundle.domain, message, seller_sig, bundle.terms.seller)
        check_signed_by(bundle.domain, message, buyer_sig, bundle.terms.buyer)
    except SignatureError as exc:
        raise BundleError(str(exc)) from exc


def _check_record(bundle: Bundle, terms_digest: str, checks: list[str]) -> None:
    r = bundle.record
    if r.address.lower() != bundle.domain.verifying_contract.lower():
        raise BundleError("the record is not from the contract the terms were signed for")
    if r.topics[0] != hex32(keccak(text=REGISTERED_SIGNATURE)):
        raise BundleError("the record is not a ContractRegistered log")
    if int(r.topics[1], 16) != bundle.contract_no:
        raise BundleError(f"the record registers contract {int(r.topics[1], 16)}")
    words = abi_decode(
        ["address", "bytes32", "bytes32", "uint32", "uint16", "uint256", "uint256", "address"],
        bytes.fromhex(r.data.removeprefix("0x")),
    )
    if hex32(words[1]) != bundle.terms.document_hash or hex32(words[2]) != terms_digest:
        raise BundleError("the on-chain record holds another document or terms digest")
    checks.append(f"on-chain record registers these terms as contract {bundle.contract_no}")
    if (
        header_hash(r.header) != r.block_hash.lower()
        or int(r.header["number"], 16) != r.block_number
    ):
        raise BundleError("the block header does not hash to the recorded block")
    if receipts_root(r.receipts) != str(r.header["receiptsRoot"]).lower():
        raise BundleError("the block's receipts do not hash to its receipts root")
    logs = r.receipts[r.transaction_index]["logs"]
    wanted = (r.address.lower(), [t.lower() for t in r.topics], r.data.lower())
    if not any(
        (x["address"].lower(), [t.lower() for t in x["topics"]], x["data"].lower()) == wanted
        for x in logs
    ):
        raise BundleError("the record's log is not in its transaction's receipt")
    checks.append(
        f"block {r.block_number} header hashes to {r.block_hash}; its receipts root proves the log"
    )
