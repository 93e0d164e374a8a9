"""Consumption behaviour: clusters chosen by the silhouette on data of known structure,
flags, and advice whose saving is the difference of two bills of the bill engine."""

from __future__ import annotations

import numpy as np
import pytest

from ledger.analytics.consumption import (
    PEAK_KINDS,
    advise,
    cluster_profiles,
    daily_profile,
    meter_profiles,
    reach_standard,
    season_windows,
    shift_to_valley,
)
from ledger.analytics.population import ARCHETYPES, sample_consumer, sample_population
from ledger.retail.bill import compute_bill, counted_readings
from ledger.retail.months import local_minute_of_day
from ledger.retail.packages import PeriodKind, TimeOfUse
from ledger.retail.readings import Readings
from ledger.retail.samples import sample_rates
from ledger.units import WH_PER_MWH, power_factor_hundredths

MONTH = 202606  # outside Jul-Aug: peak, flat and valley, no sharp peak


def _groups(labels: list[int], truth: list[int]) -> bool:
    """Whether ``labels`` partition the items exactly as ``truth`` does."""
    pairs = set(zip(labels, truth, strict=True))
    return len(pairs) == len(set(labels)) == len(set(truth))


def test_three_known_shapes_give_k_3_by_the_silhouette() -> None:
    rng = np.random.default_rng(4)
    hours = np.arange(96) / 4
    shapes = [
        np.exp(-(((hours - 10) / 2) ** 2)),
        np.exp(-(((hours - 20) / 1.5) ** 2)),
        np.exp(-(((hours - 3) / 2) ** 2)),
    ]
    truth = [i % 3 for i in range(30)]
    days = np.stack([(0.3 + shapes[t]) * 1_000 * rng.normal(1, 0.05, 96) for t in truth])
    profiles = np.stack([daily_profile(d.astype(np.int64)) for d in days])
    result = cluster_profiles(profiles, seed=1)
    assert result.k == 3
    assert result.k == max(result.silhouettes, key=lambda k: result.silhouettes[k])
    assert sorted(result.silhouettes) == list(range(2, 9))
    assert _groups(result.labels, truth)
    assert np.allclose(profiles.mean(axis=1), 1.0)  # normalised: shape, not size


def test_sample_population_clusters_into_its_four_archetypes() -> None:
    population = sample_population(20, MONTH, seed=2)
    rows = [c.readings for c in population]
    names, profiles = meter_profiles(_merge(rows))
    result = cluster_profiles(profiles, seed=0)
    truth = [list(ARCHETYPES).index(c.archetype) for c in population]
    assert result.k == len(ARCHETYPES)
    assert _groups(result.labels, truth)
    assert names == [c.readings.meter_ids[0] for c in population]


def _merge(parts: list[Readings]) -> Readings:
    ids = tuple(m for r in parts for m in r.meter_ids)
    offset = np.cumsum([0] + [len(r.meter_ids) for r in parts[:-1]])
    return Readings(
        ids,
        np.concatenate([r.meter + o for r, o in zip(parts, offset, strict=True)]),
        *(
            np.concatenate([getattr(r, c) for r in parts])
            for c in ("interval_start", "import_wh", "export_wh", "reactive_varh")
        ),
    )


def test_too_few_consumers_to_cluster() -> None:
    from ledger.errors import ValidationError

    with pytest.raises(ValidationError, match="at least 3"):
        cluster_profiles(np.ones((2, 96)))


def test_shift_advice_saving_is_the_bill_difference_to_the_fen() -> None:
    c = sample_consumer(1, MONTH, seed=5)  # evening peak, commercial, time of use
    rates = sample_rates()
    report = advise(c.account, c.readings, c.package, rates, MONTH)
    assert "peak_heavy" in report.flags
    shift = next(a for a in report.advice if a.kind == "shift")
    counted = counted_readings(c.account, c.readings, MONTH)
    season = season_windows(c.package, MONTH)
    kinds = [season.kind_at(local_minute_of_day(int(t))) for t in counted.interval_start]
    peak = np.asarray([k in PEAK_KINDS for k in kinds])
    valley = np.asarray([k == PeriodKind.valley for k in kinds])
    peak_wh = int(counted.import_wh[peak].sum())
    shift_wh = peak_wh * 20 // 100 // 1_000 * 1_000
    moved = shift_to_valley(counted, season, shift_wh)
    # energy moved exactly: peak down and valley up by shift_wh, the total unchanged
    assert int(moved.import_wh[peak].sum()) == peak_wh - shift_wh
    assert int(moved.import_wh[valley].sum()) == int(counted.import_wh[valley].sum()) + shift_wh
    assert int(moved.import_wh.sum()) == int(counted.import_wh.sum())
    before = compute_bill(c.account, c.readings, c.package, rates, MONTH)
    after = compute_bill(c.account, moved, c.package, rates, MONTH)
    assert shift.saving_fen == before.total_fen - after.total_fen
    assert (shift.bill_before_fen, shift.bill_after_fen) == (before.total_fen, after.total_fen)
    assert f"{shift_wh // 1_000:,} kWh" in shift.text
    # only the peak and valley energy lines change: the rate gap times the energy, to 1 fen
    assert isinstance(c.package.pricing, TimeOfUse)
    rate = c.package.pricing.rates_fen_per_mwh
    gap = shift_wh * (rate[PeriodKind.peak] - rate[PeriodKind.valley]) / WH_PER_MWH
    assert abs(shift.saving_fen - gap) <= 1


def test_power_factor_advice_reaches_the_standard_and_is_priced_by_the_bill() -> None:
    population = sample_population(8, MONTH, seed=5)
    rates = sample_rates()
    low = [
        (c, r)
        for c in population
        if "low_power_factor" in (r := advise(c.account, c.readings, c.package, rates, MONTH)).flags
    ]
    assert low, "the sample population has consumers below their standard"
    for c, report in low:
        assert c.account.pf_standard_milli is not None
        assert report.power_factor_hundredths is not None
        assert report.power_factor_hundredths < c.account.pf_standard_milli // 10
        pf_advice = next(a for a in report.advice if a.kind == "power_factor")
        counted = counted_readings(c.account, c.readings, MONTH)
        fixed = reach_standard(counted, c.account.pf_standard_milli)
        after = compute_bill(c.account, fixed, c.package, rates, MONTH)
        assert after.power_factor_hundredths == c.account.pf_standard_milli // 10
        assert (
            power_factor_hundredths(
                int(fixed.import_wh.sum()), int(np.abs(fixed.reactive_varh).sum())
            )
            == after.power_factor_hundredths
        )
        assert pf_advice.bill_after_fen == after.total_fen
        assert pf_advice.saving_fen == report.bill_fen - after.total_fen > 0


def test_night_load_is_not_peak_heavy() -> None:
    c = sample_consumer(2, MONTH, seed=5)  # night heating, residential, unassessed
    report = advise(c.account, c.readings, c.package, sample_rates(), MONTH)
    assert report.flags == []
    assert report.peak_ratio < 1
