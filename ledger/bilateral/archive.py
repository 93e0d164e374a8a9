"""Building a contract's verification bundle from the chain and its document's fields.

Everything but the document's fields comes from the chain: the terms and both signatures
are decoded from the ``register`` transaction's input, the amendments from the ``amend``
transactions, the record is the ``ContractRegistered`` log and its block header. The
fields (party names, clauses) are what a party archived; the document rendered from them
must hash to the contract's current document hash.
"""

from __future__ import annotations

from typing import Any

from web3.types import EventData

from ledger.bilateral.bundle import Bundle, ChainRecord, SignedAmendment
from ledger.bilateral.render import Document, render
from ledger.bilateral.templates import template_by_key
from ledger.bilateral.typed import Amendment, ContractTerms, digest, hex32
from ledger.clients.bilateral import BilateralContractsClient
from ledger.errors import NotFoundError, ValidationError


def _hex(value: Any) -> Any:
    return hex32(bytes(value)) if isinstance(value, bytes | bytearray) else value


def _struct(value: Any, names: list[str]) -> dict[str, Any]:
    if isinstance(value, dict):
        return {n: _hex(value[n]) for n in names}
    return {n: _hex(v) for n, v in zip(names, value, strict=True)}


def _sig(value: Any) -> str:
    return "0x" + bytes(value).hex()


def registration(client: BilateralContractsClient, contract_no: int) -> EventData:
    logs = client.contract.events["ContractRegistered"]().get_logs(
        from_block=0, argument_filters={"contractNo": contract_no}
    )
    if not logs:
        raise NotFoundError(f"no contract {contract_no}")
    first: EventData = logs[0]
    return first


def signed_terms(
    client: BilateralContractsClient, log: EventData
) -> tuple[ContractTerms, str, str]:
    """The terms and both signatures, from the register transaction's input."""
    tx = client.sender.w3.eth.get_transaction(log["transactionHash"])
    _fn, params = client.contract.decode_function_input(tx["input"])
    raw = _struct(params["terms"], list(_TERMS_ABI))
    terms = ContractTerms(**{_TERMS_ABI[k]: v for k, v in raw.items()})
    return terms, _sig(params["sellerSignature"]), _sig(params["buyerSignature"])


def amendments(client: BilateralContractsClient, contract_no: int) -> list[SignedAmendment]:
    """The applied amendments with both signatures: from the ``amend`` transaction, or for
    one held for review and approved, from the ``amend`` that held it."""
    held: dict[str, tuple[str, str]] = {
        digest(client.domain(), a): sigs
        for a, sigs in _amend_inputs(client, contract_no, "ChangeHeld")
        if sigs is not None
    }
    out: list[SignedAmendment] = []
    for amendment, sigs in _amend_inputs(client, contract_no, "ContractAmended"):
        seller_sig, buyer_sig = held[digest(client.domain(), amendment)] if sigs is None else sigs
        out.append(
            SignedAmendment(
                amendment=amendment, seller_signature=seller_sig, buyer_signature=buyer_sig
            )
        )
    return out


def _amend_inputs(
    client: BilateralContractsClient, contract_no: int, event: str
) -> list[tuple[Amendment, tuple[str, str] | None]]:
    """Per ``event`` log, the amendment its transaction carried and its signatures (None
    for an OPERATOR approval, which carries none); a held termination is skipped."""
    logs = client.contract.events[event]().get_logs(
        from_block=0, argument_filters={"contractNo": contract_no}
    )
    out: list[tuple[Amendment, tuple[str, str] | None]] = []
    for log in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
        tx = client.sender.w3.eth.get_transaction(log["transactionHash"])
        _fn, params = client.contract.decode_function_input(tx["input"])
        if "amendment" not in params:
            continue
        raw = _struct(params["amendment"], list(_AMENDMENT_ABI))
        amendment = Amendment(**{_AMENDMENT_ABI[k]: v for k, v in raw.items()})
        sigs = None
        if "sellerSignature" in params:
            sigs = (_sig(params["sellerSignature"]), _sig(params["buyerSignature"]))
        out.append((amendment, sigs))
    return out


def document_of(
    client: BilateralContractsClient, contract_no: int, template_key: str, fields: dict[str, Any]
) -> Document:
    """The document rendered from ``fields``; ValidationError unless it is the contract's."""
    template = template_by_key(template_key)
    document = render(template, template.parse(fields))
    current = client.contract_of(contract_no).document_hash
    if document.document_hash != current:
        raise ValidationError(
            f"the document of these fields hashes to {document.document_hash}, "
            f"contract {contract_no} holds {current}"
        )
    return document


def build_bundle(
    client: BilateralContractsClient, contract_no: int, template_key: str, fields: dict[str, Any]
) -> Bundle:
    """The verification bundle of ``contract_no`` with its archived document fields."""
    document = document_of(client, contract_no, template_key, fields)
    log = registration(client, contract_no)
    terms, seller_sig, buyer_sig = signed_terms(client, log)
    w3 = client.sender.w3
    receipt = w3.eth.get_transaction_receipt(log["transactionHash"])
    raw_log = next(x for x in receipt["logs"] if x["logIndex"] == log["logIndex"])
    block = w3.provider.make_request("eth_getBlockByHash", [hex32(bytes(log["blockHash"])), False])  # type: ignore[arg-type]
    header = dict(block["result"])
    header.pop("transactions", None)
    record = ChainRecord(
        address=str(raw_log["address"]),
        topics=[hex32(bytes(t)) for t in raw_log["topics"]],
        data="0x" + bytes(raw_log["data"]).hex(),
        transaction_hash=hex32(bytes(log["transactionHash"])),
        block_number=int(log["blockNumber"]),
        block_hash=hex32(bytes(log["blockHash"])),
        header=header,
        receipts=_block_receipts(client, header),
        transaction_index=int(log["transactionIndex"]),
    )
    return Bundle(
        contract_no=contract_no,
        domain=client.domain(),
        template_key=template_key,
        fields=fields,
        html=document.html,
        pdf_hex=document.pdf.hex(),
        terms=terms,
        seller_signature=seller_sig,
        buyer_signature=buyer_sig,
        amendments=amendments(client, contract_no),
        record=record,
    )


def _block_receipts(
    client: BilateralContractsClient, header: dict[str, Any]
) -> list[dict[str, Any]]:
    """The block's receipts in JSON-RPC form (the fields the receipts trie encodes)."""
    reply = client.sender.w3.provider.make_request("eth_getBlockReceipts", [header["number"]])  # type: ignore[arg-type]
    keep = ("type", "status", "cumulativeGasUsed", "logsBloom")
    return [
        {k: r.get(k, "0x0") for k in keep}
        | {"logs": [{k: x[k] for k in ("address", "topics", "data")} for x in r["logs"]]}
        for r in sorted(reply["result"], key=lambda r: int(r["transactionIndex"], 16))
    ]


_TERMS_ABI = {
    "templateId": "template_id",
    "seller": "seller",
    "buyer": "buyer",
    "documentHash": "document_hash",
    "firstPeriodId": "first_period_id",
    "firstInterval": "first_interval",
    "lastInterval": "last_interval",
    "priceFenPerMwh": "price_fen_per_mwh",
    "scheduleWh": "schedule_wh",
    "toleranceBps": "tolerance_bps",
    "expiresAt": "expires_at",
    "blockIntervals": "block_intervals",
    "renewalNoticeDays": "renewal_notice_days",
    "salt": "salt",
}
_AMENDMENT_ABI = {
    "contractNo": "contract_no",
    "sequence": "sequence",
    "documentHash": "document_hash",
    "priceFenPerMwh": "price_fen_per_mwh",
    "scheduleWh": "schedule_wh",
}
