"""The power-factor adjustment table of the 1983 method, as data.

Source: 《功率因数调整电费办法》, (83)水电财字第215号 (Ministry of Water Resources and
Electric Power and the State Price Bureau, 1983), its three tables (standards 0.90, 0.85 and
0.80). How the table was found and checked is in ``docs/retail-billing.md``.

Each table maps the month's power factor (two decimals, half up:
:func:`ledger.units.power_factor_hundredths`) to an adjustment of the month's charges in
basis points (1 % = 100 bps): positive is a surcharge (增收), negative a rebate (减收).
Every table has the same shape, anchored at its standard ``s`` (in hundredths):

* at and above the standard, a rebate growing by a fixed step per 0.01 up to a cap
  (from the table's rows, listed explicitly below);
* below the standard, +0.5 % per 0.01 down to ``s - 0.20`` (+10 %), then +1 % per 0.01
  down to ``s - 0.25`` (+15 %), then +2 % per 0.01 for every further 0.01 (no floor).
"""

from __future__ import annotations

from types import MappingProxyType

from ledger.errors import ValidationError

#: Rebates (negative bps) at and above each standard: ``{standard_milli: {pf_hundredths: bps}}``;
#: a power factor above the last listed row gets the last row's rebate (the table's
#: "0.95-1.00" style cap).
REBATES_BPS: MappingProxyType[int, MappingProxyType[int, int]] = MappingProxyType(
    {
        900: MappingProxyType({90: 0, 91: -15, 92: -30, 93: -45, 94: -60, 95: -75}),
        850: MappingProxyType(
            {85: 0, 86: -10, 87: -20, 88: -30, 89: -40, 90: -50}
            | {91: -65, 92: -80, 93: -95, 94: -110}
        ),
        800: MappingProxyType(
            {80: 0, 81: -10, 82: -20, 83: -30, 84: -40, 85: -50, 86: -60, 87: -70}
            | {88: -80, 89: -90, 90: -100, 91: -115, 92: -130}
        ),
    }
)
#: Surcharge steps below the standard: (band width in hundredths, bps per 0.01), in order;
#: the last band is open.
SURCHARGE_BANDS: tuple[tuple[int, int], ...] = ((20, 50), (5, 100), (10_000, 200))


def adjustment_bps(standard_milli: int, pf_hundredths: int) -> int:
    """The adjustment (bps; + surcharge, - rebate) of a month with power factor
    ``pf_hundredths`` under the standard ``standard_milli`` (900, 850 or 800)."""
    if standard_milli not in REBATES_BPS:
        raise ValidationError(f"no power-factor table for standard {standard_milli / 1000:.2f}")
    if not 0 <= pf_hundredths <= 100:
        raise ValidationError(f"power factor must be 0.00-1.00, got {pf_hundredths / 100:.2f}")
    rebates = REBATES_BPS[standard_milli]
    standard = standard_milli // 10
    if pf_hundredths >= standard:
        return rebates[min(pf_hundredths, max(rebates))]
    below = standard - pf_hundredths
    bps = 0
    for width, step in SURCHARGE_BANDS:
        taken = min(below, width)
        bps += taken * step
        below -= taken
        if below == 0:
            break
    return bps


def table_rows(standard_milli: int, lowest_hundredths: int = 50) -> list[tuple[int, int]]:
    """The table as ``(pf_hundredths, bps)`` rows from 1.00 down to ``lowest_hundredths``."""
    return [
        (pf, adjustment_bps(standard_milli, pf)) for pf in range(100, lowest_hundredths - 1, -1)
    ]
