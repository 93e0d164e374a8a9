from __future__ import annotations

import pytest

from ledger.scenario import PRESETS, ViolationKind, generate, summarize


def test_same_seed_same_scenario_other_seed_other_scenario() -> None:
    a = generate("jibei-mini", 7).model_dump_json()
    assert a == generate("jibei-mini", 7).model_dump_json()
    assert a != generate("jibei-mini", 8).model_dump_json()


def test_full_preset_follows_the_market_figures() -> None:
    summary = summarize(generate("jibei", 1))
    assert summary["by_kind"] == {
        "coal": 29,
        "wind": 165,
        "solar": 90,
        "consumer": 2_749,
        "retailer": 480,
    }
    assert summary["coal_mw"] == 14_223
    assert summary["wind_mw"] == 26_926
    assert summary["solar_mw"] == 12_842
    assert summary["consumer_metering_points"] == 11_903
    assert summary["clean_heating"] == 694


def test_mini_preset_has_about_sixty_nodes_and_every_violation_kind() -> None:
    scenario = generate("jibei-mini", 3)
    assert 55 <= len(scenario.participants) <= 65
    kinds = {p.violation for p in scenario.participants if p.violation is not None}
    assert kinds == set(ViolationKind)
    supply = sum(sum(p.profile_wh) for p in scenario.participants if p.side == "seller")
    demand = sum(sum(p.profile_wh) for p in scenario.participants if p.side == "buyer")
    assert demand < supply < 2 * demand


def test_profiles_are_quarter_hours_within_capacity() -> None:
    for p in generate("jibei-mini", 5).participants:
        assert len(p.profile_wh) == 96
        assert all(0 <= wh <= p.capacity_kw * 250 for wh in p.profile_wh)
        if p.kind == "solar":
            assert p.profile_wh[0] == 0  # no sun at midnight


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown preset 'atlantis'"):
        generate("atlantis", 1)
    assert set(PRESETS) == {"jibei", "jibei-mini"}
