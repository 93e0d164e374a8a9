"""Published rates: the regulated parts of a retail bill, and their one hash.

Per kWh charges are integers in fen/MWh (1 fen/kWh = 1,000 fen/MWh): the transmission &
distribution (T&D) charge by consumer class and voltage level, and each government fund or
surcharge (政府性基金及附加) by name. The basic charge of a two-part tariff is per voltage
level, in fen per kVA-month (contracted capacity) and fen per kW-month (max demand).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.errors import ValidationError
from ledger.retail.accounts import VoltageLevel
from ledger.retail.canonical import canonical_hash
from ledger.retail.packages import ConsumerClass


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TdRate(_Frozen):
    """The T&D charge of a consumer class at a voltage level."""

    consumer_class: ConsumerClass
    voltage_level: VoltageLevel
    rate_fen_per_mwh: int = Field(ge=0)


class BasicRate(_Frozen):
    """The basic charge at a voltage level."""

    voltage_level: VoltageLevel
    capacity_fen_per_kva_month: int = Field(ge=0)
    demand_fen_per_kw_month: int = Field(ge=0)


class FundRate(_Frozen):
    """A government fund or surcharge levied per kWh, with its name."""

    name: str = Field(min_length=1, max_length=120)
    rate_fen_per_mwh: int = Field(ge=0)


class PublishedRates(_Frozen):
    """The regulated rates a bill applies (one region, one validity)."""

    name: str = Field(min_length=1, max_length=120)
    td_rates: list[TdRate] = Field(min_length=1)
    basic_rates: list[BasicRate] = Field(default_factory=list)
    funds: list[FundRate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> PublishedRates:
        td = [(r.consumer_class, r.voltage_level) for r in self.td_rates]
        if len(set(td)) != len(td):
            raise ValueError("a (consumer_class, voltage_level) has two T&D rates")
        basic = [r.voltage_level for r in self.basic_rates]
        if len(set(basic)) != len(basic):
            raise ValueError("a voltage level has two basic rates")
        names = [f.name for f in self.funds]
        if len(set(names)) != len(names):
            raise ValueError("a fund is listed twice")
        return self

    def td_rate(self, consumer_class: ConsumerClass, voltage: VoltageLevel) -> int:
        """The T&D rate (fen/MWh) of a class at a voltage; ValidationError if none."""
        for r in self.td_rates:
            if r.consumer_class == consumer_class and r.voltage_level == voltage:
                return r.rate_fen_per_mwh
        raise ValidationError(f"rates {self.name!r}: no T&D rate for {consumer_class} at {voltage}")

    def basic_rate(self, voltage: VoltageLevel) -> BasicRate:
        """The basic charge rates at a voltage; ValidationError if none."""
        for r in self.basic_rates:
            if r.voltage_level == voltage:
                return r
        raise ValidationError(f"rates {self.name!r}: no basic charge rate at {voltage}")


def rates_hash(rates: PublishedRates) -> bytes:
    """The rates' ``bytes32`` hash: keccak256 of their canonical JSON."""
    return canonical_hash(rates)
