"""Bill line items and the energy charge of each pricing model.

The energy charge works on the month's *profile*: the consumer's import (Wh) per 15-minute
interval of the local month, ``profile[d, k]`` for day ``d`` and slot ``k`` (``k * 15``
minutes after local midnight). Each line is rounded once, half up to whole fen
(:func:`ledger.units.bill_energy_fen`).

* fixed: the month's energy at one price;
* time of use: each interval belongs to the period kind of its *start* minute (a window
  boundary inside an interval counts from the next interval), one line per kind;
* tiered: the month's cumulative energy is split over the blocks (a month that crosses a
  block bound pays each block's share at its price), one line per block used.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from ledger.retail.packages import FixedPrice, PeriodKind, Pricing, Tiered, TimeOfUse
from ledger.units import ROUND_HALF_UP, WH_PER_KWH, bill_energy_fen

Profile = npt.NDArray[np.int64]
#: Minutes per metering interval.
INTERVAL_MINUTES = 15
#: Display names of the period kinds.
KIND_NAMES = {
    PeriodKind.sharp_peak: "sharp peak",
    PeriodKind.peak: "peak",
    PeriodKind.flat: "flat",
    PeriodKind.valley: "valley",
}


class LineItem(BaseModel):
    """One line of a bill: what was charged, how much of it, at what rate, rounded how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    quantity: int
    quantity_unit: str
    rate: int
    rate_unit: str
    amount_fen: int
    rounding: str


def energy_line(code: str, name: str, energy_wh: int, rate_fen_per_mwh: int) -> LineItem:
    """A line ``energy x rate`` (Wh at fen/MWh), rounded half up."""
    return LineItem(
        code=code,
        name=name,
        quantity=energy_wh,
        quantity_unit="Wh",
        rate=rate_fen_per_mwh,
        rate_unit="fen/MWh",
        amount_fen=bill_energy_fen(energy_wh, rate_fen_per_mwh),
        rounding=ROUND_HALF_UP,
    )


def energy_charge(pricing: Pricing, profile: Profile, month: int) -> list[LineItem]:
    """The energy charge lines of ``pricing`` over the month's ``profile`` (days x 96)."""
    if isinstance(pricing, FixedPrice):
        total = int(profile.sum())
        return [energy_line("energy", "Energy", total, pricing.price_fen_per_mwh)]
    if isinstance(pricing, TimeOfUse):
        return _time_of_use(pricing, profile, month)
    return _tiered(pricing, int(profile.sum()))


def slot_kinds(pricing: TimeOfUse, month: int) -> list[PeriodKind]:
    """The period kind of each of the day's 96 slots in ``month`` (by the slot's start)."""
    season = pricing.season_of(month % 100)
    slots = profile_slots()
    return [season.kind_at(k * INTERVAL_MINUTES) for k in range(slots)]


def profile_slots() -> int:
    """Slots per day."""
    return 24 * 60 // INTERVAL_MINUTES


def _time_of_use(pricing: TimeOfUse, profile: Profile, month: int) -> list[LineItem]:
    per_slot = profile.sum(axis=0)
    kinds = slot_kinds(pricing, month)
    totals: dict[PeriodKind, int] = {}
    for kind, wh in zip(kinds, per_slot.tolist(), strict=True):
        totals[kind] = totals.get(kind, 0) + int(wh)
    return [
        energy_line(
            f"energy.{kind.value}",
            f"Energy, {KIND_NAMES[kind]}",
            totals[kind],
            pricing.rates_fen_per_mwh[kind],
        )
        for kind in PeriodKind
        if kind in totals
    ]


def _tiered(pricing: Tiered, total_wh: int) -> list[LineItem]:
    lines: list[LineItem] = []
    lower_wh = 0
    for n, block in enumerate(pricing.blocks, start=1):
        upper_wh = None if block.upto_kwh is None else block.upto_kwh * WH_PER_KWH
        in_block = total_wh - lower_wh if upper_wh is None else min(total_wh, upper_wh) - lower_wh
        bound = "and above" if upper_wh is None else f"up to {block.upto_kwh} kWh"
        if in_block > 0 or n == 1:
            lines.append(
                energy_line(
                    f"energy.tier{n}",
                    f"Energy, tier {n} ({bound})",
                    max(in_block, 0),
                    block.price_fen_per_mwh,
                )
            )
        if upper_wh is None or total_wh <= upper_wh:
            break
        lower_wh = upper_wh
    return lines
