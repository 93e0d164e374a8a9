"""Units and amounts: the one home of every unit conversion and rounding rule.

Energy is an integer number of Wh, prices and rates are fen/MWh, money is fen (the
settlement token has 2 decimals: 1 unit = 1 fen). Every amount the contracts compute from
energy and a price is ``energy_wh * fen_per_mwh / 1_000_000`` and the rounding direction of
each is written down here once, mirroring the contracts:

==========================  ===========  ==============================================
amount                      rounding     contract
==========================  ===========  ==============================================
energy value (price x Q)    down         ``TradingMarket`` (escrow, seller payout)
transmission fee (formula1) down         ``TransmissionTariff.feeFen`` on the route sum
fee share of one region     down         ``SettlementEngine`` (rest -> remainder account)
deviation (formulas 2, 3)   down         ``SettlementEngine._deviation``
quota fine                  down         ``QuotaLedger``
seller bond exposure        up           ``TradingMarket`` (``ceil(value x bps / 1e4)``)
refund to the buyer         exact        escrow minus what was paid out (no rounding)
trade energy per interval   down         none (reports): ``split_even_wh``, rest 1 Wh each
                                         to the first intervals, energy conserved exactly
==========================  ===========  ==============================================

Money is conserved because each split pays floor shares and sends the difference to a named
account (the remainder account or the buyer's refund).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from ledger.errors import ValidationError

#: Wh per MWh: ``amount_fen = energy_wh * rate_fen_per_mwh // WH_PER_MWH``.
WH_PER_MWH = 1_000_000
#: Wh per kWh.
WH_PER_KWH = 1_000
#: Basis points of a whole.
BPS = 10_000
#: Parts per million of a whole.
PPM = 1_000_000
#: Fen per yuan: the settlement token has 2 decimals.
FEN_PER_CNY = 100


def value_fen(energy_wh: int, rate_fen_per_mwh: int) -> int:
    """``floor(energy_wh * rate / 1e6)``: an energy value, fee, fee share, deviation charge
    or fine (every amount of energy times a rate is rounded down)."""
    if energy_wh < 0 or rate_fen_per_mwh < 0:
        raise ValueError("energy and rate must not be negative")
    return energy_wh * rate_fen_per_mwh // WH_PER_MWH


def split_even_wh(energy_wh: int, intervals: int) -> list[int]:
    """``energy_wh`` delivered evenly over ``intervals`` intervals: floor shares, and the
    remainder (``energy_wh mod intervals``) 1 Wh each to the first intervals, so the parts
    sum to ``energy_wh`` exactly and differ by at most 1 Wh."""
    if intervals <= 0 or energy_wh < 0:
        raise ValidationError(f"cannot split {energy_wh} Wh over {intervals} intervals")
    share, rest = divmod(energy_wh, intervals)
    return [share + 1] * rest + [share] * (intervals - rest)


def exposure_fen(energy_value_fen: int, exposure_bps: int) -> int:
    """The seller's reserved bond exposure: ``ceil(value * bps / 10000)`` (rounded up, so the
    bond always covers the share)."""
    return -(-energy_value_fen * exposure_bps // BPS)


def share_bps(amount: int, bps: int) -> int:
    """``floor(amount * bps / 10000)``: a basis-point share, rounded down."""
    return amount * bps // BPS


def _non_negative(text: str | int | Decimal, what: str) -> Decimal:
    """``text`` as a finite, non-negative decimal; else ``not <what>: <text>`` (or, for a
    negative number, ``<what> must not be negative: <text>``)."""
    try:
        value = Decimal(str(text))
    except InvalidOperation as exc:
        raise ValidationError(f"not {what}: {text!r}") from exc
    if not value.is_finite():
        raise ValidationError(f"not {what}: {text!r}")
    if value < 0:
        raise ValidationError(f"{what.removeprefix('an ')} must not be negative: {text}")
    return value


def cny_to_fen(amount: str | int | Decimal) -> int:
    """An amount in yuan (``"1234.56"``) as whole fen; negative, non-numeric or more than 2
    decimals is refused with a :class:`ValidationError` naming the value."""
    fen = _non_negative(amount, "an amount of CNY") * FEN_PER_CNY
    if fen != fen.to_integral_value(rounding=ROUND_DOWN):
        raise ValidationError(f"{amount} CNY has more than 2 decimals (1 fen is the smallest unit)")
    return int(fen)


def fen_to_cny(fen: int) -> str:
    """Whole fen as yuan with 2 decimals, e.g. ``123456`` -> ``"1234.56"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_CNY)
    return f"{sign}{whole}.{cents:02d}"


def wh_to_mwh_text(wh: int) -> str:
    """Wh as MWh with all 6 decimals (exact), e.g. ``1_500_000`` -> ``"1.500000"``."""
    sign = "-" if wh < 0 else ""
    whole, rest = divmod(abs(wh), WH_PER_MWH)
    return f"{sign}{whole}.{rest:06d}"


def wh_to_mwh_trimmed(wh: int) -> str:
    """Wh as MWh with up to 6 decimals, trailing zeros dropped (``1_500_000`` -> ``"1.5"``)."""
    text = f"{Decimal(wh) / WH_PER_MWH:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def mwh_to_wh(text: str | int | Decimal) -> int:
    """An energy in MWh (``"1.5"``) as whole Wh; negative, non-numeric or finer than 1 Wh is
    refused with a :class:`ValidationError`."""
    wh = _non_negative(text, "an energy in MWh") * WH_PER_MWH
    if wh != wh.to_integral_value():
        raise ValidationError(f"{text} MWh is finer than 1 Wh")
    return int(wh)


def rate_to_cny_per_mwh_text(fen_per_mwh: int) -> str:
    """A rate in fen/MWh as CNY/MWh with 2 decimals."""
    return fen_to_cny(fen_per_mwh)


# --- retail bills (ledger.retail.bill) ---------------------------------------------------
#
# A retail bill rounds each line item to whole fen half up (四舍五入, the utilities' rule),
# never down: the customer-facing amount is the nearest fen. The power factor is rounded to
# two decimals half up, as the 1983 adjustment method prescribes. Each rule's name is what a
# bill line records in its ``rounding`` field.

#: Rounding rule names recorded on bill lines.
ROUND_HALF_UP = "half_up"
ROUND_HALF_AWAY = "half_away_from_zero"
ROUND_EXACT = "exact"


def _div_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (both >= 0, denominator > 0) rounded half up."""
    return (2 * numerator + denominator) // (2 * denominator)


def bill_energy_fen(energy_wh: int, rate_fen_per_mwh: int) -> int:
    """A retail bill line ``energy x rate``: ``energy_wh * rate / 1e6`` rounded half up to
    whole fen (``ROUND_HALF_UP``)."""
    if energy_wh < 0 or rate_fen_per_mwh < 0:
        raise ValueError("energy and rate must not be negative")
    return _div_half_up(energy_wh * rate_fen_per_mwh, WH_PER_MWH)


def average_rate_fen_per_mwh(value_wh_fen_per_mwh: int, energy_wh: int) -> int:
    """A volume-weighted average rate: ``sum(energy_wh x rate) / sum(energy_wh)`` rounded
    half up to whole fen/MWh (the price history of ``ledger.analytics.history``)."""
    if value_wh_fen_per_mwh < 0 or energy_wh <= 0:
        raise ValueError("need a non-negative value and a positive energy")
    return _div_half_up(value_wh_fen_per_mwh, energy_wh)


def bill_demand_fen(demand_w: int, rate_fen_per_kw_month: int) -> int:
    """The basic charge on max demand: ``demand_w / 1000 * rate`` rounded half up to whole fen
    (``ROUND_HALF_UP``)."""
    if demand_w < 0 or rate_fen_per_kw_month < 0:
        raise ValueError("demand and rate must not be negative")
    return _div_half_up(demand_w * rate_fen_per_kw_month, 1_000)


def bill_percent_fen(base_fen: int, adjustment_bps: int) -> int:
    """A signed percentage of an amount: ``base * bps / 10000`` rounded half away from zero to
    whole fen (``ROUND_HALF_AWAY``: a surcharge and a rebate of the same size are symmetric)."""
    magnitude = _div_half_up(abs(base_fen) * abs(adjustment_bps), BPS)
    return magnitude if (base_fen >= 0) == (adjustment_bps >= 0) else -magnitude


def power_factor_hundredths(active_wh: int, reactive_varh: int) -> int:
    """The month's power factor ``P / sqrt(P^2 + Q^2)`` in hundredths, rounded half up (the
    1983 method: two decimals, 四舍五入); exact in integers. ``P = Q = 0`` is refused."""
    p, q = abs(active_wh), abs(reactive_varh)
    if p == 0 and q == 0:
        raise ValueError("no active or reactive energy: the power factor is undefined")
    # n = round_half_up(100 p / s), s = sqrt(p^2 + q^2): n is the largest integer with
    # (n - 0.5) s <= 100 p, i.e. (2n - 1)^2 (p^2 + q^2) <= (200 p)^2 for 2n - 1 >= 0.
    s2 = p * p + q * q
    n = 0
    while n < 100 and (2 * (n + 1) - 1) ** 2 * s2 <= (200 * p) ** 2:
        n += 1
    return n
