"""Illustrative retail inputs: published rates, packages and accounts shaped like Jibei's
(the numbers are plausible, not an official tariff). Used by ``gridledger retail bill
example``, the bench section ``retail`` and the docs' walkthrough.
"""

from __future__ import annotations

from datetime import date

from ledger.retail.accounts import ConsumerAccount, DemandBasis, MeterWindow, VoltageLevel
from ledger.retail.packages import (
    ConsumerClass,
    FixedPrice,
    PeriodKind,
    RetailPackage,
    TierBlock,
    Tiered,
    TimeOfUse,
    TouSeason,
    TouWindow,
)
from ledger.retail.rates import BasicRate, FundRate, PublishedRates, TdRate

#: T&D fen/MWh by class at each voltage (below 1 kV, 1-10 kV, 35 kV, 110 kV, 220 kV+).
_TD = {
    ConsumerClass.residential: (100_000, 90_000, 80_000, 70_000, 60_000),
    ConsumerClass.commercial: (190_000, 170_000, 150_000, 130_000, 110_000),
    ConsumerClass.industrial: (180_000, 160_000, 140_000, 120_000, 100_000),
    ConsumerClass.large_industry: (120_000, 110_000, 100_000, 90_000, 80_000),
}
#: Basic charge (fen/kVA-month, fen/kW-month) at each voltage.
_BASIC = ((2_800, 4_200), (2_600, 3_900), (2_400, 3_600), (2_200, 3_300), (2_000, 3_000))


def sample_rates() -> PublishedRates:
    """Illustrative published rates for every class and voltage."""
    levels = list(VoltageLevel)
    return PublishedRates(
        name="Jibei illustrative 2026",
        td_rates=[
            TdRate(consumer_class=c, voltage_level=v, rate_fen_per_mwh=rates[i])
            for c, rates in _TD.items()
            for i, v in enumerate(levels)
        ],
        basic_rates=[
            BasicRate(voltage_level=v, capacity_fen_per_kva_month=kva, demand_fen_per_kw_month=kw)
            for v, (kva, kw) in zip(levels, _BASIC, strict=True)
        ],
        funds=[
            FundRate(name="Major water conservancy fund", rate_fen_per_mwh=1_960),
            FundRate(name="Reservoir resettlement fund", rate_fen_per_mwh=6_200),
            FundRate(name="Renewable energy surcharge", rate_fen_per_mwh=19_000),
        ],
    )


def _windows(starts: list[tuple[int, PeriodKind]]) -> list[TouWindow]:
    """Windows from their start minutes (each ends where the next starts; the last at 24:00)."""
    ends = [start for start, _ in starts[1:]] + [1_440]
    return [
        TouWindow(start_minute=start, end_minute=end, kind=kind)
        for (start, kind), end in zip(starts, ends, strict=True)
    ]


def sample_time_of_use(base_fen_per_mwh: int) -> TimeOfUse:
    """Summer (Jul-Aug) with a sharp peak, the rest of the year with peak/flat/valley."""
    v, f, p, s = PeriodKind.valley, PeriodKind.flat, PeriodKind.peak, PeriodKind.sharp_peak
    summer = _windows([(0, v), (420, f), (600, p), (660, s), (780, f), (1_140, p), (1_320, v)])
    other = _windows([(0, v), (480, f), (600, p), (720, f), (1_020, p), (1_320, v)])
    b = base_fen_per_mwh
    return TimeOfUse(
        seasons=[
            TouSeason(months=[7, 8], windows=summer),
            TouSeason(months=[1, 2, 3, 4, 5, 6, 9, 10, 11, 12], windows=other),
        ],
        rates_fen_per_mwh={
            PeriodKind.sharp_peak: b * 2,
            PeriodKind.peak: b * 16 // 10,
            PeriodKind.flat: b,
            PeriodKind.valley: b * 4 // 10,
        },
    )


def sample_packages(retailer: str) -> list[RetailPackage]:
    """A fixed, a time-of-use and (residential) a tiered package per class, valid in 2026."""
    out: list[RetailPackage] = []
    base = {
        ConsumerClass.residential: 400_000,
        ConsumerClass.commercial: 420_000,
        ConsumerClass.industrial: 390_000,
        ConsumerClass.large_industry: 370_000,
    }
    for cls, price in base.items():
        two_part = cls == ConsumerClass.large_industry
        common = {
            "retailer": retailer,
            "consumer_class": cls,
            "valid_from": date(2026, 1, 1),
            "valid_to": date(2027, 1, 1),
            "two_part": two_part,
        }
        out.append(
            RetailPackage(
                name=f"{cls.value} fixed", pricing=FixedPrice(price_fen_per_mwh=price), **common
            )
        )
        out.append(
            RetailPackage(
                name=f"{cls.value} time of use", pricing=sample_time_of_use(price), **common
            )
        )
    blocks = [
        TierBlock(upto_kwh=180, price_fen_per_mwh=380_000),
        TierBlock(upto_kwh=280, price_fen_per_mwh=430_000),
        TierBlock(price_fen_per_mwh=680_000),
    ]
    out.append(
        RetailPackage(
            retailer=retailer,
            name="residential tiered",
            consumer_class=ConsumerClass.residential,
            valid_from=date(2026, 1, 1),
            valid_to=date(2027, 1, 1),
            pricing=Tiered(blocks=blocks),
        )
    )
    return out


def sample_account(
    node: str,
    consumer_class: ConsumerClass,
    meter_ids: list[str],
    *,
    capacity_kva: int = 630,
) -> ConsumerAccount:
    """An account of ``consumer_class`` with ``meter_ids`` installed for good; large industry
    is at 110 kV on max demand with the 0.90 standard, industry and commerce at 10 kV with the
    0.85 standard when 100 kVA or more, residents at 0.4 kV unassessed."""
    large = consumer_class == ConsumerClass.large_industry
    voltage = {
        ConsumerClass.residential: VoltageLevel.below_1kv,
        ConsumerClass.large_industry: VoltageLevel.kv_110,
    }.get(consumer_class, VoltageLevel.kv_1_10)
    if large:
        pf: int | None = 900
    elif consumer_class != ConsumerClass.residential and capacity_kva >= 100:
        pf = 850
    else:
        pf = None
    return ConsumerAccount(
        node=node,
        consumer_class=consumer_class,
        voltage_level=voltage,
        contracted_capacity_kva=capacity_kva,
        demand_basis=DemandBasis.max_demand if large else DemandBasis.capacity,
        pf_standard_milli=pf,
        meters=[MeterWindow(meter_id=m, valid_from=0) for m in meter_ids],
    )
