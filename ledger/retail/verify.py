"""Re-derive a bill offline and compare it with what was anchored or handed over.

Anyone holding the readings, the package and the published rates recomputes the bill with
:func:`ledger.retail.bill.compute_bill` and compares its hash and total with the anchored
``billHash`` / ``totalFen`` (or with a bill document): a change of one fen anywhere changes
the canonical JSON, so the hash, and is caught; the differing lines are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.retail.accounts import ConsumerAccount
from ledger.retail.bill import Bill, compute_bill
from ledger.retail.packages import RetailPackage
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import Readings


@dataclass(frozen=True)
class Verdict:
    """The outcome of a re-derivation: ``ok`` when everything given matches."""

    recomputed: Bill
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def verify_bill(
    account: ConsumerAccount,
    readings: Readings,
    package: RetailPackage,
    rates: PublishedRates,
    month: int,
    *,
    expected_hash: bytes | None = None,
    expected_total_fen: int | None = None,
    given: Bill | None = None,
) -> Verdict:
    """Recompute the bill and compare it with the anchored hash/total and/or a given bill."""
    bill = compute_bill(account, readings, package, rates, month)
    out: list[str] = []
    if expected_hash is not None and expected_hash != bill.hash:
        out.append(f"bill hash 0x{expected_hash.hex()} != recomputed 0x{bill.hash.hex()}")
    if expected_total_fen is not None and expected_total_fen != bill.total_fen:
        out.append(f"total {expected_total_fen} fen != recomputed {bill.total_fen} fen")
    if given is not None:
        out += compare_bills(given, bill)
    return Verdict(bill, out)


def compare_bills(given: Bill, recomputed: Bill) -> list[str]:
    """What differs between a given bill and the recomputed one (empty: identical)."""
    if given == recomputed:
        return []
    out: list[str] = []
    theirs, ours = given.model_dump(), recomputed.model_dump()
    for key in ours:
        if key != "lines" and theirs.get(key) != ours[key]:
            out.append(f"{key}: given {theirs.get(key)!r}, recomputed {ours[key]!r}")
    given_lines = {line.code: line for line in given.lines}
    for line in recomputed.lines:
        other = given_lines.pop(line.code, None)
        if other is None:
            out.append(f"line {line.code}: missing from the given bill")
        elif other != line:
            out.append(
                f"line {line.code}: given {other.amount_fen} fen ({other.quantity} "
                f"{other.quantity_unit} at {other.rate} {other.rate_unit}), recomputed "
                f"{line.amount_fen} fen ({line.quantity} {line.quantity_unit} at {line.rate} "
                f"{line.rate_unit})"
            )
    out += [f"line {code}: not in the recomputed bill" for code in given_lines]
    return out or ["the bills differ"]
