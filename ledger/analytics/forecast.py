"""Day-ahead price forecast per region, with its p10-p90 band, and its back-test.

For a day ``d`` and each region, the average price of each of the 96 quarter-hours is
forecast from what is known the day before: the interval of the day, the day of the week,
the region, the published load forecast of ``d`` (that interval's and the day's mean), and
the market's own history: the same interval's price yesterday (``d - 1``) and a week ago
(``d - 7``), yesterday's mean price, the same interval's volume and load yesterday. Three
:class:`~sklearn.ensemble.HistGradientBoostingRegressor` models with quantile loss give
p10, p50 (the forecast) and p90; the three are sorted per interval so the band never
crosses.

The back-test trains on the first days and forecasts each held-out day (never trained on)
from its own day-before facts; its MAPE is compared with the **seasonal-naive** baseline,
the same interval one week earlier. Prices are fen/MWh; forecasts are rounded to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from ledger.analytics.history import PriceHistory
from ledger.errors import ValidationError
from ledger.scenario import INTERVALS_PER_DAY

Matrix = npt.NDArray[np.float64]
Prices = npt.NDArray[np.int64]
#: The quantiles fitted: the band's low edge, the forecast, the band's high edge.
QUANTILES = (0.1, 0.5, 0.9)
#: Days of history a forecast row looks back (the seasonal lag).
LOOKBACK_DAYS = 7
FEATURES = (
    "region",
    "interval",
    "weekday",
    "load_forecast_mw",
    "day_load_forecast_mw",
    "price_yesterday",
    "price_week_ago",
    "mean_price_yesterday",
    "volume_yesterday",
    "load_yesterday",
)
#: Gradient boosting settings (deterministic: no early stopping, seeded).
MAX_ITER = 200
LEARNING_RATE = 0.06
MAX_LEAF_NODES = 31
#: OpenMP threads of the boosting: one. On a small shared machine more threads contend and
#: fitting is about ten times slower, not faster.
THREADS = 1


def features(history: PriceHistory, day: int) -> Matrix:
    """The rows (regions x 96, region-major) that forecast day ``day`` (needs
    ``LOOKBACK_DAYS <= day <= history.days``: only days before ``day`` are read)."""
    if not LOOKBACK_DAYS <= day <= history.days:
        raise ValidationError(
            f"day {day} cannot be forecast: need {LOOKBACK_DAYS} days before it and its "
            f"load forecast (history has {history.days} days)"
        )
    regions = len(history.regions)
    slots = np.arange(INTERVALS_PER_DAY)
    price, load_fc = history.price_fen_per_mwh, history.load_forecast_mw
    cols = [
        np.repeat(np.arange(regions), INTERVALS_PER_DAY),
        np.tile(slots, regions),
        np.full(regions * INTERVALS_PER_DAY, history.day(day).weekday()),
        load_fc[:, day].ravel(),
        np.repeat(load_fc[:, day].mean(axis=1), INTERVALS_PER_DAY),
        price[:, day - 1].ravel(),
        price[:, day - LOOKBACK_DAYS].ravel(),
        np.repeat(price[:, day - 1].mean(axis=1), INTERVALS_PER_DAY),
        history.volume_mwh[:, day - 1].ravel(),
        history.load_mw[:, day - 1].ravel(),
    ]
    return np.stack(cols, axis=1).astype(np.float64)


def _training_set(history: PriceHistory, days: range) -> tuple[Matrix, Matrix]:
    xs = [features(history, d) for d in days]
    ys = [history.price_fen_per_mwh[:, d].ravel() for d in days]
    return np.concatenate(xs), np.concatenate(ys).astype(np.float64)


@dataclass
class Forecaster:
    """One fitted model per quantile (:data:`QUANTILES`)."""

    models: dict[float, HistGradientBoostingRegressor] = field(default_factory=dict)
    trained_days: int = 0

    def predict(self, history: PriceHistory, day: int) -> DayForecast:
        """The forecast of day ``day`` of ``history`` (reads only the days before it)."""
        x = features(history, day)
        shape = (len(history.regions), INTERVALS_PER_DAY)
        with threadpool_limits(limits=THREADS):
            raw = np.stack([self.models[q].predict(x) for q in QUANTILES])
        low, mid, high = np.sort(raw, axis=0)
        as_int = [np.rint(a).astype(np.int64).reshape(shape) for a in (low, mid, high)]
        return DayForecast(history.day(day), history.regions, *as_int)


@dataclass(frozen=True)
class DayForecast:
    """A day's forecast per region x interval (fen/MWh): band low, forecast, band high."""

    day: date
    regions: tuple[str, ...]
    p10_fen_per_mwh: Prices
    p50_fen_per_mwh: Prices
    p90_fen_per_mwh: Prices

    def region_rows(self, region: int) -> list[dict[str, int]]:
        """The region's 96 intervals as rows (``interval``, ``p10``, ``p50``, ``p90``)."""
        return [
            {
                "interval": i,
                "p10_fen_per_mwh": int(self.p10_fen_per_mwh[region, i]),
                "p50_fen_per_mwh": int(self.p50_fen_per_mwh[region, i]),
                "p90_fen_per_mwh": int(self.p90_fen_per_mwh[region, i]),
            }
            for i in range(INTERVALS_PER_DAY)
        ]


def fit(history: PriceHistory, days: range | None = None, seed: int = 0) -> Forecaster:
    """Fit the quantile models on the forecast rows of ``days`` (default: every day with a
    week of history before it)."""
    days = days if days is not None else range(LOOKBACK_DAYS, history.days)
    if len(days) < 1:
        raise ValidationError(
            f"need more than {LOOKBACK_DAYS} days of history to train, got {history.days}"
        )
    x, y = _training_set(history, days)
    out = Forecaster(trained_days=len(days))
    with threadpool_limits(limits=THREADS):
        for q in QUANTILES:
            out.models[q] = _model(q, seed).fit(x, y)
    return out


def _model(q: float, seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        loss="quantile",
        quantile=q,
        max_iter=MAX_ITER,
        learning_rate=LEARNING_RATE,
        max_leaf_nodes=MAX_LEAF_NODES,
        categorical_features=[0],
        early_stopping=False,
        random_state=seed,
    )


def forecast_next_day(history: PriceHistory, seed: int = 0) -> DayForecast:
    """Train on the whole history and forecast the day after it."""
    return fit(history, seed=seed).predict(history, history.days)


def seasonal_naive(history: PriceHistory, day: int) -> Prices:
    """The baseline: each interval's price one week before ``day`` (regions x 96)."""
    return history.price_fen_per_mwh[:, day - LOOKBACK_DAYS]


def mape_percent(forecast: Prices, actual: Prices) -> float:
    """Mean absolute percentage error, in percent."""
    return float(np.mean(np.abs(forecast - actual) / actual) * 100)


@dataclass(frozen=True)
class Backtest:
    """A back-test's figures: the model's and the baseline's MAPE (percent, over every
    held-out region and interval), the share of actual prices inside [p10, p90], per
    region MAPEs."""

    train_days: int
    test_days: int
    mape: float
    baseline_mape: float
    band_coverage: float
    region_mape: dict[str, float]
    region_baseline_mape: dict[str, float]
    last: DayForecast
    """The forecast of the last held-out day (to draw against the actual prices)."""

    @property
    def beats_baseline(self) -> bool:
        return self.mape < self.baseline_mape


def backtest(history: PriceHistory, holdout_days: int, seed: int = 0) -> Backtest:
    """Train on the days before the last ``holdout_days`` and forecast each held-out day."""
    first_test = history.days - holdout_days
    if holdout_days < 1 or first_test <= LOOKBACK_DAYS:
        raise ValidationError(
            f"history of {history.days} days cannot hold out {holdout_days}: "
            f"{LOOKBACK_DAYS + 1} days or more must stay for training"
        )
    model = fit(history, range(LOOKBACK_DAYS, first_test), seed)
    tests = range(first_test, history.days)
    preds = [model.predict(history, d) for d in tests]
    actual = np.stack([history.price_fen_per_mwh[:, d] for d in tests], axis=1)
    p50 = np.stack([p.p50_fen_per_mwh for p in preds], axis=1)
    low = np.stack([p.p10_fen_per_mwh for p in preds], axis=1)
    high = np.stack([p.p90_fen_per_mwh for p in preds], axis=1)
    naive = np.stack([seasonal_naive(history, d) for d in tests], axis=1)
    return Backtest(
        train_days=len(range(LOOKBACK_DAYS, first_test)),
        test_days=holdout_days,
        mape=mape_percent(p50, actual),
        baseline_mape=mape_percent(naive, actual),
        band_coverage=float(np.mean((actual >= low) & (actual <= high))),
        region_mape={
            name: mape_percent(p50[r], actual[r]) for r, name in enumerate(history.regions)
        },
        region_baseline_mape={
            name: mape_percent(naive[r], actual[r]) for r, name in enumerate(history.regions)
        },
        last=preds[-1],
    )
