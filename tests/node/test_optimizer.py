"""The recommendation optimiser: exact MILP plans, checked against brute force."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ledger.errors import ValidationError
from node.cli import app as node_app
from node.trading.optimizer import (
    InfeasiblePlanError,
    ListingOffer,
    Plan,
    Weights,
    load_plan,
    recommend,
    save_plan,
    unit_scores,
)


def offer(listing_id: int, **kw: object) -> ListingOffer:
    values: dict[str, object] = {
        "listing_id": listing_id,
        "available_wh": 1_000,
        "price_fen_per_mwh": 400_000,
        "counterparty": f"0x{listing_id:040x}",
    }
    values.update(kw)
    return ListingOffer.model_validate(values)


def takes(plan: Plan) -> dict[int, int]:
    return {t.listing_id: t.quantity_wh for t in plan.takes}


# --------------------------------------------------------------------------- brute force


def brute_force(
    offers: Sequence[ListingOffer], target: int, mode: int, weights: Weights, partial: bool
) -> tuple[int, float] | None:
    """(best fill, least score at that fill) over every integer take vector."""
    scores = [p.total for p in unit_scores(offers, 1 if mode == 1 else 2, weights)]
    ranges = [
        [0, *range(max(o.min_take_wh, 1), o.available_wh + 1)]
        if o.min_take_wh <= o.available_wh
        else [0]
        for o in offers
    ]
    best: tuple[int, float] | None = None
    for qs in itertools.product(*ranges):
        fill = sum(qs)
        if fill > target or (not partial and fill != target):
            continue
        score = sum(q * s for q, s in zip(qs, scores, strict=True))
        if best is None or fill > best[0] or (fill == best[0] and score < best[1] - 1e-12):
            best = (fill, score)
    return best


books = st.lists(
    st.builds(
        lambda available, min_take, price, rate, rep, carbon: (
            available,
            min_take,
            price,
            rate,
            rep,
            carbon,
        ),
        st.integers(0, 6),
        st.integers(0, 7),
        st.integers(0, 50),
        st.integers(0, 20),
        st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]),
        st.sampled_from([0.0, 300.0, 600.0, 900.0]),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    book=books,
    target=st.integers(1, 14),
    mode=st.sampled_from([1, 2]),
    weights=st.builds(
        Weights,
        price=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
        reputation=st.sampled_from([0.0, 0.3, 1.0]),
        carbon=st.sampled_from([0.2, 1.0]),
    ),
    partial=st.booleans(),
)
def test_plan_equals_brute_force_on_small_books(
    book: list[tuple[int, int, int, int, float, float]],
    target: int,
    mode: int,
    weights: Weights,
    partial: bool,
) -> None:
    m = 1 if mode == 1 else 2
    offers = [
        ListingOffer(
            listing_id=i,
            mode=m,
            available_wh=a,
            min_take_wh=mt,
            price_fen_per_mwh=p,
            transmission_rate_fen_per_mwh=r,
            reputation=rep,
            carbon_g_per_kwh=c,
        )
        for i, (a, mt, p, r, rep, c) in enumerate(book)
    ]
    expected = brute_force(offers, target, m, weights, partial)
    if expected is None or (not partial and expected[0] != target):
        with pytest.raises(InfeasiblePlanError):
            recommend(offers, target, m, weights, allow_partial_fill=partial)
        return
    plan = recommend(offers, target, m, weights, allow_partial_fill=partial)
    fill, score = expected
    assert plan.totals.filled_wh == fill
    assert plan.complete == (fill == target)
    assert plan.totals.score * 1_000_000 == pytest.approx(score, abs=1e-7)
    by_id = {o.listing_id: o for o in offers}
    for t in plan.takes:
        o = by_id[t.listing_id]
        assert o.min_take_wh <= t.quantity_wh <= o.available_wh
        assert t.explanation
    assert len(plan.takes) + len(plan.skipped) == len(offers)
    assert all(s.reason for s in plan.skipped)


# --------------------------------------------------------------------------- behaviour


def test_minimum_takes_are_respected_even_when_it_costs_more() -> None:
    # The cheapest listing needs at least 800 Wh but only 500 are wanted: it is skipped and
    # the dearer one takes everything.
    book = [
        offer(1, price_fen_per_mwh=300_000, available_wh=1_000, min_take_wh=800),
        offer(2, price_fen_per_mwh=500_000, available_wh=1_000),
    ]
    plan = recommend(book, 500, 1, Weights(price=1, reputation=0, carbon=0))
    assert takes(plan) == {2: 500}
    [skip] = plan.skipped
    assert skip.listing_id == 1
    assert skip.reason == "its minimum take 800 Wh exceeds the target 500 Wh"
    # Wanting 1,300: 800 from the cheap one (its minimum) would leave 500 for the dear one,
    # 1,000 from the cheap one leaves 300: the optimum takes all of the cheap one.
    plan = recommend(book, 1_300, 1, Weights(price=1, reputation=0, carbon=0))
    assert takes(plan) == {1: 1_000, 2: 300}
    assert plan.totals.energy_fen == 1_000 * 300_000 // 10**6 + 300 * 500_000 // 10**6
    # The fill needs a mix: 1,700 = cheap (>= 800) + dear; min take 800 on both.
    book2 = [
        offer(1, price_fen_per_mwh=300_000, available_wh=1_000, min_take_wh=800),
        offer(2, price_fen_per_mwh=500_000, available_wh=1_000, min_take_wh=800),
    ]
    plan = recommend(book2, 1_700, 1, Weights(price=1, reputation=0, carbon=0))
    assert takes(plan) == {1: 900, 2: 800}
    with pytest.raises(InfeasiblePlanError, match="most the book can fill within its minimum"):
        recommend(book2, 1_500, 1)


def test_explanations_name_the_numbers_behind_each_choice() -> None:
    book = [
        offer(
            7,
            price_fen_per_mwh=400_000,
            transmission_rate_fen_per_mwh=7_500,
            reputation=0.9,
            carbon_g_per_kwh=600.0,
            available_wh=2_000_000,
            min_take_wh=500_000,
        ),
        offer(
            8,
            price_fen_per_mwh=420_000,
            reputation=0.5,
            carbon_g_per_kwh=0.0,
            available_wh=1_000_000,
        ),
    ]
    # Unit scores: listing 7 = 407,500/420,000 + 0.3 x 0.1 = 1.0002; listing 8 = 1 + 0.3 x 0.5
    # = 1.15 (carbon weight 0 here): listing 7 first, all of it.
    plan = recommend(book, 2_500_000, 1, Weights(price=1, reputation=0.3, carbon=0))
    assert takes(plan) == {7: 2_000_000, 8: 500_000}
    t7 = next(t for t in plan.takes if t.listing_id == 7)
    assert t7.explanation.startswith(
        "take all 2,000,000 Wh available from listing 7: effective price 4075.00 CNY/MWh "
        "(price 4000.00 + transmission 75.00), reputation 0.90, carbon 600 g/kWh; unit score "
    )
    t8 = next(t for t in plan.takes if t.listing_id == 8)
    assert "take 500,000 of 1,000,000 Wh available from listing 8" in t8.explanation
    # Formula 1 per take, rounded down: 2 MWh x 7,500 = 15,000 fen.
    assert (t7.energy_fen, t7.transmission_fee_fen) == (800_000, 15_000)
    assert (t8.energy_fen, t8.transmission_fee_fen) == (210_000, 0)
    assert plan.totals.total_fen == 800_000 + 15_000 + 210_000
    assert plan.summary.startswith("fills 2,500,000 of 2,500,000 Wh with 2 take(s)")


def test_short_book_fails_or_fills_as_much_as_it_can() -> None:
    book = [offer(1, available_wh=300), offer(2, available_wh=400, min_take_wh=400)]
    with pytest.raises(InfeasiblePlanError, match=r"is 700 Wh"):
        recommend(book, 1_000, 1)
    plan = recommend(book, 1_000, 1, allow_partial_fill=True)
    assert takes(plan) == {1: 300, 2: 400}
    assert not plan.complete
    assert plan.totals.filled_wh == 700
    assert plan.summary.startswith("partially fills 700 of 1,000 Wh")
    # Minimum takes can make the best partial fill smaller than the book.
    rigid = [
        offer(1, available_wh=300, min_take_wh=300),
        offer(2, available_wh=400, min_take_wh=400),
    ]
    plan = recommend(rigid, 650, 1, allow_partial_fill=True)
    assert takes(plan) == {2: 400}
    assert plan.totals.filled_wh == 400
    assert plan.skipped[0].reason == (
        "its minimum take 300 Wh exceeds the 250 Wh the plan leaves unfilled"
    )
    # An empty (or untakeable) book fills nothing.
    plan = recommend([offer(3, available_wh=10, min_take_wh=20)], 5, 1, allow_partial_fill=True)
    assert plan.takes == []
    assert plan.totals.filled_wh == 0
    assert plan.skipped[0].reason == "its minimum take 20 Wh exceeds what is left (10)"
    assert recommend([], 5, 1, allow_partial_fill=True).totals.filled_wh == 0
    with pytest.raises(InfeasiblePlanError):
        recommend([], 5, 1)


def test_weights_change_the_choice() -> None:
    cheap_dirty_shady = offer(1, price_fen_per_mwh=350_000, reputation=0.4, carbon_g_per_kwh=900.0)
    dear_clean_trusted = offer(2, price_fen_per_mwh=420_000, reputation=1.0, carbon_g_per_kwh=0.0)
    book = [cheap_dirty_shady, dear_clean_trusted]
    assert takes(recommend(book, 1_000, 1, Weights(price=1, reputation=0, carbon=0))) == {1: 1_000}
    assert takes(recommend(book, 1_000, 1, Weights(price=1, reputation=1, carbon=0))) == {2: 1_000}
    assert takes(recommend(book, 1_000, 1, Weights(price=1, reputation=0, carbon=1))) == {2: 1_000}
    # Transmission counts in the effective price (mode 1): a far seller loses its edge.
    far = offer(1, price_fen_per_mwh=350_000, transmission_rate_fen_per_mwh=80_000)
    near = offer(2, price_fen_per_mwh=420_000)
    assert takes(recommend([far, near], 1_000, 1, Weights(price=1, reputation=0, carbon=0))) == {
        2: 1_000
    }
    # Mode 2: the seller prefers the higher bid, unless reputation weighs more.
    bids = [
        offer(5, mode=2, price_fen_per_mwh=450_000, reputation=0.2),
        offer(6, mode=2, price_fen_per_mwh=400_000, reputation=1.0),
    ]
    assert takes(recommend(bids, 1_000, 2, Weights(price=1, reputation=0))) == {5: 1_000}
    assert takes(recommend(bids, 1_000, 2, Weights(price=1, reputation=1))) == {6: 1_000}
    # Carbon does not count in mode 2.
    assert unit_scores(bids, 2, Weights(carbon=5))[0].carbon == 0.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValidationError, match="mode-1"):
        recommend([offer(1, mode=2)], 10, 1)
    with pytest.raises(ValidationError, match="twice"):
        recommend([offer(1), offer(1)], 10, 1)
    with pytest.raises(ValidationError, match="positive"):
        recommend([offer(1)], 0, 1)
    with pytest.raises(ValueError, match="weight"):
        Weights(price=0, reputation=0, carbon=0)


def test_large_quantities_stay_exact() -> None:
    book = [
        offer(
            i,
            available_wh=50_000_000 + 7 * i,
            min_take_wh=1_000_003 * i,
            price_fen_per_mwh=400_000 + 1_000 * (i % 5),
        )
        for i in range(1, 21)
    ]
    plan = recommend(book, 333_333_337, 1, Weights(price=1, reputation=0, carbon=0))
    assert plan.totals.filled_wh == 333_333_337
    for t in plan.takes:
        assert t.min_take_wh <= t.quantity_wh <= t.available_wh


# --------------------------------------------------------------------------- files and CLI


def test_plan_file_round_trip(tmp_path: Path) -> None:
    plan = recommend([offer(1), offer(2, price_fen_per_mwh=1)], 1_500, 1)
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    assert json.loads(path.read_text())["format"] == "gridledger-plan/1"
    assert load_plan(path) == plan
    broken = json.loads(path.read_text())
    broken["totals"]["filled_wh"] += 1
    path.write_text(json.dumps(broken))
    with pytest.raises(ValidationError, match="do not add up"):
        load_plan(path)
    path.write_text('{"format": "other"}')
    with pytest.raises(ValidationError, match="cannot read plan"):
        load_plan(path)


def test_recommend_command_prints_and_writes_the_plan(tmp_path: Path) -> None:
    book = tmp_path / "book.json"
    book.write_text(
        json.dumps(
            [
                offer(1, price_fen_per_mwh=400_000, available_wh=600).model_dump(),
                offer(2, price_fen_per_mwh=410_000, available_wh=600).model_dump(),
            ]
        )
    )
    out = tmp_path / "plan.json"
    runner = CliRunner()
    args = [
        "recommend",
        "--book",
        str(book),
        "--target-wh",
        "1000",
        "--mode",
        "1",
        "--out",
        str(out),
    ]
    result = runner.invoke(node_app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "take all 600 Wh available from listing 1" in result.output
    assert "take 400 of 600 Wh available from listing 2" in result.output
    assert "fills 1,000 of 1,000 Wh with 2 take(s)" in result.output
    assert takes(load_plan(out)) == {1: 600, 2: 400}
    as_json = runner.invoke(node_app, [*args[:-2], "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["totals"]["filled_wh"] == 1_000
    short = runner.invoke(node_app, ["recommend", "--book", str(book), "--target-wh", "2000"])
    assert isinstance(short.exception, InfeasiblePlanError)
    partial = runner.invoke(
        node_app,
        ["recommend", "--book", str(book), "--target-wh", "2000", "--allow-partial", "--json"],
    )
    assert partial.exit_code == 0, partial.output
    assert json.loads(partial.output)["complete"] is False
