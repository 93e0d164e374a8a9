"""REGULATOR's evidence rule: a high score alone is dismissed; a score at the threshold with
one violation kind's pattern beyond the model's published honest bounds is confirmed."""

from __future__ import annotations

from node.surveillance.indicators import FEATURE_NAMES
from node.surveillance.model import SurveillanceModel
from node.surveillance.ruling import KIND_INDICATORS, MIN_SUPPORT, rule, supporting

BOUNDS = {n: 100_000 for n in FEATURE_NAMES}


def test_a_high_score_without_a_violation_pattern_is_dismissed() -> None:
    features = {n: 0 for n in FEATURE_NAMES} | {"reciprocal_volume_share": 900_000}
    ruling = rule(990_000, 400_000, features, BOUNDS)
    assert not ruling.confirmed
    assert (ruling.kind, ruling.beyond) == ("wash_trading", ["reciprocal_volume_share"])
    assert "dismissed" in ruling.describe()


def test_a_pattern_at_the_threshold_is_confirmed_and_named() -> None:
    features = {n: 0 for n in FEATURE_NAMES} | {
        "rating_1_given_share": 500_000,
        "partner_low_rating_share": 400_000,
    }
    ruling = rule(400_000, 400_000, features, BOUNDS)
    assert ruling.confirmed
    assert ruling.kind == "rating_ring"
    assert ruling.beyond == ["rating_1_given_share", "partner_low_rating_share"]
    # Below the registered threshold the same pattern is dismissed.
    assert not rule(399_999, 400_000, features, BOUNDS).confirmed


def test_every_kind_indicator_is_in_the_schema_and_the_shipped_bounds() -> None:
    assert MIN_SUPPORT >= 2
    for names in KIND_INDICATORS.values():
        assert set(names) <= set(FEATURE_NAMES)
    for window in ("day", "week"):
        bounds = SurveillanceModel.load(window=window).metadata.honest_bounds
        assert set(bounds) == set(FEATURE_NAMES)
        zero = {n: 0 for n in FEATURE_NAMES}
        assert all(not v for v in supporting(zero, bounds).values())
