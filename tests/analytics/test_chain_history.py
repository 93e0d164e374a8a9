"""The market's own history (:func:`ledger.analytics.history.history_from_cells`): the local
day and quarter-hour of an instant, the dense cube, the documented filling of quarter-hours
nobody traded in, the load proxies, and the volume-weighted average's rounding."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from ledger.analytics.history import (
    LOAD_PROXY_LAG_DAYS,
    PriceCell,
    generate_history,
    history_from_cells,
    local_slot,
)
from ledger.errors import ValidationError
from ledger.units import average_rate_fen_per_mwh

DAY = date(2026, 6, 1)


def test_local_slot_is_utc_plus_8() -> None:
    midnight = int(datetime(2026, 6, 1, tzinfo=timezone(timedelta(hours=8))).timestamp())
    assert local_slot(midnight) == (DAY, 0)
    assert local_slot(midnight - 1) == (DAY - timedelta(days=1), 95)
    assert local_slot(midnight + 899) == (DAY, 0)
    assert local_slot(midnight + 13 * 3600 + 900) == (DAY, 53)


def test_average_rate_rounds_half_up() -> None:
    # 1 MWh at 30,000 and 3 MWh at 30,001: 120,003 / 4 = 30,000.75 -> 30,001
    assert average_rate_fen_per_mwh(30_000 * 1_000_000 + 30_001 * 3_000_000, 4_000_000) == 30_001
    assert average_rate_fen_per_mwh(5, 2) == 3  # 2.5 -> 3
    assert average_rate_fen_per_mwh(4, 3) == 1
    with pytest.raises(ValueError, match="positive energy"):
        average_rate_fen_per_mwh(1, 0)


def test_cells_round_trip_a_generated_history() -> None:
    source = generate_history(9, seed=5, regions=2)
    cells = [
        PriceCell(
            name,
            source.day(d),
            i,
            int(source.price_fen_per_mwh[r, d, i]),
            int(source.volume_mwh[r, d, i]) * 1_000_000,
            1,
        )
        for r, name in enumerate(source.regions)
        for d in range(source.days)
        for i in range(96)
    ]
    history = history_from_cells(cells[::-1])  # order does not matter
    assert history.source == "market"
    assert history.filled_cells == 0
    assert history.start == source.start
    assert history.regions == tuple(sorted(source.regions))
    order = [source.regions.index(name) for name in history.regions]
    assert np.array_equal(history.price_fen_per_mwh, source.price_fen_per_mwh[order])
    assert np.array_equal(history.volume_mwh, source.volume_mwh[order])
    assert np.array_equal(history.load_mw, 4 * history.volume_mwh)
    # the load forecast of a day is the load a week earlier (the first week: the first day's)
    assert history.load_forecast_mw.shape[1] == history.days + 1
    for d in range(history.days + 1):
        lag = max(d - LOAD_PROXY_LAG_DAYS, 0)
        assert np.array_equal(history.load_forecast_mw[:, d], history.load_mw[:, lag])


def test_missing_quarter_hours_are_filled_and_counted() -> None:
    cells = [
        PriceCell("North", DAY, 10, 30_000, 2_000_000, 2),
        PriceCell("North", DAY + timedelta(days=2), 10, 32_000, 1_000_000, 1),
        PriceCell("North", DAY + timedelta(days=2), 11, 35_000, 1_000_000, 1),
        PriceCell("South", DAY + timedelta(days=1), 10, 40_000, 3_000_000, 1),
    ]
    h = history_from_cells(cells)
    assert (h.regions, h.days, h.start) == (("North", "South"), 3, DAY)
    assert h.filled_cells == 2 * 3 * 96 - len(cells)
    north, south = h.price_fen_per_mwh
    assert north[:, 10].tolist() == [30_000, 30_000, 32_000]  # carried from the day before
    assert north[:, 11].tolist() == [35_000, 35_000, 35_000]  # before its first: carried back
    # never traded at this time of day: the region's mean of its traded cells
    assert north[:, 0].tolist() == [32_333] * 3
    assert south[:, 10].tolist() == [40_000] * 3
    assert h.volume_mwh[0, :, 10].tolist() == [2, 0, 1]  # a filled cell traded nothing
    assert h.head(2).source == "market"


def test_empty_history_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        history_from_cells([])
