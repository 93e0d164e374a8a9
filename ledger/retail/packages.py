"""Retail packages: what a retailer offers a consumer class, and its one hash.

Prices are integers in fen/MWh (1 fen/kWh = 1,000 fen/MWh). A package prices the energy
only; transmission & distribution, the basic charge and the government funds come from the
published rates (:mod:`ledger.retail.rates`). ``package_hash`` (keccak256 of the canonical
JSON, :mod:`ledger.retail.canonical`) is what a retailer publishes on chain.

Time-of-use windows are minutes of the local day (UTC+8), ``[start_minute, end_minute)``;
each season's windows cover the whole day exactly once, and the seasons cover the twelve
months exactly once. Tier blocks are monthly: ``upto_kwh`` is the block's upper bound of the
month's cumulative consumption, and the last block is open (``upto_kwh`` null).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.retail.canonical import canonical_hash, checksum

#: Minutes in a day: time-of-use windows cover ``[0, MINUTES_PER_DAY)``.
MINUTES_PER_DAY = 1_440


class ConsumerClass(StrEnum):
    """The tariff class of a consumer (the published rates differ by class)."""

    residential = "residential"
    commercial = "commercial"
    industrial = "industrial"
    large_industry = "large_industry"


class PeriodKind(StrEnum):
    """A time-of-use period of the day."""

    sharp_peak = "sharp_peak"
    peak = "peak"
    flat = "flat"
    valley = "valley"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class FixedPrice(_Frozen):
    """One price for every kWh."""

    kind: Literal["fixed"] = "fixed"
    price_fen_per_mwh: int = Field(ge=0)


class TouWindow(_Frozen):
    """A daily window ``[start_minute, end_minute)`` of local time in one period kind."""

    start_minute: int = Field(ge=0, lt=MINUTES_PER_DAY)
    end_minute: int = Field(gt=0, le=MINUTES_PER_DAY)
    kind: PeriodKind

    @model_validator(mode="after")
    def _ordered(self) -> TouWindow:
        if self.start_minute >= self.end_minute:
            raise ValueError(
                f"window [{self.start_minute}, {self.end_minute}) is empty or reversed "
                "(split a window over midnight in two)"
            )
        return self


class TouSeason(_Frozen):
    """The months (1-12) a set of daily windows applies in."""

    months: list[int] = Field(min_length=1, max_length=12)
    windows: list[TouWindow] = Field(min_length=1)

    @field_validator("months")
    @classmethod
    def _months(cls, months: list[int]) -> list[int]:
        if any(not 1 <= m <= 12 for m in months):
            raise ValueError(f"months must be 1-12: {months}")
        if len(set(months)) != len(months):
            raise ValueError(f"a month is listed twice: {months}")
        return months

    @model_validator(mode="after")
    def _cover_day(self) -> TouSeason:
        spans = sorted((w.start_minute, w.end_minute) for w in self.windows)
        cursor = 0
        for start, end in spans:
            if start < cursor:
                raise ValueError(f"windows overlap at minute {start} (months {self.months})")
            if start > cursor:
                raise ValueError(f"minutes [{cursor}, {start}) are in no window ({self.months})")
            cursor = end
        if cursor != MINUTES_PER_DAY:
            raise ValueError(f"minutes [{cursor}, 1440) are in no window (months {self.months})")
        return self

    def kind_at(self, minute_of_day: int) -> PeriodKind:
        """The period kind of local minute ``minute_of_day``."""
        for w in self.windows:
            if w.start_minute <= minute_of_day < w.end_minute:
                return w.kind
        raise ValueError(f"minute {minute_of_day} is outside the day")


class TimeOfUse(_Frozen):
    """Seasonal daily windows, each of a period kind, and a rate per kind."""

    kind: Literal["time_of_use"] = "time_of_use"
    seasons: list[TouSeason] = Field(min_length=1)
    rates_fen_per_mwh: dict[PeriodKind, Annotated[int, Field(ge=0)]]

    @model_validator(mode="after")
    def _consistent(self) -> TimeOfUse:
        months = sorted(m for s in self.seasons for m in s.months)
        if months != list(range(1, 13)):
            raise ValueError(f"the seasons must cover months 1-12 exactly once, got {months}")
        used = {w.kind for s in self.seasons for w in s.windows}
        missing = sorted(k.value for k in used - set(self.rates_fen_per_mwh))
        if missing:
            raise ValueError(f"no rate for period kind(s) {missing}")
        return self

    def season_of(self, month: int) -> TouSeason:
        """The season month ``month`` (1-12) is in."""
        return next(s for s in self.seasons if month in s.months)


class TierBlock(_Frozen):
    """A monthly block: consumption up to ``upto_kwh`` (cumulative; null: open) at a price."""

    upto_kwh: int | None = Field(default=None, gt=0)
    price_fen_per_mwh: int = Field(ge=0)


class Tiered(_Frozen):
    """Increasing-block pricing of the month's consumption."""

    kind: Literal["tiered"] = "tiered"
    blocks: list[TierBlock] = Field(min_length=1)

    @model_validator(mode="after")
    def _blocks(self) -> Tiered:
        if self.blocks[-1].upto_kwh is not None:
            raise ValueError("the last block must be open (upto_kwh null)")
        bounds = [b.upto_kwh for b in self.blocks[:-1] if b.upto_kwh is not None]
        if len(bounds) != len(self.blocks) - 1:
            raise ValueError("only the last block may be open (upto_kwh null)")
        if any(a >= b for a, b in pairwise(bounds)):
            raise ValueError(f"block bounds must increase: {bounds}")
        return self


Pricing = Annotated[FixedPrice | TimeOfUse | Tiered, Field(discriminator="kind")]


class RetailPackage(_Frozen):
    """A retailer's offer to a consumer class, valid on local dates ``[valid_from, valid_to)``.

    ``two_part``: the bill adds the basic charge (capacity or max demand, per the account).
    """

    retailer: str
    name: str = Field(min_length=1, max_length=120)
    consumer_class: ConsumerClass
    valid_from: date
    valid_to: date
    pricing: Pricing
    two_part: bool = False

    @field_validator("retailer")
    @classmethod
    def _retailer(cls, value: str) -> str:
        return checksum(value, "retailer")

    @model_validator(mode="after")
    def _window(self) -> RetailPackage:
        if self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} must be after valid_from {self.valid_from}")
        return self

    def covers_month(self, month: int) -> bool:
        """Whether the whole month ``month`` (YYYYMM) lies in the validity window."""
        first = date(month // 100, month % 100, 1)
        nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return self.valid_from <= first and nxt <= self.valid_to


def package_hash(package: RetailPackage) -> bytes:
    """The package's ``bytes32`` hash: keccak256 of its canonical JSON."""
    return canonical_hash(package)
