"""The day-ahead forecast: its back-test on held-out days beats the seasonal-naive
baseline (both computed here, on days the model never trained on)."""

from __future__ import annotations

import numpy as np
import pytest

from ledger.analytics.forecast import (
    LOOKBACK_DAYS,
    backtest,
    features,
    fit,
    forecast_next_day,
    mape_percent,
    seasonal_naive,
)
from ledger.analytics.history import generate_history
from ledger.errors import ValidationError


def test_history_is_seeded_and_has_weekly_seasonality() -> None:
    a, b = generate_history(28, 3, 2), generate_history(28, 3, 2)
    assert np.array_equal(a.price_fen_per_mwh, b.price_fen_per_mwh)
    assert a.price_fen_per_mwh.shape == (2, 28, 96)
    assert a.load_forecast_mw.shape == (2, 29, 96)  # one day more: the day to forecast
    assert a.price_fen_per_mwh.dtype == np.int64
    weekday = [a.day(d).weekday() for d in range(28)]
    load = a.load_mw[0].mean(axis=1)
    weekend = np.mean([load[d] for d in range(28) if weekday[d] >= 5])
    weekdays = np.mean([load[d] for d in range(28) if weekday[d] < 5])
    assert weekend < 0.92 * weekdays
    # load-driven prices: the day's price follows the day's load
    assert np.corrcoef(a.load_mw[0].ravel(), a.price_fen_per_mwh[0].ravel())[0, 1] > 0.5


def test_features_read_only_the_days_before() -> None:
    history = generate_history(20, 1, 2)
    x = features(history, 15)
    changed = history.price_fen_per_mwh.copy()
    changed[:, 15:] += 10_000  # the day forecast and after it
    from dataclasses import replace

    assert np.array_equal(features(replace(history, price_fen_per_mwh=changed), 15), x)
    with pytest.raises(ValidationError, match="cannot be forecast"):
        features(history, LOOKBACK_DAYS - 1)


def test_backtest_on_held_out_days_beats_the_seasonal_naive_baseline() -> None:
    history = generate_history(35, 11, 3)
    result = backtest(history, holdout_days=7, seed=11)
    assert (result.train_days, result.test_days) == (35 - 7 - LOOKBACK_DAYS, 7)
    # the baseline recomputed here from the held-out days' prices a week earlier
    held = range(28, 35)
    actual = np.stack([history.price_fen_per_mwh[:, d] for d in held], axis=1)
    naive = np.stack([seasonal_naive(history, d) for d in held], axis=1)
    assert result.baseline_mape == pytest.approx(mape_percent(naive, actual))
    # the model, retrained on the training days only, gives the same held-out error
    model = fit(history, range(LOOKBACK_DAYS, 28), seed=11)
    p50 = np.stack([model.predict(history, d).p50_fen_per_mwh for d in held], axis=1)
    assert result.mape == pytest.approx(mape_percent(p50, actual))
    assert result.beats_baseline
    assert result.mape < 0.8 * result.baseline_mape
    assert 0.5 < result.band_coverage <= 1.0
    assert set(result.region_mape) == set(history.regions)


def test_forecast_of_the_next_day_has_an_ordered_band() -> None:
    history = generate_history(21, 5, 2)
    day = forecast_next_day(history, seed=5)
    assert day.day == history.day(21)
    assert day.p50_fen_per_mwh.shape == (2, 96)
    assert np.all(day.p10_fen_per_mwh <= day.p50_fen_per_mwh)
    assert np.all(day.p50_fen_per_mwh <= day.p90_fen_per_mwh)
    assert np.all(day.p90_fen_per_mwh > day.p10_fen_per_mwh)


def test_backtest_refuses_a_holdout_that_leaves_no_training() -> None:
    with pytest.raises(ValidationError, match="cannot hold out"):
        backtest(generate_history(14, 1, 1), holdout_days=7)
