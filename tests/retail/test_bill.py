"""The bill engine against hand-computed bills (July 2026, UTC+8).

Funds on every bill: 6,200 + 19,000 fen/MWh; a line is ``Wh x fen/MWh / 1e6`` rounded half up.
"""

from __future__ import annotations

import pytest

from ledger.errors import ValidationError
from ledger.retail.bill import compute_bill
from ledger.retail.power_factor import adjustment_bps
from tests.retail.billfixtures import (
    FIXED,
    M1,
    M2,
    MONTH,
    RATES,
    TIERED,
    TOU,
    account,
    at,
    package,
    readings,
)


def amounts(bill: object) -> dict[str, int]:
    return {line.code: line.amount_fen for line in bill.lines}  # type: ignore[attr-defined]


def test_time_of_use_boundary_counts_an_interval_by_its_start() -> None:
    # valley [0, 470) ends at 07:50, inside the 07:45 interval: that interval is valley
    # (its start); 08:00 is flat; 19:00 (minute 1140) is the first peak interval.
    rows = readings(
        (M1, at(1, 7, 45), 1_000, 0, 0),
        (M1, at(1, 8, 0), 2_000, 0, 0),
        (M1, at(2, 18, 45), 500, 0, 0),
        (M1, at(2, 19, 0), 700, 0, 0),
    )
    bill = compute_bill(account(), rows, package(TOU), RATES, MONTH)
    # valley 1,000 + 0 Wh x 0.3 = 300; flat 2,500 x 0.6 = 1,500; peak 700 x 0.9 = 630;
    # T&D 4,200 x 0.15 = 630; funds 4,200 x 0.0062 = 26.04 -> 26, x 0.019 = 79.8 -> 80.
    assert amounts(bill) == {
        "energy.flat": 1_500,
        "energy.valley": 300,
        "energy.peak": 630,
        "td": 630,
        "fund1": 26,
        "fund2": 80,
    }
    assert [line.quantity for line in bill.lines[:3]] == [700, 2_500, 1_000]
    assert bill.total_fen == 3_166
    assert bill.import_wh == 4_200
    assert bill.max_demand_w == 8_000


def test_tier_crossing_within_the_month() -> None:
    rows = readings(
        (M1, at(3, 0, 0), 150_000, 0, 0),
        (M1, at(10, 12, 0), 250_000, 0, 0),  # crosses 200 kWh and 400 kWh
        (M1, at(30, 23, 45), 50_000, 0, 0),
    )
    acct = account(consumer_class="residential", voltage_level="below_1kv")
    bill = compute_bill(acct, rows, package(TIERED, consumer_class="residential"), RATES, MONTH)
    # 200 kWh x 0.4883 = 97,660; 200 kWh x 0.5383 = 107,660; 50 kWh x 0.7883 = 39,415;
    # T&D 450 kWh x 0.10 = 45,000; funds 2,790 and 8,550.
    assert amounts(bill) == {
        "energy.tier1": 97_660,
        "energy.tier2": 107_660,
        "energy.tier3": 39_415,
        "td": 45_000,
        "fund1": 2_790,
        "fund2": 8_550,
    }
    assert [line.quantity for line in bill.lines[:3]] == [200_000, 200_000, 50_000]
    assert bill.total_fen == 301_075


def test_a_meter_replaced_mid_month() -> None:
    swap = at(15, 0, 0)
    acct = account(
        meters=[
            {"meter_id": M1, "valid_from": 0, "valid_to": swap},
            {"meter_id": M2, "valid_from": swap},
        ]
    )
    rows = readings(
        (M1, at(14, 23, 45), 1_000, 0, 0),
        (M1, swap, 5_000, 0, 0),  # the old meter after its removal: not the consumer's
        (M2, at(14, 23, 45), 7_000, 0, 0),  # the new meter before its installation
        (M2, swap, 2_000, 0, 0),
    )
    bill = compute_bill(acct, rows, package(FIXED), RATES, MONTH)
    # 3,000 Wh x 0.4 = 1,200; T&D 450; funds 18.6 -> 19 and 57.
    assert amounts(bill) == {"energy": 1_200, "td": 450, "fund1": 19, "fund2": 57}
    assert bill.total_fen == 1_726
    assert bill.reading_count == 2
    assert bill.meter_ids == [M1, M2]


def test_two_part_large_industry_on_max_demand_with_power_factor() -> None:
    acct = account(
        consumer_class="large_industry",
        voltage_level="kv_110",
        contracted_capacity_kva=10_000,
        demand_basis="max_demand",
        pf_standard_milli=900,
    )
    rows = readings(
        (M1, at(5, 10, 0), 250_000, 0, 150_000),  # 1,000 kW: the month's maximum demand
        (M1, at(5, 10, 15), 100_000, 0, -66_900),
    )
    pkg = package(FIXED, consumer_class="large_industry", two_part=True)
    bill = compute_bill(acct, rows, pkg, RATES, MONTH)
    # P 350,000 Wh, Q 216,900 varh: cos phi = 0.850005 -> 0.85 -> +2.5 % (standard 0.90).
    # energy 140,000; T&D 35,000; basic 1,000 kW x 36 CNY = 3,600,000;
    # adjustment 2.5 % of 3,775,000 = 94,375; funds 2,170 and 6,650.
    assert bill.power_factor_hundredths == 85
    assert bill.max_demand_w == 1_000_000
    assert amounts(bill) == {
        "energy": 140_000,
        "td": 35_000,
        "basic.demand": 3_600_000,
        "pf_adjustment": 94_375,
        "fund1": 2_170,
        "fund2": 6_650,
    }
    assert bill.total_fen == 3_878_195


def test_two_part_on_contracted_capacity() -> None:
    acct = account(
        consumer_class="large_industry", voltage_level="kv_110", contracted_capacity_kva=10_000
    )
    rows = readings((M1, at(5, 10, 0), 250_000, 0, 0))
    pkg = package(FIXED, consumer_class="large_industry", two_part=True)
    bill = compute_bill(acct, rows, pkg, RATES, MONTH)
    # 10,000 kVA x 24 CNY = 240,000 CNY; energy 100,000; T&D 25,000; funds 1,550 and 4,750.
    assert amounts(bill)["basic.capacity"] == 24_000_000
    assert bill.total_fen == 24_000_000 + 100_000 + 25_000 + 1_550 + 4_750


@pytest.mark.parametrize(
    ("standard", "pf", "bps"),
    [
        (900, 100, -75),  # 0.95-1.00: -0.75 %
        (900, 95, -75),
        (900, 91, -15),
        (900, 90, 0),
        (900, 89, 50),
        (900, 70, 1_000),
        (900, 65, 1_500),
        (900, 64, 1_700),  # below 0.65: +2 % per 0.01
        (850, 94, -110),  # 0.94-1.00: -1.1 %
        (850, 90, -50),
        (850, 84, 50),
        (850, 65, 1_000),
        (850, 60, 1_500),
        (850, 59, 1_700),
        (800, 92, -130),  # 0.92-1.00: -1.3 %
        (800, 91, -115),
        (800, 90, -100),
        (800, 60, 1_000),
        (800, 55, 1_500),
        (800, 54, 1_700),
    ],
)
def test_power_factor_table_rows(standard: int, pf: int, bps: int) -> None:
    assert adjustment_bps(standard, pf) == bps


def test_power_factor_rebate_on_a_bill() -> None:
    # P 100,000 Wh, Q 30,000 varh: cos phi = 0.9578 -> 0.96 -> -0.75 % at standard 0.90.
    acct = account(pf_standard_milli=900)
    rows = readings((M1, at(1, 0, 0), 100_000, 0, 30_000))
    bill = compute_bill(acct, rows, package(FIXED), RATES, MONTH)
    # base: energy 40,000 + T&D 15,000 = 55,000; -0.75 % = -412.5 -> -413 (half away from 0).
    assert bill.power_factor_hundredths == 96
    assert amounts(bill)["pf_adjustment"] == -413
    assert bill.total_fen == 55_000 - 413 + 620 + 1_900


def test_readings_outside_the_month_or_of_other_meters_do_not_count() -> None:
    rows = readings(
        (M1, at(1, 0, 0) - 900, 9_999, 0, 0),  # June 30 23:45 local
        (M1, at(1, 0, 0), 1_000, 0, 0),
        ("0xother", at(1, 0, 0), 9_999, 0, 0),
    )
    bill = compute_bill(account(), rows, package(FIXED), RATES, MONTH)
    assert bill.import_wh == 1_000


def test_duplicate_or_off_grid_readings_are_refused() -> None:
    dup = readings((M1, at(1, 0, 0), 1, 0, 0), (M1, at(1, 0, 0), 2, 0, 0))
    with pytest.raises(ValidationError, match="two readings for one meter and interval"):
        compute_bill(account(), dup, package(FIXED), RATES, MONTH)
    off = readings((M1, at(1, 0, 7), 1, 0, 0))
    with pytest.raises(ValidationError, match="not on the 15-minute grid"):
        compute_bill(account(), off, package(FIXED), RATES, MONTH)


def test_package_of_another_class_or_month_is_refused() -> None:
    rows = readings((M1, at(1, 0, 0), 1, 0, 0))
    with pytest.raises(ValidationError, match="is for residential"):
        compute_bill(account(), rows, package(FIXED, consumer_class="residential"), RATES, MONTH)
    late = package(FIXED, valid_from="2026-07-02")
    with pytest.raises(ValidationError, match="not for all of 202607"):
        compute_bill(account(), rows, late, RATES, MONTH)


def test_bill_hash_is_stable_and_covers_every_field() -> None:
    rows = readings((M1, at(1, 0, 0), 1_000, 0, 0))
    a = compute_bill(account(), rows, package(FIXED), RATES, MONTH)
    b = compute_bill(account(), rows, package(FIXED), RATES, MONTH)
    assert a.hash == b.hash
    assert len(a.hash) == 32
    c = compute_bill(
        account(), readings((M1, at(1, 0, 0), 1_000, 1, 0)), package(FIXED), RATES, MONTH
    )
    assert c.total_fen == a.total_fen
    assert c.hash != a.hash
