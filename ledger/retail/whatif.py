"""What would I have paid: a consumer's past months priced under every offered package.

Each offered package for the consumer's class is priced on the same readings and rates as
the consumer's actual bill; months a package does not cover are left out of its row (and
named), so totals compare like with like only when ``months_priced`` match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.retail.accounts import ConsumerAccount
from ledger.retail.bill import compute_bill
from ledger.retail.packages import RetailPackage, package_hash
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import Readings


@dataclass(frozen=True)
class PackageQuote:
    """One package's price of the consumer's months."""

    package_name: str
    retailer: str
    package_hash: str
    totals_fen: dict[int, int]
    not_covered: list[int]

    @property
    def total_fen(self) -> int:
        return sum(self.totals_fen.values())


def what_if(
    account: ConsumerAccount,
    months: Sequence[int],
    readings_of: Callable[[int], Readings],
    packages: Sequence[RetailPackage],
    rates: PublishedRates,
) -> list[PackageQuote]:
    """Every package of the account's class priced over ``months`` (readings per month from
    ``readings_of``), cheapest total first."""
    offered = [p for p in packages if p.consumer_class == account.consumer_class]
    month_readings = {m: readings_of(m) for m in months}
    quotes: list[PackageQuote] = []
    for package in offered:
        totals: dict[int, int] = {}
        missing: list[int] = []
        for month in months:
            if not package.covers_month(month):
                missing.append(month)
                continue
            bill = compute_bill(account, month_readings[month], package, rates, month)
            totals[month] = bill.total_fen
        quotes.append(
            PackageQuote(
                package.name,
                package.retailer,
                "0x" + package_hash(package).hex(),
                totals,
                missing,
            )
        )
    quotes.sort(key=lambda q: (-len(q.totals_fen), q.total_fen, q.package_name))
    return quotes
