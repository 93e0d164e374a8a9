"""Retail inputs: strict validation with clear reasons, readings sources, package/rates hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from ledger.errors import ValidationError
from ledger.retail.canonical import load_model
from ledger.retail.packages import RetailPackage, package_hash
from ledger.retail.rates import PublishedRates, rates_hash
from ledger.retail.readings import from_oracle_store, load_file, write_csv
from oracle.store import ReadingRow, create_tables
from tests.retail.billfixtures import (
    FIXED,
    M1,
    M2,
    MONTH,
    RATES,
    RETAILER,
    TOU,
    account,
    at,
    readings,
)


def package_data(pricing: dict[str, object]) -> dict[str, object]:
    return {
        "retailer": RETAILER,
        "name": "p",
        "consumer_class": "industrial",
        "valid_from": "2026-01-01",
        "valid_to": "2027-01-01",
        "pricing": pricing,
    }


def tou_with(windows: list[dict[str, object]]) -> dict[str, object]:
    season = {"months": list(range(1, 13)), "windows": windows}
    return TOU | {"seasons": [season]}


def test_overlapping_time_of_use_windows_are_refused() -> None:
    windows = [
        {"start_minute": 0, "end_minute": 480, "kind": "valley"},
        {"start_minute": 420, "end_minute": 1_440, "kind": "flat"},
    ]
    with pytest.raises(ValidationError, match="windows overlap at minute 420"):
        load_model(RetailPackage, package_data(tou_with(windows)), "package")


def test_a_gap_in_the_day_or_a_missing_month_is_refused() -> None:
    gap = [
        {"start_minute": 0, "end_minute": 480, "kind": "valley"},
        {"start_minute": 600, "end_minute": 1_440, "kind": "flat"},
    ]
    with pytest.raises(ValidationError, match=r"minutes \[480, 600\) are in no window"):
        load_model(RetailPackage, package_data(tou_with(gap)), "package")
    short = TOU | {"seasons": [TOU["seasons"][0] | {"months": list(range(1, 12))}]}  # type: ignore[index]
    with pytest.raises(ValidationError, match="cover months 1-12 exactly once"):
        load_model(RetailPackage, package_data(short), "package")


def test_a_negative_rate_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        load_model(
            RetailPackage, package_data({"kind": "fixed", "price_fen_per_mwh": -1}), "package"
        )
    assert str(err.value) == (
        "package: pricing.fixed.price_fen_per_mwh: Input should be greater than or equal to 0"
    )
    rates = RATES.model_dump(mode="json")
    rates["funds"][0]["rate_fen_per_mwh"] = -5
    with pytest.raises(
        ValidationError, match=r"rates: funds\.0\.rate_fen_per_mwh: Input should be"
    ):
        load_model(PublishedRates, rates, "rates")


def test_tiers_must_increase_and_end_open() -> None:
    closed = {"kind": "tiered", "blocks": [{"upto_kwh": 200, "price_fen_per_mwh": 1}]}
    with pytest.raises(ValidationError, match="the last block must be open"):
        load_model(RetailPackage, package_data(closed), "package")
    down = {
        "kind": "tiered",
        "blocks": [
            {"upto_kwh": 400, "price_fen_per_mwh": 1},
            {"upto_kwh": 200, "price_fen_per_mwh": 2},
            {"price_fen_per_mwh": 3},
        ],
    }
    with pytest.raises(ValidationError, match="block bounds must increase"):
        load_model(RetailPackage, package_data(down), "package")


def test_account_meters_and_power_factor_standard_are_checked() -> None:
    with pytest.raises(ValueError, match="overlapping validity windows"):
        account(meters=[{"meter_id": M1, "valid_from": 0}, {"meter_id": M1, "valid_from": 5}])
    with pytest.raises(ValueError, match="pf_standard_milli must be one of"):
        account(pf_standard_milli=950)
    with pytest.raises(ValueError, match="node is not an address"):
        account(node="0x1234")


def test_package_and_rates_hashes_are_canonical() -> None:
    a = load_model(RetailPackage, package_data(FIXED), "package")
    b = load_model(RetailPackage, json.dumps(package_data(FIXED), indent=4), "package")
    assert package_hash(a) == package_hash(b)
    assert len(package_hash(a)) == 32
    c = load_model(RetailPackage, package_data(FIXED | {"price_fen_per_mwh": 400_001}), "package")
    assert package_hash(c) != package_hash(a)
    assert rates_hash(RATES) == rates_hash(
        PublishedRates.model_validate_json(RATES.model_dump_json())
    )


def test_readings_round_trip_through_csv_and_json(tmp_path: Path) -> None:
    rows = readings((M1, at(1, 0, 0), 10, 2, -3), (M2, at(1, 0, 15), 20, 0, 4))
    csv_path = tmp_path / "r.csv"
    write_csv(rows, csv_path)
    back = load_file(csv_path)
    assert back.meter_ids == (M1, M2)
    assert back.import_wh.tolist() == [10, 20]
    assert back.reactive_varh.tolist() == [-3, 4]
    json_path = tmp_path / "r.json"
    keys = ("meter_id", "interval_start", "import_wh", "export_wh", "reactive_varh")
    json_path.write_text(json.dumps([dict(zip(keys, (M1, at(1, 0, 0), 10, 2, -3), strict=True))]))
    assert load_file(json_path).export_wh.tolist() == [2]
    json_path.write_text(json.dumps([{"meter_id": M1}]))
    with pytest.raises(ValidationError, match="every reading needs the keys"):
        load_file(json_path)
    csv_path.write_text("meter_id,interval_start,import_wh,export_wh,reactive_varh\nm,1,-5,0,0\n")
    with pytest.raises(ValidationError, match="reading 1: active energy must not be negative"):
        load_file(csv_path)


def _row(meter: str, start: int, wh: int, status: str, seq: int) -> ReadingRow:
    return ReadingRow(
        meter_id=meter,
        node="0x" + "c1" * 20,
        interval_start=start,
        interval_seconds=900,
        period=1,
        import_wh=wh,
        export_wh=0,
        reactive_varh=wh // 2,
        import_register_wh=0,
        export_register_wh=0,
        sequence=seq,
        signature="0x",
        digest=f"0x{seq:064x}",
        leaf="0x",
        received_at=0.0,
        status=status,
    )


def test_oracle_store_adapter_counts_accepted_and_cleared_only(tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    engine = create_engine(f"sqlite:///{tmp_path / 'oracle.db'}")
    create_tables(engine)
    with Session(engine) as session:
        session.add_all(
            [
                _row(M1, at(1, 0, 0), 100, "accepted", 1),
                _row(M1, at(1, 0, 15), 200, "cleared", 2),
                _row(M1, at(1, 0, 30), 400, "flagged", 3),
                _row(M1, at(1, 0, 45), 800, "rejected", 4),
                _row(M1, at(1, 0, 0) - 900, 1_600, "accepted", 5),  # June
                _row(M2, at(1, 0, 0), 3_200, "accepted", 6),  # not the account's meter
            ]
        )
        session.commit()
    got = from_oracle_store(engine, account(), MONTH)
    assert got.import_wh.tolist() == [100, 200]
    assert got.reactive_varh.tolist() == [50, 100]
    engine.dispose()
