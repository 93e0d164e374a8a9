"""Re-derivation, anchoring leaves, rendering and what-if on a small month."""

from __future__ import annotations

import csv
import io
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from ledger.merkle import verify
from ledger.retail.bill import Bill, compute_bill
from ledger.retail.leaves import BillRef, bill_leaf, bill_proof, bills_tree
from ledger.retail.readings import Readings
from ledger.retail.render import to_csv, to_html, to_pdf
from ledger.retail.verify import Verdict, verify_bill
from ledger.retail.whatif import what_if
from tests.retail.billfixtures import (
    CONSUMER,
    FIXED,
    M1,
    MONTH,
    RATES,
    RETAILER,
    TOU,
    account,
    at,
    package,
    readings,
)

ROWS = readings(
    (M1, at(1, 7, 45), 1_000, 0, 300),
    (M1, at(1, 8, 0), 2_000, 0, 600),
    (M1, at(2, 20, 0), 4_000, 0, 1_000),
)


def bill() -> Bill:
    return compute_bill(account(pf_standard_milli=850), ROWS, package(TOU), RATES, MONTH)


def rederive(rows: Readings = ROWS, **expected: Any) -> Verdict:
    return verify_bill(account(pf_standard_milli=850), rows, package(TOU), RATES, MONTH, **expected)


def test_re_derivation_matches_the_anchored_hash_and_total() -> None:
    b = bill()
    verdict = rederive(expected_hash=b.hash, expected_total_fen=b.total_fen, given=b)
    assert verdict.ok
    assert verdict.recomputed == b


def test_a_one_fen_change_is_caught() -> None:
    b = bill()
    data = b.model_dump()
    data["lines"][0]["amount_fen"] += 1
    data["total_fen"] += 1
    forged = Bill.model_validate(data)
    assert forged.hash != b.hash
    verdict = rederive(expected_hash=forged.hash, expected_total_fen=forged.total_fen, given=forged)
    assert not verdict.ok
    assert verdict.mismatches[0].startswith("bill hash 0x")
    assert verdict.mismatches[1] == f"total {b.total_fen + 1} fen != recomputed {b.total_fen} fen"
    code = b.lines[0].code
    assert any(m.startswith(f"line {code}: given ") for m in verdict.mismatches)


def test_changed_readings_are_caught() -> None:
    b = bill()
    tampered = readings(
        (M1, at(1, 7, 45), 1_000, 0, 300),
        (M1, at(1, 8, 0), 2_001, 0, 600),
        (M1, at(2, 20, 0), 4_000, 0, 1_000),
    )
    verdict = rederive(tampered, expected_hash=b.hash)
    assert not verdict.ok


def test_bill_leaf_is_the_openzeppelin_double_hash_and_proofs_verify() -> None:
    b = bill()
    leaf = bill_leaf(CONSUMER, RETAILER, MONTH, b.hash, b.total_fen)
    encoded = encode(
        ["address", "address", "uint32", "bytes32", "uint256"],
        [CONSUMER, RETAILER, MONTH, b.hash, b.total_fen],
    )
    assert leaf == keccak(keccak(encoded))
    refs = [BillRef(CONSUMER, RETAILER, MONTH, b.hash, b.total_fen + n) for n in range(5)]
    tree = bills_tree(refs)
    for i, ref in enumerate(refs):
        proof = bill_proof(tree, i)
        assert verify(proof, tree.root, bill_leaf(**ref.__dict__))


def test_html_pdf_and_csv_are_reproducible_and_complete() -> None:
    b = bill()
    html = to_html(b)
    assert "功率因数调整电费" in html
    assert "0x" + b.hash.hex() in html
    assert to_html(bill()) == html
    pdf = to_pdf(b)
    assert pdf.startswith(b"%PDF")
    assert to_pdf(bill()) == pdf
    rows = list(csv.DictReader(io.StringIO(to_csv(b))))
    assert [r["code"] for r in rows[:-1]] == [line.code for line in b.lines]
    assert rows[-1]["amount_fen"] == str(b.total_fen)


def test_what_if_prices_every_offered_package() -> None:
    offered = [
        package(FIXED, name="Flat 0.40"),
        package(TOU, name="Time of use"),
        package(FIXED, name="Residential", consumer_class="residential"),
        package(FIXED, name="From August", valid_from="2026-08-01"),
    ]
    quotes = what_if(account(), [MONTH], lambda _m: ROWS, offered, RATES)
    names = [q.package_name for q in quotes]
    assert "Residential" not in names
    flat = next(q for q in quotes if q.package_name == "Flat 0.40")
    assert flat.totals_fen == {
        MONTH: compute_bill(account(), ROWS, offered[0], RATES, MONTH).total_fen
    }
    late = next(q for q in quotes if q.package_name == "From August")
    assert late.not_covered == [MONTH]
    assert names[-1] == "From August"
    assert quotes[0].total_fen <= quotes[1].total_fen
