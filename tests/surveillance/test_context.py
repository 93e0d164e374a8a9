"""The day model scored with trailing context: what it records, what it refuses, and that a
report on it is recomputed from its two vectors."""

from __future__ import annotations

import pytest

from node.surveillance.indicators import FEATURE_NAMES, FeatureVector
from node.surveillance.model import (
    CONTEXT_PREFIX,
    DEFAULT_PLANS,
    WINDOW_PERIODS,
    SurveillanceError,
    SurveillanceModel,
    dataset,
    input_names,
    model_id_of,
    pointer_name,
    train,
)
from node.surveillance.scan import build_report, report_vectors, scan
from node.surveillance.simulate import SimulatedMarket, simulate_preset
from tests.surveillance.test_screening import SMALL

SMALL_CONTEXT = SMALL.model_copy(update={"context_periods": WINDOW_PERIODS["day"]})


@pytest.fixture(scope="module")
def model() -> SurveillanceModel:
    return SurveillanceModel.load(window="day", context=True)


@pytest.fixture(scope="module")
def market() -> SimulatedMarket:
    return simulate_preset("jibei-mini", 41, days=7)


def test_pointer_names() -> None:
    assert pointer_name("week") == "CURRENT"
    assert pointer_name("day") == "CURRENT-day"
    assert pointer_name("day", context=True) == "CURRENT-day-context"


def test_the_shipped_context_model_records_its_window_and_context(
    model: SurveillanceModel,
) -> None:
    meta = model.metadata
    assert (meta.window, meta.window_periods, meta.context_periods) == ("day", 4, 24)
    assert meta.plan == DEFAULT_PLANS["day-context"]
    assert meta.features == meta.screening.selected
    assert set(meta.features) <= set(input_names(meta.context_periods))
    assert any(f.startswith(CONTEXT_PREFIX) for f in meta.features)
    # The day model without context is still the one CURRENT-day names.
    alone = SurveillanceModel.load(window="day")
    assert alone.context_periods == 0
    assert alone.model_id != model.model_id


def test_a_scan_without_the_trailing_context_is_refused(model: SurveillanceModel) -> None:
    short = simulate_preset("jibei-mini", 41, days=6).history
    with pytest.raises(SurveillanceError, match="24 periods of trailing context"):
        scan(short, model, "day")
    with pytest.raises(SurveillanceError, match="trailing context"):
        build_report(short, short.nodes[0].address, model, "day")
    vector = next(iter(scan_vectors(short).values()))
    with pytest.raises(SurveillanceError, match="needs each vector's trailing context"):
        model.score(vector)


def scan_vectors(history: object) -> dict[str, FeatureVector]:
    from node.surveillance.indicators import compute_features
    from node.surveillance.scan import scan_window

    assert hasattr(history, "window")
    return compute_features(scan_window(history, 4))  # type: ignore[arg-type]


def test_a_context_report_is_recomputed_from_its_two_vectors(
    model: SurveillanceModel, market: SimulatedMarket
) -> None:
    result = scan(market.history, model, "day")
    assert (result.first_period, result.last_period) == (24, 27)
    suspect = next(a for a, k in market.labels.items() if k is not None)
    report = build_report(market.history, suspect, model, "day")
    assert report.context_first_period == 0
    assert report.context_features is not None
    vector, context = report_vectors(report)
    assert context is not None
    assert context.hash == report.context_feature_hash
    assert model.score(vector, context) == report.score_ppm
    assert {r.node: r.score_ppm for r in result.rows}[report.node] == report.score_ppm


def test_context_training_is_reproducible_and_cuts_only_days_with_context() -> None:
    data = dataset(SMALL_CONTEXT.train[:1], 4, 4, context_periods=4)
    plain = dataset(SMALL_CONTEXT.train[:1], 4, 4)
    # Four days give four day windows alone, three with a day of context before them.
    assert len(data.vectors) * 4 == len(plain.vectors) * 3
    assert data.x.shape[1] == 2 * len(FEATURE_NAMES)
    first, second = train(SMALL_CONTEXT), train(SMALL_CONTEXT)
    assert first.data == second.data
    assert model_id_of(first.data) == first.metadata.model_id
    assert first.metadata.context_periods == 4


def test_the_rule_reads_the_context_vector_against_its_ctx_bounds(
    model: SurveillanceModel,
) -> None:
    from node.surveillance.ruling import rule

    bounds = model.metadata.honest_bounds
    assert set(bounds) == set(input_names(model.context_periods))
    names = ("rating_1_given_share", "low_rating_executed_share")
    quiet = {n: 0 for n in FEATURE_NAMES}
    ring = quiet | {n: bounds[CONTEXT_PREFIX + n] + 1 for n in names}
    threshold = model.threshold_ppm
    # The day alone shows nothing; its context shows the ring's pattern.
    assert not rule(threshold, threshold, quiet, bounds).confirmed
    ruling = rule(threshold, threshold, quiet, bounds, ring)
    assert ruling.confirmed
    assert (ruling.kind, ruling.beyond) == ("rating_ring", list(names))
