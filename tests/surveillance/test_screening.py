"""Indicator screening and per-window calibration: reproducible selection, documented
reasons, and scans refused on a window the model was not calibrated for."""

from __future__ import annotations

import numpy as np
import pytest

from node.surveillance.indicators import FEATURE_NAMES
from node.surveillance.model import (
    WINDOW_PERIODS,
    Source,
    SurveillanceError,
    SurveillanceModel,
    TrainingPlan,
    best_threshold,
    calibrated_threshold,
    dataset,
    train,
)
from node.surveillance.scan import build_report, scan
from node.surveillance.screening import IV_MIN, screen_by_value
from node.surveillance.simulate import simulate_preset

SMALL = TrainingPlan(
    train=[Source(preset="jibei-mini", seed=s) for s in (1, 2)],
    validation=[Source(preset="jibei-mini", seed=3)],
    test=[Source(preset="jibei-mini", seed=4)],
    days=4,
    window="day",
    window_periods=WINDOW_PERIODS["day"],
    n_estimators=20,
)


def test_screening_is_reproducible_same_seed_same_selection() -> None:
    first, second = train(SMALL), train(SMALL)
    assert first.metadata.screening == second.metadata.screening
    assert first.metadata.features == second.metadata.features == first.metadata.screening.selected
    assert first.metadata.honest_bounds == second.metadata.honest_bounds
    names = [i.name for i in first.metadata.screening.indicators]
    assert names == list(FEATURE_NAMES)
    # Every indicator carries its reason; discarded ones say why.
    for i in first.metadata.screening.indicators:
        assert i.reason.startswith("IV")
        if not i.kept:
            assert (
                "not predictive" in i.reason
                or "redundant" in i.reason
                or "no contribution" in i.reason
            )


def test_value_screening_discards_constant_and_duplicate_indicators() -> None:
    data = dataset([Source(preset="jibei-mini", seed=1)], 2, WINDOW_PERIODS["day"])
    x = data.x
    names = list(FEATURE_NAMES)
    j = names.index("trades")
    # A constant column and an exact copy of another.
    x[:, names.index("execution_failure_rate")] = 0.0
    x[:, names.index("listings")] = x[:, j] * 2.0
    result = screen_by_value(x, data.kinds, names)
    by_name = {i.name: i for i in result.indicators}
    assert not by_name["execution_failure_rate"].kept
    assert by_name["execution_failure_rate"].information_value < IV_MIN
    twins = [by_name["listings"], by_name["trades"]]
    assert sum(t.kept for t in twins) == 1
    assert any("redundant with" in t.reason for t in twins)
    assert screen_by_value(x, data.kinds, names) == result


def test_shipped_models_record_their_window() -> None:
    day, week = SurveillanceModel.load(window="day"), SurveillanceModel.load(window="week")
    assert (day.window, day.metadata.window_periods) == ("day", 4)
    assert (week.window, week.metadata.window_periods) == ("week", 28)
    assert day.metadata.plan.window == "day"
    assert week.metadata.plan.window == "week"
    for m in (day, week):
        assert m.metadata.features == m.metadata.screening.selected
        assert set(m.metadata.features) <= set(FEATURE_NAMES)
        # Held-out scenarios are disjoint from the training ones.
        assert not set(m.metadata.plan.test) & set(m.metadata.plan.train)


def test_each_window_is_calibrated_on_its_own_windows() -> None:
    day, week = SurveillanceModel.load(window="day"), SurveillanceModel.load(window="week")
    # The threshold of each was chosen on validation windows of its own length: the same
    # 14 simulated days give 14 day windows per node and 2 week windows.
    assert day.metadata.validation.examples == 7 * week.metadata.validation.examples
    assert day.metadata.test.examples == 7 * week.metadata.test.examples
    assert day.metadata.threshold_ppm != week.metadata.threshold_ppm
    # The day plan is its own (more, deeper trees); both publish their honest bounds.
    assert (day.metadata.plan.n_estimators, day.metadata.plan.max_depth) == (300, 4)
    assert (week.metadata.plan.n_estimators, week.metadata.plan.max_depth) == (150, 3)
    assert day.metadata.honest_bounds
    assert week.metadata.honest_bounds


def test_a_scan_of_a_window_the_model_was_not_calibrated_for_is_refused() -> None:
    history = simulate_preset("jibei-mini", 41, days=2).history
    day = SurveillanceModel.load(window="day")
    with pytest.raises(SurveillanceError, match="calibrated for day windows"):
        scan(history, day, "week")
    week = SurveillanceModel.load(window="week")
    with pytest.raises(SurveillanceError, match="calibrated for week windows"):
        scan(history, week, "day")
    node = history.nodes[0].address
    with pytest.raises(SurveillanceError, match="not for a week window"):
        build_report(history, node, day, "week")
    result = scan(history, day, "day")
    assert result.window == "day"
    assert (result.first_period, result.last_period) == (4, 7)


def test_the_threshold_is_raised_to_the_precision_target_when_best_f1_misses_it() -> None:
    scores = np.array([900, 800, 700, 600, 500, 400, 300])
    y = np.array([1, 1, 0, 1, 1, 0, 0])
    # Best F1 flags the top five (4 of 5 = 0.8 precision): already at the target.
    assert best_threshold(scores, y) == calibrated_threshold(scores, y) == 500
    y_noisy = np.array([1, 0, 1, 0, 1, 1, 0])
    # Best F1 flags six (4 of 6); no lower cut reaches 0.8 precision until 900 (1 of 1):
    # the threshold rises to 900.
    assert best_threshold(scores, y_noisy) == 400
    assert calibrated_threshold(scores, y_noisy) == 900
