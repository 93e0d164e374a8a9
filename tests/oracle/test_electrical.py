"""The plausibility bands of a reading's power factor, voltages and currents
(:mod:`oracle.electrical`, docs/oracle.md "Plausibility bands"): refusals name the field."""

from __future__ import annotations

from typing import Any

import pytest

from oracle.electrical import Bands, ImpossibleValueError, electrical_flags
from oracle.meters import MeterRecord
from oracle.schemas import MeterReading
from scripts.meter_sim import SimMeter, make_meters

THREE = MeterRecord(node="0x1", signer="0x2", capacity_w=50_000, phases=3, nominal_voltage_dv=4000)
SINGLE = MeterRecord(node="0x1", signer="0x2", capacity_w=10_000, phases=1, nominal_voltage_dv=2200)
CAPACITY_WH = 12_500


def _sim(meter: MeterRecord) -> SimMeter:
    sim = make_meters(1, capacity_w=meter.capacity_w)[0]
    sim.phases, sim.nominal_voltage_dv = meter.phases, meter.nominal_voltage_dv
    return sim


def _reading(meter: MeterRecord, **change: Any) -> MeterReading:
    """A simulated reading of 1 kWh import, 300 varh (consistent), then ``change``."""
    sim = _sim(meter)
    start = 1_700_001_000
    good = sim.reading(start, import_wh=1000, export_wh=0).model_dump()
    return MeterReading(
        **{**good, "reactive_varh": 300, **sim.electrical(start, 1000, 300), **change}
    )


def _flags(r: MeterReading, meter: MeterRecord) -> list[str]:
    return electrical_flags(r, meter, 900, CAPACITY_WH, Bands())


def _refused(r: MeterReading, meter: MeterRecord) -> ImpossibleValueError:
    with pytest.raises(ImpossibleValueError) as info:
        _flags(r, meter)
    return info.value


@pytest.mark.parametrize("meter", [THREE, SINGLE])
def test_the_simulators_readings_are_plausible(meter: MeterRecord) -> None:
    r = _reading(meter)
    assert r.power_factor_milli == 958  # 1000 Wh with 300 varh
    assert _flags(r, meter) == []
    assert (r.voltage_l2_dv == 0) == (meter.phases == 1)


def test_a_power_factor_above_one_is_refused_naming_the_field() -> None:
    refusal = _refused(_reading(THREE, power_factor_milli=1200), THREE)
    assert refusal.field == "powerFactorMilli"
    assert "powerFactorMilli 1200 is out of range: a power factor lies in [0, 1]" in str(refusal)
    assert _flags(_reading(THREE, power_factor_milli=1000, reactive_varh=0), THREE) == []


def test_a_single_phase_meter_has_no_l2_or_l3() -> None:
    refusal = _refused(_reading(SINGLE, voltage_l3_dv=2200), SINGLE)
    assert refusal.field == "voltageL3Dv"
    assert "single-phase" in refusal.detail
    assert _refused(_reading(SINGLE, current_l2_ma=5), SINGLE).field == "currentL2Ma"


def test_voltage_bands_flag_ten_percent_and_refuse_fifty() -> None:
    nominal = SINGLE.nominal_voltage_dv
    for volts, out in ((nominal * 110 // 100, False), (nominal * 89 // 100, True)):
        flags = _flags(_reading(SINGLE, voltage_l1_dv=volts), SINGLE)
        assert ("voltage_out_of_band" in flags) == out, volts
    assert "voltage_out_of_band" in _flags(_reading(THREE, voltage_l2_dv=0), THREE)  # an outage
    refusal = _refused(_reading(THREE, voltage_l3_dv=6001), THREE)
    assert (refusal.field, refusal.detail) == (
        "voltageL3Dv",
        "voltageL3Dv 6001 exceeds the nominal 4000 dV by more than 50 %",
    )


def test_current_must_carry_the_active_energy() -> None:
    r = _reading(THREE)
    # 10 % short of the apparent power: still within tolerance (rounding, averaging)
    near = {f"current_l{k}_ma": getattr(r, f"current_l{k}_ma") * 92 // 100 for k in (1, 2, 3)}
    assert "current_inconsistent" not in _flags(_reading(THREE, **near), THREE)
    low = {f"current_l{k}_ma": getattr(r, f"current_l{k}_ma") * 80 // 100 for k in (1, 2, 3)}
    assert "current_inconsistent" in _flags(_reading(THREE, **low), THREE)
    none = {f"current_l{k}_ma": getattr(r, f"current_l{k}_ma") // 3 for k in (1, 2, 3)}
    refusal = _refused(_reading(THREE, **none), THREE)
    assert refusal.field == "currentL1Ma"
    assert "more than 2 x the" in refusal.detail
    # no energy, no current: nothing to check
    idle = _reading(THREE, import_wh=0, reactive_varh=0, current_l1_ma=0)
    assert "current_inconsistent" not in _flags(idle, THREE)


def test_reactive_energy_must_fit_the_power_factor() -> None:
    assert _flags(_reading(THREE, power_factor_milli=920), THREE) == []  # 958 +/- 50
    assert _flags(_reading(THREE, power_factor_milli=900), THREE) == ["reactive_inconsistent"]
    assert _flags(_reading(THREE, reactive_varh=900), THREE) == ["reactive_inconsistent"]
    # below the energy floor (1 % of capacity x interval) rounding dominates: not checked
    tiny = _reading(THREE, import_wh=100, reactive_varh=30, power_factor_milli=500)
    assert "reactive_inconsistent" not in _flags(tiny, THREE)
