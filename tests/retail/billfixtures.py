"""Shared inputs of the bill engine tests: July 2026 (31 days), local time UTC+8."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.retail.accounts import ConsumerAccount
from ledger.retail.months import month_bounds
from ledger.retail.packages import RetailPackage
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import Readings, from_rows

MONTH = 202607
START, END = month_bounds(MONTH)
CONSUMER = "0x" + "c1" * 20
RETAILER = "0x" + "e2" * 20
M1 = "0x" + "01" * 32
M2 = "0x" + "02" * 32

RATES = PublishedRates.model_validate(
    {
        "name": "Jibei 2026",
        "td_rates": [
            {
                "consumer_class": "industrial",
                "voltage_level": "kv_1_10",
                "rate_fen_per_mwh": 150_000,
            },
            {
                "consumer_class": "residential",
                "voltage_level": "below_1kv",
                "rate_fen_per_mwh": 100_000,
            },
            {
                "consumer_class": "large_industry",
                "voltage_level": "kv_110",
                "rate_fen_per_mwh": 100_000,
            },
        ],
        "basic_rates": [
            {
                "voltage_level": "kv_110",
                "capacity_fen_per_kva_month": 2_400,
                "demand_fen_per_kw_month": 3_600,
            }
        ],
        "funds": [
            {"name": "Reservoir resettlement fund", "rate_fen_per_mwh": 6_200},
            {"name": "Renewable energy surcharge", "rate_fen_per_mwh": 19_000},
        ],
    }
)


def at(day: int, hour: int, minute: int) -> int:
    """Unix seconds of local July ``day`` 2026 ``hour:minute``."""
    return START + (day - 1) * 86_400 + hour * 3_600 + minute * 60


def account(**over: Any) -> ConsumerAccount:
    data: dict[str, Any] = {
        "node": CONSUMER,
        "consumer_class": "industrial",
        "voltage_level": "kv_1_10",
        "contracted_capacity_kva": 400,
        "meters": [{"meter_id": M1, "valid_from": 0}],
    }
    return ConsumerAccount.model_validate(data | over)


def package(pricing: dict[str, Any], **over: Any) -> RetailPackage:
    data: dict[str, Any] = {
        "retailer": RETAILER,
        "name": "Test package",
        "consumer_class": "industrial",
        "valid_from": date(2026, 1, 1),
        "valid_to": date(2027, 1, 1),
        "pricing": pricing,
    }
    return RetailPackage.model_validate(data | over)


def readings(*rows: tuple[str, int, int, int, int]) -> Readings:
    """``(meter_id, interval_start, import_wh, export_wh, reactive_varh)`` rows."""
    return from_rows(rows)


FIXED = {"kind": "fixed", "price_fen_per_mwh": 400_000}
TOU = {
    "kind": "time_of_use",
    "seasons": [
        {
            "months": list(range(1, 13)),
            "windows": [
                {"start_minute": 0, "end_minute": 470, "kind": "valley"},
                {"start_minute": 470, "end_minute": 1_140, "kind": "flat"},
                {"start_minute": 1_140, "end_minute": 1_440, "kind": "peak"},
            ],
        }
    ],
    "rates_fen_per_mwh": {"valley": 300_000, "flat": 600_000, "peak": 900_000},
}
TIERED = {
    "kind": "tiered",
    "blocks": [
        {"upto_kwh": 200, "price_fen_per_mwh": 488_300},
        {"upto_kwh": 400, "price_fen_per_mwh": 538_300},
        {"price_fen_per_mwh": 788_300},
    ],
}
