"""A seeded multi-week market history for the price forecast and its back-test.

The scenario generator (:mod:`ledger.scenario`) describes one delivery day; a forecast needs
weeks. :func:`generate_history` draws, for each pricing region of the scenario, ``days``
days of 96 quarter-hours (local time, UTC+8) from the same building blocks:

* **load** (MW): the scenario's consumer load shape (:func:`ledger.scenario.load_shape`,
  morning and evening peaks; a fifth of it clean heating, peaking at night) times the
  region's share of :data:`SYSTEM_LOAD_MW` (the scenario's load weights), a **weekly**
  factor (:data:`WEEKDAY_FACTOR`: Saturday 0.88, Sunday 0.80), a day's weather factor
  (AR(1), ``phi`` 0.7, sd 5 %) and 2 % noise per interval;
* **load forecast** (MW): the day-ahead load forecast the operator publishes, the load with
  2 % error; it is drawn for one day more than the prices (the day to forecast);
* **wind**: a day's capacity factor (:func:`ledger.scenario.wind_factor`) per region;
* **price** (fen/MWh): load-driven, :data:`BASE_FEN_PER_MWH` plus
  :data:`LOAD_SLOPE_FEN_PER_MWH` per unit of load above the region's mean, minus
  :data:`WIND_SLOPE_FEN_PER_MWH` per unit of wind capacity factor above 0.32, plus the
  region's postage-stamp rate, plus noise (sd :data:`NOISE_FEN_PER_MWH`); floored at
  :data:`FLOOR_FEN_PER_MWH`;
* **volume** (MWh): what the market traded in the interval, 55-65 % of the load's energy.

Same ``(days, seed, regions)``, same history, value for value. Everything is an integer
with its unit in the name.

:func:`history_from_cells` builds the same :class:`PriceHistory` from the market's own
trades, as the gateway indexed them (``GET /api/v1/analytics/prices``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from ledger.errors import ValidationError
from ledger.scenario import INTERVALS_PER_DAY, REGIONS, load_shape, wind_factor

Cube = npt.NDArray[np.int64]
#: The first day of the generated history (a Monday).
START = date(2026, 5, 4)
#: Jibei's and its neighbours' load (MW), split over the regions by the scenario's weights.
SYSTEM_LOAD_MW = 24_000
REGION_LOAD_WEIGHTS = (0.3, 0.12, 0.12, 0.08, 0.18, 0.12, 0.08)
#: Load factor by weekday (Monday first).
WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 0.98, 0.88, 0.80)
BASE_FEN_PER_MWH = 36_000
LOAD_SLOPE_FEN_PER_MWH = 16_000
WIND_SLOPE_FEN_PER_MWH = 12_000
NOISE_FEN_PER_MWH = 900
FLOOR_FEN_PER_MWH = 5_000
CLEAN_HEATING_SHARE = 0.2


@dataclass(frozen=True)
class PriceHistory:
    """Per region x day x interval: ``price``, ``volume``, ``load`` for ``days`` days, and
    the load forecast for one day more (index ``days``: the next day)."""

    start: date
    regions: tuple[str, ...]
    price_fen_per_mwh: Cube
    volume_mwh: Cube
    load_mw: Cube
    load_forecast_mw: Cube
    filled_cells: int = 0
    """Cells (region x day x interval) without a trade, filled (:func:`history_from_cells`)."""
    source: str = "synthetic"
    """``synthetic`` (:func:`generate_history`) or ``market`` (the chain's trades)."""

    @property
    def days(self) -> int:
        return int(self.price_fen_per_mwh.shape[1])

    def day(self, index: int) -> date:
        """The local date of day ``index``."""
        return self.start + timedelta(days=index)

    def region_index(self, name: str) -> int:
        """The index of region ``name`` (case-insensitive); ValidationError if unknown."""
        names = [r.lower() for r in self.regions]
        if name.lower() not in names:
            raise ValidationError(f"unknown region {name!r}: one of {', '.join(self.regions)}")
        return names.index(name.lower())

    def head(self, days: int) -> PriceHistory:
        """The first ``days`` days (and the load forecast of the day after them)."""
        if not 1 <= days <= self.days:
            raise ValidationError(f"history has {self.days} days, cannot take {days}")
        return PriceHistory(
            self.start,
            self.regions,
            self.price_fen_per_mwh[:, :days],
            self.volume_mwh[:, :days],
            self.load_mw[:, :days],
            self.load_forecast_mw[:, : days + 1],
            source=self.source,
        )


def generate_history(days: int, seed: int, regions: int = len(REGIONS)) -> PriceHistory:
    """``days`` days of the first ``regions`` scenario regions, seeded by ``seed``."""
    if days < 1 or not 1 <= regions <= len(REGIONS):
        raise ValidationError(
            f"need at least one day and 1-{len(REGIONS)} regions, got {days} days, "
            f"{regions} regions"
        )
    rng = np.random.default_rng(seed)
    shape = (regions, days + 1, INTERVALS_PER_DAY)
    load = np.empty(shape)
    wind = np.empty(shape)
    for r in range(regions):
        peak_mw = SYSTEM_LOAD_MW * REGION_LOAD_WEIGHTS[r]
        weather = 0.0
        for d in range(days + 1):
            weather = 0.7 * weather + rng.normal(0.0, 0.05)
            weekday = WEEKDAY_FACTOR[(START + timedelta(days=d)).weekday()]
            day_shape = (1 - CLEAN_HEATING_SHARE) * load_shape(rng, False)
            day_shape += CLEAN_HEATING_SHARE * load_shape(rng, True)
            noise = rng.normal(1.0, 0.02, INTERVALS_PER_DAY)
            load[r, d] = peak_mw * day_shape * weekday * (1 + weather) * noise
            wind[r, d] = wind_factor(rng)
    forecast = load * rng.normal(1.0, 0.02, shape)
    mean_load = load.mean(axis=(1, 2), keepdims=True)
    stamps = np.array([REGIONS[r].stamp_rate_fen_per_mwh for r in range(regions)])
    price = (
        BASE_FEN_PER_MWH
        + LOAD_SLOPE_FEN_PER_MWH * (load / mean_load - 1)
        - WIND_SLOPE_FEN_PER_MWH * (wind - 0.32)
        + stamps[:, None, None]
        + rng.normal(0.0, NOISE_FEN_PER_MWH, shape)
    )
    volume = load * 0.25 * rng.uniform(0.55, 0.65, shape)
    return PriceHistory(
        START,
        tuple(REGIONS[r].name for r in range(regions)),
        np.maximum(np.rint(price), FLOOR_FEN_PER_MWH).astype(np.int64)[:, :days],
        np.rint(volume).astype(np.int64)[:, :days],
        np.rint(load).astype(np.int64)[:, :days],
        np.rint(forecast).astype(np.int64),
    )


# --- the market's own history: indexed trades (gateway ``GET /api/v1/analytics/prices``) ---

#: The market's local time (UTC+8): a day and its 96 quarter-hours are local.
LOCAL_OFFSET_S = 8 * 3600
QUARTER_S = 900
SECONDS_PER_DAY = 86_400
#: Days a market history needs before the forecast uses it: three weeks (a week of look-back,
#: a week to train on, a week held out for the back-test).
MIN_MARKET_DAYS = 21
#: The gateway's route of the indexed price cells (gateway/analytics_prices.py).
PRICES_API_PATH = "/api/v1/analytics/prices"
#: How many days ahead of the last an unknown load forecast is taken from: a week earlier.
LOAD_PROXY_LAG_DAYS = 7


@dataclass(frozen=True)
class PriceCell:
    """One (region, local day, quarter-hour) of traded energy: its volume-weighted average
    price (fen/MWh, rounded half up), its energy (Wh) and how many trades made it."""

    region: str
    day: date
    interval: int
    price_fen_per_mwh: int
    volume_wh: int
    trades: int


def local_slot(unix_s: int) -> tuple[date, int]:
    """The local (UTC+8) day and quarter-hour (0-95) of the instant ``unix_s``."""
    local = unix_s + LOCAL_OFFSET_S
    day = date(1970, 1, 1) + timedelta(days=local // SECONDS_PER_DAY)
    return day, (local % SECONDS_PER_DAY) // QUARTER_S


def history_from_cells(cells: Sequence[PriceCell]) -> PriceHistory:
    """The dense history of ``cells`` (regions in name order, every day from the first cell's
    to the last's). A (region, day, interval) without a trade is **filled**: the price of the
    same interval the day before (carried forward; before a region's first trade in that
    interval, the first one after it is carried back), volume 0; ``filled_cells`` counts them.

    The chain publishes no load and no load forecast: the **load** is the traded energy as
    MW (volume x 4 per quarter-hour) and the **load forecast** of a day is that load a week
    earlier (:data:`LOAD_PROXY_LAG_DAYS`; the first week takes the first day's)."""
    if not cells:
        raise ValidationError("no traded interval: the market history is empty")
    regions = tuple(sorted({c.region for c in cells}))
    start = min(c.day for c in cells)
    days = (max(c.day for c in cells) - start).days + 1
    price = np.zeros((len(regions), days, INTERVALS_PER_DAY), dtype=np.int64)
    volume_wh = np.zeros_like(price)
    seen = np.zeros(price.shape, dtype=bool)
    index = {name: r for r, name in enumerate(regions)}
    for c in cells:
        at = (index[c.region], (c.day - start).days, c.interval)
        price[at], volume_wh[at], seen[at] = c.price_fen_per_mwh, c.volume_wh, True
    _fill(price, seen)
    volume_mwh = np.rint(volume_wh / 1_000_000).astype(np.int64)
    load_mw = volume_mwh * (3600 // QUARTER_S)
    lagged = [load_mw[:, max(d - LOAD_PROXY_LAG_DAYS, 0)] for d in range(days + 1)]
    return PriceHistory(
        start,
        regions,
        price,
        volume_mwh,
        load_mw,
        np.stack(lagged, axis=1),
        filled_cells=int((~seen).sum()),
        source="market",
    )


def _fill(price: Cube, seen: npt.NDArray[np.bool_]) -> None:
    """Fill the unseen cells of ``price`` in place (see :func:`history_from_cells`)."""
    for r in range(price.shape[0]):
        for i in range(INTERVALS_PER_DAY):
            known = np.flatnonzero(seen[r, :, i])
            if known.size == 0:  # never traded at this time of day: the region's mean
                price[r, :, i] = int(np.rint(price[r][seen[r]].mean()))
                continue
            # the last known day at or before each day, else the first known day
            last = np.maximum.accumulate(np.where(seen[r, :, i], np.arange(price.shape[1]), -1))
            price[r, :, i] = price[r, np.where(last >= 0, last, known[0]), i]
