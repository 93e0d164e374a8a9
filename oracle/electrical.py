"""Plausibility of a reading's electrical quantities (power factor, voltages, currents)
against the meter's installation (phases, nominal voltage) and its own energies.

Physically impossible values are refused (:class:`ImpossibleValueError`, naming the field);
implausible ones give flags that hold the reading for a VERIFIER (docs/oracle.md,
"Plausibility bands"):

* ``powerFactorMilli`` above 1000: refused (a power factor lies in [0, 1]).
* a voltage or current on L2/L3 of a single-phase meter: refused.
* a phase voltage above ``voltage_refuse_pct`` over nominal: refused; outside
  +/-``voltage_flag_pct`` of nominal (including 0 V, an outage): ``voltage_out_of_band``.
* active energy above what the measured voltages and currents carry (apparent energy
  ``U x I`` single-phase, ``sum(U_k x I_k) / sqrt(3)`` three-phase, over the interval):
  above ``current_refuse_factor`` x that refused, above it by more than
  ``current_tolerance_pct`` ``current_inconsistent``.
* the power factor the active and reactive energies imply, ``P / sqrt(P^2 + Q^2)``,
  departing from the signed one by more than ``power_factor_tolerance_milli``:
  ``reactive_inconsistent``.

The last two rules apply only when the apparent energy ``sqrt(P^2 + Q^2)`` is at least
``min_energy_share_pct`` of capacity x interval and at least ``min_energy_wh``: below,
the rounding of energies (whole Wh) and currents (whole mA) dominates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ledger.errors import ValidationError
from oracle.meters import MeterRecord
from oracle.schemas import MeterReading

POWER_FACTOR_FULL_MILLI = 1000


class ImpossibleValueError(ValidationError):
    """A physically impossible value; ``field`` is its wire (camelCase) name."""

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class Bands:
    """The plausibility bands (documented in docs/oracle.md)."""

    voltage_flag_pct: int = 10
    voltage_refuse_pct: int = 50
    current_tolerance_pct: int = 10
    current_refuse_factor: int = 2
    power_factor_tolerance_milli: int = 50
    min_energy_share_pct: int = 1
    min_energy_wh: int = 10


def _phase_values(r: MeterReading) -> tuple[list[int], list[int]]:
    volts = [r.voltage_l1_dv, r.voltage_l2_dv, r.voltage_l3_dv]
    amps = [r.current_l1_ma, r.current_l2_ma, r.current_l3_ma]
    return volts, amps


def electrical_flags(
    r: MeterReading, meter: MeterRecord, interval_s: int, capacity_wh: int, bands: Bands
) -> list[str]:
    """Flags of ``r``'s electrical quantities, or :class:`ImpossibleValueError`."""
    if r.power_factor_milli > POWER_FACTOR_FULL_MILLI:
        raise ImpossibleValueError(
            "powerFactorMilli",
            f"powerFactorMilli {r.power_factor_milli} is out of range: a power factor lies "
            f"in [0, 1] (0..{POWER_FACTOR_FULL_MILLI})",
        )
    volts, amps = _phase_values(r)
    for k in range(meter.phases, 3):
        for name, value in ((f"voltageL{k + 1}Dv", volts[k]), (f"currentL{k + 1}Ma", amps[k])):
            if value:
                raise ImpossibleValueError(
                    name, f"{name} {value} on a single-phase meter (phase L{k + 1} is absent)"
                )
    flags: list[str] = []
    if _voltage_out_of_band(volts[: meter.phases], meter.nominal_voltage_dv, bands):
        flags.append("voltage_out_of_band")
    active_wh = r.import_wh + r.export_wh
    if math.hypot(active_wh, r.reactive_varh) < max(
        bands.min_energy_wh, capacity_wh * bands.min_energy_share_pct / 100
    ):
        return flags  # rounding of small energies and currents dominates
    if _current_inconsistent(volts, amps, meter.phases, active_wh, interval_s, bands):
        flags.append("current_inconsistent")
    if _reactive_inconsistent(r, active_wh, bands):
        flags.append("reactive_inconsistent")
    return flags


def _voltage_out_of_band(volts: list[int], nominal_dv: int, bands: Bands) -> bool:
    out = False
    for k, value in enumerate(volts):
        if value * 100 > nominal_dv * (100 + bands.voltage_refuse_pct):
            raise ImpossibleValueError(
                f"voltageL{k + 1}Dv",
                f"voltageL{k + 1}Dv {value} exceeds the nominal {nominal_dv} dV by more than "
                f"{bands.voltage_refuse_pct} %",
            )
        out = out or abs(value - nominal_dv) * 100 > nominal_dv * bands.voltage_flag_pct
    return out


def _current_inconsistent(
    volts: list[int], amps: list[int], phases: int, active_wh: int, interval_s: int, bands: Bands
) -> bool:
    """Active energy above the apparent energy the voltages and currents carry."""
    volt_amps = sum(v / 10 * a / 1000 for v, a in zip(volts, amps, strict=True))
    if phases == 3:
        volt_amps /= math.sqrt(3)
    apparent_wh = volt_amps * interval_s / 3600
    if active_wh > bands.current_refuse_factor * apparent_wh:
        raise ImpossibleValueError(
            "currentL1Ma",
            f"active energy {active_wh} Wh is more than {bands.current_refuse_factor} x the "
            f"{apparent_wh:.0f} VAh the measured voltages and currents carry",
        )
    return active_wh * 100 > apparent_wh * (100 + bands.current_tolerance_pct)


def _reactive_inconsistent(r: MeterReading, active_wh: int, bands: Bands) -> bool:
    apparent = math.hypot(active_wh, r.reactive_varh)
    implied_milli = POWER_FACTOR_FULL_MILLI * active_wh / apparent
    return abs(implied_milli - r.power_factor_milli) > bands.power_factor_tolerance_milli
