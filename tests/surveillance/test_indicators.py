"""Indicator definitions on a tiny hand-built history, and the canonical feature hash."""

from __future__ import annotations

import json

import pytest
from eth_utils.crypto import keccak

from node.surveillance.history import (
    Deviation,
    InMemoryHistorySource,
    Listing,
    ListingMode,
    MarketHistory,
    Node,
    Rating,
    Side,
    Trade,
    TradeStatus,
    collect,
)
from node.surveillance.indicators import (
    FEATURE_NAMES,
    FeatureVector,
    compute_features,
    evidence,
    period_prices,
    quantise,
    schema_hash,
)

A, B, C, D = (f"0x{c * 40}" for c in "abcd")


def _history() -> MarketHistory:
    def listing(i: int, poster: str, mode: ListingMode, qty: int, price: int, **kw: int) -> Listing:
        return Listing(
            id=i,
            poster=poster,
            mode=mode,
            period=0,
            quantity_wh=qty,
            price_fen_per_mwh=price,
            posted_at=kw.pop("posted_at", 0),
            closes_at=1000,
            **kw,  # type: ignore[arg-type]
        )

    def trade(i: int, lid: int, buyer: str, seller: str, qty: int, price: int, at: int) -> Trade:
        executed = qty // 2 if i == 2 else qty
        return Trade(
            id=i,
            listing_id=lid,
            buyer=buyer,
            seller=seller,
            period=0,
            quantity_wh=qty,
            price_fen_per_mwh=price,
            formed_at=at,
            executed_wh=executed,
            status=TradeStatus.PARTIAL if i == 2 else TradeStatus.EXECUTED,
        )

    sell, buy = ListingMode.SELL, ListingMode.BUY
    return MarketHistory(
        first_period=0,
        last_period=1,
        nodes=[
            Node(address=A, side=Side.SELLER),
            Node(address=B, side=Side.BUYER),
            Node(address=C, side=Side.BUYER),
            Node(address=D, side=Side.SELLER),
        ],
        listings=[
            listing(1, A, sell, 1_000_000, 40_000, amended=1),
            listing(2, B, buy, 500_000, 40_000, posted_at=10),
            listing(3, D, sell, 2_000_000, 30_000, cancelled_at=900),
            listing(4, D, sell, 1_000_000, 50_000, cancelled_at=100),
        ],
        trades=[
            trade(1, 1, B, A, 600_000, 40_000, 60),
            trade(2, 2, B, A, 400_000, 40_000, 500),
            trade(3, 1, C, A, 400_000, 40_000, 300),
            trade(4, 3, C, D, 500_000, 30_000, 200),
        ],
        deviations=[
            Deviation(node=A, period=0, contracted_wh=1_200_000, metered_wh=1_000_000),
            Deviation(node=A, period=1, contracted_wh=1_000_000, metered_wh=1_100_000),
        ],
        ratings=[
            Rating(rater=A, ratee=B, trade_id=1, score=5, at=2000),
            Rating(rater=B, ratee=A, trade_id=1, score=5, at=2000),
            Rating(rater=A, ratee=C, trade_id=3, score=1, at=2000),
            Rating(rater=C, ratee=A, trade_id=3, score=4, at=2000),
            Rating(rater=A, ratee=B, trade_id=2, score=3, at=2000),
        ],
    )


# VWAP of period 0: (40,000 x 1.4 MWh + 30,000 x 0.5 MWh) / 1.9 MWh; the volume-weighted
# median absolute deviation is that of the 40,000 trades (1.4 of 1.9 MWh).
VWAP = (40_000 * 1_400_000 + 30_000 * 500_000) / 1_900_000
SCALE_FEN = 1.4826 * (40_000 - VWAP)


def test_period_price_is_vwap_with_robust_scale() -> None:
    price = period_prices(_history())[0]
    assert price.vwap == pytest.approx(VWAP)
    assert price.scale == pytest.approx(SCALE_FEN)
    assert price.z(40_000) == pytest.approx(1 / 1.4826)


def test_indicators_of_a_seller_exactly() -> None:
    a = compute_features(_history())[A]
    z40 = (40_000 - VWAP) / SCALE_FEN
    expected = {
        "is_seller": 1,
        "listings": 1,
        "trades": 3,
        # A took B's request and B took A's offer: B is reciprocal (1.0 of 1.4 MWh).
        "reciprocal_volume_share": 1.0 / 1.4,
        "counterparty_hhi": (1.0 / 1.4) ** 2 + (0.4 / 1.4) ** 2,
        # B trades only with A; C has 0.4 of its 0.9 MWh with A.
        "mutual_concentration": (1.0 / 1.4) * 1.0 + (0.4 / 1.4) * (0.4 / 0.9),
        "fast_take_share": 1 / 3,
        "price_dev_mean_abs_z": z40,
        "price_dev_max_abs_z": z40,
        "off_market_volume_share": 0,
        "listing_price_dev_mean_abs_z": z40,
        "cancel_ratio": 0,
        "late_cancel_volume_share": 0,
        "unfilled_volume_share": 0,
        "amendments_per_listing": 1,
        "execution_failure_rate": 1 / 3,
        "deviation_mean_abs_ratio": 300_000 / 2_200_000,
        "deviation_large_share": 0.5,
        "deviation_bias": 100_000 / 300_000,
        "reciprocal_rating_share": 1.0,
        "rating_5_given_share": 1 / 3,
        "rating_1_given_share": 1 / 3,
        "rating_favouritism": (5 + 3) / 2 - 1,
        "rating_received_mean": 4.5,
        # Period 0 deviates -1/6, period 1 +0.1; the net deviation is negative, so only
        # period 0 deviates beyond 7.5 % in the net direction.
        "deviation_max_abs_ratio": 200_000 / 1_200_000,
        "deviation_sided_share": 0.5,
        # A gave 5 (B, executed), 1 (C, executed), 3 (B, partial).
        "rating_low_given_share": 1 / 3,
        "low_rating_executed_share": 1 / 3,
        # A and B exchanged 5s; B rated nobody outside its partner A.
        "mutual_five_partners": 1,
        "partner_low_rating_share": 0,
        # 3 ratings given, party to 3 trades.
        "rating_coverage": 1,
    }
    assert list(expected) == list(FEATURE_NAMES)
    assert a.values == {k: quantise(v) for k, v in expected.items()}


def test_withholding_indicators_of_a_late_canceller() -> None:
    d = compute_features(_history())[D]
    assert d.values["cancel_ratio"] == 1_000_000
    # Listing 3 (2 MWh) was cancelled 100 s before the close of a 1,000 s window: late;
    # listing 4 (1 MWh) early.
    assert d.values["late_cancel_volume_share"] == quantise(2 / 3)
    assert d.values["unfilled_volume_share"] == quantise(2.5 / 3)
    z30, z50 = abs(30_000 - VWAP) / SCALE_FEN, abs(50_000 - VWAP) / SCALE_FEN
    assert d.values["listing_price_dev_mean_abs_z"] == quantise((z30 + z50) / 2)
    assert d.values["price_dev_max_abs_z"] == quantise(z30)


def test_a_node_without_activity_has_zeros_but_its_side() -> None:
    h = _history()
    h.nodes.append(Node(address="0x" + "e" * 40, side=Side.SELLER))
    idle = compute_features(h)["0x" + "e" * 40]
    assert idle.values == {n: (1_000_000 if n == "is_seller" else 0) for n in FEATURE_NAMES}


def test_evidence_names_the_trades_and_listings_behind_the_indicators() -> None:
    ev = evidence(_history(), A)
    # 1 and 2 with reciprocal B (1 also fast), 2 partially executed; 3 is ordinary.
    assert ev.trade_ids == [1, 2]
    assert evidence(_history(), D).listing_ids == [3, 4]  # late cancel; |z| 3.24 > 2.5


def test_source_adapter_collects_a_window() -> None:
    h = collect(InMemoryHistorySource(_history()), 1, 1)
    assert (h.first_period, h.last_period) == (1, 1)
    assert h.trades == []
    assert h.ratings == []
    assert h.deviations == [_history().deviations[1]]
    assert compute_features(h)[A].values["deviation_mean_abs_ratio"] == quantise(0.1)


def test_feature_hash_is_keccak_of_canonical_integer_json() -> None:
    a = compute_features(_history())[A]
    text = a.canonical_json()
    doc = json.loads(text)
    assert text == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert doc["schema_hash"] == schema_hash()
    assert all(isinstance(v, int) for v in doc["features"].values())
    assert a.hash == "0x" + keccak(text).hex()
    again = compute_features(_history())[A]
    assert again.hash == a.hash
    changed = FeatureVector(
        node=a.node,
        first_period=a.first_period,
        last_period=a.last_period,
        values={**a.values, "trades": a.values["trades"] + 1},
    )
    assert changed.hash != a.hash
    # The address's case does not change the hash.
    assert a.model_copy(update={"node": a.node.upper()}).hash == a.hash


def test_schema_hash_is_pinned() -> None:
    # Changing a feature's name, unit or definition must bump SCHEMA_ID and retrain.
    assert schema_hash() == PINNED_SCHEMA_HASH


PINNED_SCHEMA_HASH = "0x12976c49f4b54f81ed57a19e59ec1c49b7b36d961c5973ff8f1aa6459cd65c7f"
