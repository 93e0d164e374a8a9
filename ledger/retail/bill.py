"""The retail bill: :func:`compute_bill` prices a consumer's month under a package and the
published rates, line by line, and :class:`Bill` is the result with its one hash.

Lines, in order (each rounded once; the rules live in :mod:`ledger.units`):

1. energy charge under the package (:mod:`ledger.retail.lines`);
2. transmission & distribution (T&D): the month's import x the class/voltage rate;
3. basic charge (two-part packages only): contracted kVA x rate per kVA-month, or the
   month's maximum 15-minute demand (kW = 4 x the interval's Wh / 1000) x rate per kW-month;
4. power-factor adjustment (accounts with a standard): the month's power factor from active
   import and reactive energy (:func:`ledger.units.power_factor_hundredths`), looked up in the
   1983 table (:mod:`ledger.retail.power_factor`) and applied to the 电度电费 (energy + T&D)
   plus the 基本电费 (basic charge); government funds are not adjusted;
5. each government fund or surcharge: the month's import x its rate.

Only active *import* is billed; export is reported on the bill but not credited (feed-in is
settled elsewhere). Reactive energy counts in absolute value (both directions).
"""

from __future__ import annotations

import numpy as np
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, model_validator

from ledger.errors import ValidationError
from ledger.retail.accounts import ConsumerAccount, DemandBasis
from ledger.retail.canonical import canonical_hash
from ledger.retail.lines import LineItem, Profile, energy_charge, energy_line, profile_slots
from ledger.retail.months import INTERVAL_S, check_month, days_in, month_bounds
from ledger.retail.packages import RetailPackage, package_hash
from ledger.retail.power_factor import adjustment_bps
from ledger.retail.rates import PublishedRates, rates_hash
from ledger.retail.readings import Readings
from ledger.units import (
    ROUND_EXACT,
    ROUND_HALF_AWAY,
    ROUND_HALF_UP,
    bill_demand_fen,
    bill_percent_fen,
    power_factor_hundredths,
)

#: Version of the bill's JSON form (covered by the hash).
BILL_VERSION = 1


class Bill(BaseModel):
    """A consumer's bill for a month. ``total_fen`` is the sum of the lines' amounts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = BILL_VERSION
    consumer: str
    retailer: str
    month: int
    consumer_class: str
    voltage_level: str
    package_name: str
    package_hash: str
    rates_name: str
    rates_hash: str
    meter_ids: list[str]
    reading_count: int
    readings_hash: str
    import_wh: int
    export_wh: int
    reactive_varh: int
    max_demand_w: int
    power_factor_hundredths: int | None
    lines: list[LineItem]
    total_fen: int

    @model_validator(mode="after")
    def _total(self) -> Bill:
        lines_sum = sum(line.amount_fen for line in self.lines)
        if lines_sum != self.total_fen:
            raise ValueError(f"total_fen {self.total_fen} is not the sum of the lines {lines_sum}")
        return self

    @property
    def hash(self) -> bytes:
        """keccak256 of the bill's canonical JSON (the ``billHash`` anchored on chain)."""
        return bill_hash(self)


def bill_hash(bill: Bill) -> bytes:
    """The bill's ``bytes32`` hash: keccak256 of its canonical JSON."""
    return canonical_hash(bill)


def compute_bill(
    account: ConsumerAccount,
    readings: Readings,
    package: RetailPackage,
    rates: PublishedRates,
    month: int,
) -> Bill:
    """The bill of ``account`` for ``month`` (YYYYMM, local time UTC+8)."""
    check_month(month)
    if package.consumer_class != account.consumer_class:
        raise ValidationError(
            f"package {package.name!r} is for {package.consumer_class}, "
            f"the account is {account.consumer_class}"
        )
    if not package.covers_month(month):
        raise ValidationError(
            f"package {package.name!r} is valid {package.valid_from} to {package.valid_to}, "
            f"not for all of {month}"
        )
    counted = counted_readings(account, readings, month)
    profile = month_profile(counted, month)
    import_wh = int(profile.sum())
    reactive_varh = int(np.abs(counted.reactive_varh).sum())
    max_demand_w = int(profile.max(initial=0)) * (3_600 // INTERVAL_S)
    lines = energy_charge(package.pricing, profile, month)
    td_rate = rates.td_rate(account.consumer_class, account.voltage_level)
    lines.append(energy_line("td", "Transmission & distribution", import_wh, td_rate))
    if package.two_part:
        lines.append(_basic_line(account, rates, max_demand_w))
    pf = None
    if account.pf_standard_milli is not None and (import_wh or reactive_varh):
        pf = power_factor_hundredths(import_wh, reactive_varh)
        lines.append(_pf_line(account.pf_standard_milli, pf, lines))
    for n, fund in enumerate(rates.funds, start=1):
        lines.append(energy_line(f"fund{n}", fund.name, import_wh, fund.rate_fen_per_mwh))
    return Bill(
        consumer=account.node,
        retailer=package.retailer,
        month=month,
        consumer_class=account.consumer_class.value,
        voltage_level=account.voltage_level.value,
        package_name=package.name,
        package_hash="0x" + package_hash(package).hex(),
        rates_name=rates.name,
        rates_hash="0x" + rates_hash(rates).hex(),
        meter_ids=sorted({counted.meter_ids[int(i)] for i in np.unique(counted.meter)}),
        reading_count=len(counted),
        readings_hash="0x" + readings_digest(counted).hex(),
        import_wh=import_wh,
        export_wh=int(counted.export_wh.sum()),
        reactive_varh=reactive_varh,
        max_demand_w=max_demand_w,
        power_factor_hundredths=pf,
        lines=lines,
        total_fen=sum(line.amount_fen for line in lines),
    )


def counted_readings(account: ConsumerAccount, readings: Readings, month: int) -> Readings:
    """The rows of ``readings`` that count for the account in the month: a listed meter inside
    its validity window, an interval starting in the month. Two rows for one meter and
    interval, or an interval not on the 15-minute grid, are refused."""
    start, end = month_bounds(month)
    t = readings.interval_start
    keep = np.zeros(len(readings), dtype=bool)
    for window in account.meters:
        if window.meter_id not in readings.meter_ids:
            continue
        idx = readings.meter_ids.index(window.meter_id)
        hi = end if window.valid_to is None else min(end, window.valid_to)
        keep |= (readings.meter == idx) & (t >= max(start, window.valid_from)) & (t < hi)
    counted = readings.select(keep)
    offsets = counted.interval_start - start
    if np.any(offsets % INTERVAL_S):
        bad = int(counted.interval_start[np.argmax(offsets % INTERVAL_S != 0)])
        raise ValidationError(f"reading at {bad} is not on the 15-minute grid")
    keys = counted.meter * (1 << 40) + offsets // INTERVAL_S
    if np.unique(keys).shape[0] != keys.shape[0]:
        raise ValidationError("two readings for one meter and interval")
    return counted


def month_profile(counted: Readings, month: int) -> Profile:
    """The account's import per interval: ``days x 96`` Wh (all meters summed)."""
    start, _ = month_bounds(month)
    days, slots = days_in(month), profile_slots()
    flat = np.zeros(days * slots, dtype=np.int64)
    np.add.at(flat, (counted.interval_start - start) // INTERVAL_S, counted.import_wh)
    return flat.reshape(days, slots)


def readings_digest(counted: Readings) -> bytes:
    """keccak256 of the counted rows sorted by (interval, meter id), each row five big-endian
    int64 (meter's rank among the sorted meter ids, interval start, import, export, reactive)."""
    names = sorted(counted.meter_ids)
    rank = np.asarray([names.index(m) for m in counted.meter_ids], dtype=np.int64)
    meter_rank = rank[counted.meter] if len(counted) else counted.meter
    order = np.lexsort((meter_rank, counted.interval_start))
    table = np.stack(
        [
            meter_rank[order],
            counted.interval_start[order],
            counted.import_wh[order],
            counted.export_wh[order],
            counted.reactive_varh[order],
        ],
        axis=1,
    ).astype(">i8")
    return bytes(keccak(table.tobytes()))


def _basic_line(account: ConsumerAccount, rates: PublishedRates, max_demand_w: int) -> LineItem:
    rate = rates.basic_rate(account.voltage_level)
    if account.demand_basis == DemandBasis.capacity:
        kva, per_kva = account.contracted_capacity_kva, rate.capacity_fen_per_kva_month
        parts = ("capacity", "contracted capacity", kva, "kVA", per_kva, "fen/kVA-month")
        amount_fen, rounding = kva * per_kva, ROUND_EXACT
    else:
        per_kw = rate.demand_fen_per_kw_month
        parts = ("demand", "maximum demand", max_demand_w, "W", per_kw, "fen/kW-month")
        amount_fen, rounding = bill_demand_fen(max_demand_w, per_kw), ROUND_HALF_UP
    code, what, quantity, quantity_unit, rate_value, rate_unit = parts
    return LineItem(
        code=f"basic.{code}",
        name=f"Basic charge, {what}",
        quantity=quantity,
        quantity_unit=quantity_unit,
        rate=rate_value,
        rate_unit=rate_unit,
        amount_fen=amount_fen,
        rounding=rounding,
    )


def _pf_line(standard_milli: int, pf_hundredths: int, lines: list[LineItem]) -> LineItem:
    base = sum(line.amount_fen for line in lines)
    bps = adjustment_bps(standard_milli, pf_hundredths)
    return LineItem(
        code="pf_adjustment",
        name=(
            f"Power factor adjustment (PF {pf_hundredths / 100:.2f}, "
            f"standard {standard_milli / 1000:.2f})"
        ),
        quantity=base,
        quantity_unit="fen",
        rate=bps,
        rate_unit="bps",
        amount_fen=bill_percent_fen(base, bps),
        rounding=ROUND_HALF_AWAY,
    )
