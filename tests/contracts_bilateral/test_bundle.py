"""The offline verification bundle: built from the chain, verified with no network, and
any changed byte detected."""

from __future__ import annotations

import json

import pytest

from ledger.bilateral.archive import build_bundle
from ledger.bilateral.bundle import Bundle, verify_bundle
from ledger.errors import BundleError
from tests.contracts_bilateral.conftest import Parties


def _bundle(parties: Parties) -> Bundle:
    nid = parties.negotiate()
    no = parties.seller.register(nid, *parties.cosign(nid))
    a = parties.seller.agreement(nid)
    return build_bundle(parties.seller.client, no, a.template.key, a.fields.model_dump(mode="json"))


def test_bundle_verifies_offline(parties: Parties) -> None:
    bundle = _bundle(parties)
    text = bundle.model_dump_json()
    report = verify_bundle(Bundle.model_validate_json(text))
    assert report.contract_no == 1
    assert len(report.checks) == 4
    assert report.document_hash == bundle.terms.document_hash


@pytest.mark.parametrize("where", ["html", "pdf_hex", "header", "signature", "data"])
def test_bundle_detects_a_changed_byte(parties: Parties, where: str) -> None:
    doc = json.loads(_bundle(parties).model_dump_json())
    if where == "html":
        i = doc["html"].index("Steel")
        doc["html"] = doc["html"][:i] + "Steal" + doc["html"][i + 5 :]
    elif where == "pdf_hex":
        pdf = bytearray(bytes.fromhex(doc["pdf_hex"]))
        pdf[len(pdf) // 2] ^= 0x01
        doc["pdf_hex"] = pdf.hex()
    elif where == "header":
        doc["record"]["header"]["timestamp"] = hex(
            int(doc["record"]["header"]["timestamp"], 16) + 1
        )
    elif where == "signature":
        sig = doc["buyer_signature"]
        doc["buyer_signature"] = sig[:10] + ("0" if sig[10] != "0" else "1") + sig[11:]
    else:
        data = doc["record"]["data"]
        doc["record"]["data"] = data[:-1] + ("0" if data[-1] != "0" else "1")
    with pytest.raises(BundleError):
        verify_bundle(Bundle.model_validate(doc))


def test_a_profiled_contract_bundle_verifies(parties: Parties) -> None:
    profile = {
        "block_intervals": 48,
        "profile_wh": [[1_500_000, 500_000], [1_000_000, 2_000_000]],
        "renewal_notice_days": 7,
    }
    nid = parties.negotiate(**profile)
    no = parties.seller.register(nid, *parties.cosign(nid))
    a = parties.seller.agreement(nid)
    assert (a.terms.block_intervals, a.terms.renewal_notice_days) == (48, 7)
    assert a.terms.schedule_wh == [1_500_000, 500_000, 1_000_000, 2_000_000]
    assert "3a. Profile" in a.document.html
    fields = a.fields.model_dump(mode="json")
    bundle = build_bundle(parties.seller.client, no, a.template.key, fields)
    assert verify_bundle(Bundle.model_validate_json(bundle.model_dump_json())).contract_no == no
