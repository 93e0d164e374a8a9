"""The reputation formula: the integer mirror against the documented real-valued formula,
edge cases, and the contract's decay factor against the mirror (exact)."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import pytest

from ledger.clients.reputation import (
    DAY_DECAY_WAD,
    WAD,
    ReputationState,
    decay_factor_wad,
    positive_weight_wad,
    reputation_points,
)
from ledger.errors import ValidationError
from tests.reputation.conftest import Rep


def real_formula(pos: float, n: float, t: float, d: float) -> float:
    s = (pos + 2.5) / (n + 5)
    a = t / (t + 10)
    return max(0.0, 1000 * s * (0.7 + 0.3 * a) - math.floor(d))


def state(scores: list[int], trades: int | None = None, penalty: int = 0) -> ReputationState:
    st = ReputationState()
    for k in scores:
        st = st.rated(k).traded()
    for _ in range((trades or len(scores)) - len(scores)):
        st = st.traded()
    return st.penalized(penalty) if penalty else st


def test_no_history_is_the_prior_only() -> None:
    # s = 2.5 / 5 = 0.5, A = 0: R = 1000 x 0.5 x 0.7
    assert ReputationState().reputation == 350


def test_one_rating_moves_little() -> None:
    # one 5: s = 3.5 / 6, A = 1 / 11 -> 583.33 x 0.72727 = 424.24
    assert state([5]).reputation == 424
    # one 1: s = 2.5 / 6 -> 416.67 x 0.72727 = 303.03
    assert state([1]).reputation == 303
    # one 3 (neutral, weight 0.5): s = 0.5 exactly
    assert state([3]).reputation == 363


def test_many_ratings_approach_the_share() -> None:
    assert state([5] * 20).reputation == 809  # s = 0.9, A = 2/3 (rounded down)
    assert state([5] * 100).reputation == 949
    assert state([1] * 20).reputation == 89
    assert state([4] * 50).reputation == 690  # weight 0.75 each


def test_activity_without_ratings_only_amplifies_the_prior() -> None:
    assert state([], trades=10).reputation == 425  # 500 x (0.7 + 0.15)
    assert state([], trades=10_000).reputation < 500


def test_penalty_is_subtracted_and_floors_at_zero() -> None:
    assert state([5] * 20, penalty=300).reputation == 509
    assert state([1] * 5, penalty=1000).reputation == 0


@pytest.mark.parametrize(
    ("scores", "trades", "penalty"),
    [
        ([], 0, 0),
        ([5], 1, 0),
        ([1, 2, 3, 4, 5], 7, 0),
        ([5] * 37 + [1] * 3, 55, 12),
        ([2] * 200, 200, 0),
        ([5] * 1000, 1500, 999),
    ],
)
def test_mirror_matches_the_real_formula(scores: list[int], trades: int, penalty: int) -> None:
    st = state(scores, trades, penalty)
    pos = sum((k - 1) / 4 for k in scores)
    exact = real_formula(pos, len(scores), trades, penalty)
    assert st.reputation == math.floor(exact) or abs(st.reputation - exact) < 1


def test_positive_weight_and_bounds() -> None:
    assert [positive_weight_wad(k) for k in range(1, 6)] == [
        0,
        WAD // 4,
        WAD // 2,
        3 * WAD // 4,
        WAD,
    ]
    for bad in (0, 6):
        with pytest.raises(ValidationError):
            positive_weight_wad(bad)
    # the prior and the activity limit keep every real history below 1000
    assert reputation_points(10**30, 10**30, 10**30, 0) == 999


def test_decay_halves_every_90_days() -> None:
    with localcontext() as dc:
        dc.prec = 50
        assert int(Decimal(2) ** (Decimal(-1) / 90) * WAD) == DAY_DECAY_WAD
    assert decay_factor_wad(0) == WAD
    assert abs(decay_factor_wad(90) - WAD // 2) < 10**4
    for days in (1, 7, 30, 45, 89, 91, 180, 365, 1000):
        assert decay_factor_wad(days) / WAD == pytest.approx(2 ** (-days / 90), rel=1e-12)
    assert decay_factor_wad(58 * 90) == WAD >> 58  # 3e-18: 1e18 has 59.8 bits
    assert decay_factor_wad(60 * 90) == 0


def test_decay_pulls_towards_the_prior() -> None:
    good = state([5] * 20)
    later = good.decayed(good.day + 90)
    assert later.ratings_wad == 20 * WAD * decay_factor_wad(90) // WAD
    assert 350 < later.reputation < good.reputation
    bad = state([1] * 20)
    assert bad.reputation < bad.decayed(180).reputation < 350
    assert state([5] * 20).decayed(10**6).reputation == 350


def test_contract_decay_factor_is_the_mirror(rep: Rep) -> None:
    for days in (0, 1, 2, 3, 45, 64, 89, 90, 91, 127, 180, 365, 3650, 5399, 5400, 10**9):
        assert rep.reader.decay_factor(days) == decay_factor_wad(days), days


def test_the_readme_worked_example() -> None:
    st = state([5] * 8 + [4] * 3 + [1], trades=15)
    assert (st.positive_wad, st.ratings_wad, st.trades_wad) == (
        10_250 * WAD // 1000,
        12 * WAD,
        15 * WAD,
    )
    assert st.reputation == 660
    later = st.decayed(30)
    assert later.reputation == 631
    assert later.penalized(150).reputation == 481


def test_refresh_applies_the_decay_on_chain(rep: Rep) -> None:
    m = rep.market
    tid = rep.trade(m.seller, m.buyer)
    rep.of(m.buyer).rate(tid, 5)
    stored = rep.reader.reputation_info(m.seller.address).state
    day = rep.goto_midday(100)
    receipt = rep.stranger.refresh_reputation(m.seller.address)
    (ev,) = rep.reader.events(receipt, "ReputationUpdated")
    expected = stored.decayed(day)
    assert ev["args"]["reputation"] == expected.reputation
    assert ev["args"]["ratingsWad"] == expected.ratings_wad == decay_factor_wad(100)
    assert rep.reader.reputation_info(m.seller.address).state == expected
