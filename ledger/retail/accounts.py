"""Consumer accounts: what the bill needs to know about a consumer besides its readings.

A consumer (a node address) has a tariff class and supply voltage, a contracted capacity
(kVA), the basis of its basic charge (contracted ``capacity`` or the month's ``max_demand``),
its power-factor standard (900/850/800 thousandths, or none: not assessed) and its meters.
A meter counts for the consumer over ``[valid_from, valid_to)`` (unix seconds; ``valid_to``
null: still installed), so a meter replaced mid-month is the old meter until ``t`` and the
new one from ``t``. A consumer may have several meters (metering units) at once.
"""

from __future__ import annotations

from enum import StrEnum
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.retail.canonical import checksum
from ledger.retail.packages import ConsumerClass

#: The power-factor standards of the 1983 method, in thousandths.
PF_STANDARDS_MILLI = (900, 850, 800)


class VoltageLevel(StrEnum):
    """Supply voltage level (the published rates differ by level)."""

    below_1kv = "below_1kv"
    kv_1_10 = "kv_1_10"
    kv_35 = "kv_35"
    kv_110 = "kv_110"
    kv_220_plus = "kv_220_plus"


class DemandBasis(StrEnum):
    """What the basic charge of a two-part tariff is computed from."""

    capacity = "capacity"
    max_demand = "max_demand"


class MeterWindow(BaseModel):
    """A meter counting for the consumer over ``[valid_from, valid_to)`` (unix seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    meter_id: str = Field(min_length=1, max_length=66)
    valid_from: int = Field(ge=0)
    valid_to: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> MeterWindow:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"meter {self.meter_id}: valid_to must be after valid_from")
        return self

    def covers(self, unix_s: int) -> bool:
        """Whether an interval starting at ``unix_s`` counts."""
        return self.valid_from <= unix_s and (self.valid_to is None or unix_s < self.valid_to)


class ConsumerAccount(BaseModel):
    """A consumer as billed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node: str
    consumer_class: ConsumerClass
    voltage_level: VoltageLevel
    contracted_capacity_kva: int = Field(ge=0)
    demand_basis: DemandBasis = DemandBasis.capacity
    pf_standard_milli: int | None = None
    meters: list[MeterWindow] = Field(min_length=1)

    @field_validator("node")
    @classmethod
    def _node(cls, value: str) -> str:
        return checksum(value, "node")

    @field_validator("pf_standard_milli")
    @classmethod
    def _pf(cls, value: int | None) -> int | None:
        if value is not None and value not in PF_STANDARDS_MILLI:
            raise ValueError(f"pf_standard_milli must be one of {PF_STANDARDS_MILLI} or null")
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> ConsumerAccount:
        by_meter: dict[str, list[MeterWindow]] = {}
        for m in self.meters:
            by_meter.setdefault(m.meter_id, []).append(m)
        for meter_id, windows in by_meter.items():
            windows.sort(key=lambda w: w.valid_from)
            for a, b in pairwise(windows):
                if a.valid_to is None or a.valid_to > b.valid_from:
                    raise ValueError(f"meter {meter_id} has overlapping validity windows")
        return self

    @property
    def meter_ids(self) -> list[str]:
        """Every meter id the account lists (sorted, unique)."""
        return sorted({m.meter_id for m in self.meters})

    def counts(self, meter_id: str, interval_start: int) -> bool:
        """Whether meter ``meter_id``'s interval starting ``interval_start`` is the consumer's."""
        return any(m.meter_id == meter_id and m.covers(interval_start) for m in self.meters)
