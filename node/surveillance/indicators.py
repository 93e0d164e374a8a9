"""Violation indicators: one feature vector per node and window of trading periods.

The schema (:data:`FEATURES`, versioned by :data:`SCHEMA_ID`) fixes the order, names, units
and definitions; :func:`schema_hash` is the keccak256 of its canonical JSON, registered on
chain with the model. Every value is stored as a fixed-precision integer
(``round(value * 10**6)``) so a vector has one canonical JSON text
(:meth:`FeatureVector.canonical_json`, sorted keys, no spaces) whose keccak256 is the
evidence hash of a report; the classifier scores the de-quantised integers, so anyone holding
the vector gets the same score.

Market price of a period: the volume-weighted average price (VWAP) of the period's trades;
its scale is 1.4826 x the volume-weighted median absolute deviation of trade prices from the
VWAP, at least 1 % of the VWAP. A price's z-score is ``(price - VWAP) / scale``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict

from ledger.units import PPM
from node.surveillance.history import ListingMode, MarketHistory, Side, TradeStatus

SCHEMA_ID = "gridledger.surveillance.features/2"
#: Fixed-point scale of every stored feature value.
SCALE = PPM  # features are stored as integers in parts per million
#: A take this soon after the listing was posted counts as pre-arranged.
FAST_TAKE_S = 120
#: A cancellation in this last share of the taking window counts as late.
LATE_CANCEL_SHARE = 0.2
#: |z| beyond this makes a trade off-market.
OFF_MARKET_Z = 2.5
#: A period's deviation beyond this share of the contracted energy is large.
LARGE_DEVIATION = 0.1
#: A period's deviation beyond this share, in the node's net direction, is a deliberate one.
SIDED_DEVIATION = 0.075
#: A rating at or below this is low.
LOW_RATING = 2


class FeatureDef(BaseModel):
    """One indicator of the schema."""

    model_config = ConfigDict(frozen=True)

    name: str
    unit: str
    definition: str


def _f(name: str, unit: str, definition: str) -> FeatureDef:
    return FeatureDef(name=name, unit=unit, definition=definition)


#: The feature schema, in vector order.
FEATURES: tuple[FeatureDef, ...] = (
    _f("is_seller", "flag", "1 if the node is registered as a seller node, else 0."),
    _f("listings", "count", "Listings (offers or requests) the node posted in the window."),
    _f("trades", "count", "Trades the node is party to (either side) in the window."),
    _f(
        "reciprocal_volume_share",
        "ratio",
        "Wash trading: share of the node's traded energy with counterparties with which "
        "taking goes both ways in the window (the node took a listing of C and C took a "
        "listing of the node).",
    ),
    _f(
        "counterparty_hhi",
        "ratio",
        "Counterparty concentration: Herfindahl index sum_c (v_c / V)^2 of the node's traded "
        "energy V over counterparties c.",
    ),
    _f(
        "mutual_concentration",
        "ratio",
        "Self-dealing between related nodes: sum_c (v_c / V) * (v_c / V_c), where V_c is "
        "counterparty c's own traded energy; near 1 when two nodes trade (almost) only with "
        "each other.",
    ),
    _f(
        "fast_take_share",
        "ratio",
        f"Pre-arranged trades: share of the node's trades formed within {FAST_TAKE_S} s of "
        "the listing being posted.",
    ),
    _f(
        "price_dev_mean_abs_z",
        "z",
        "Mean |z| of the node's trade prices against the period's market price (VWAP).",
    ),
    _f("price_dev_max_abs_z", "z", "Largest |z| of the node's trade prices."),
    _f(
        "off_market_volume_share",
        "ratio",
        f"Share of the node's traded energy at |z| > {OFF_MARKET_Z}.",
    ),
    _f(
        "listing_price_dev_mean_abs_z",
        "z",
        "Mean |z| of the node's posted listing prices (taken or not) against the period's "
        "market price.",
    ),
    _f("cancel_ratio", "ratio", "Cancelled listings / listings posted."),
    _f(
        "late_cancel_volume_share",
        "ratio",
        "Withholding: energy of listings cancelled in the last "
        f"{round(LATE_CANCEL_SHARE * 100)} % of their taking window / energy listed.",
    ),
    _f(
        "unfilled_volume_share",
        "ratio",
        "Listed energy nobody took (cancelled or expired) / energy listed.",
    ),
    _f("amendments_per_listing", "count", "Mean number of amendments per posted listing."),
    _f(
        "execution_failure_rate",
        "ratio",
        "Share of the node's trades as seller that dispatch reported partial or failed "
        "(curtailment excluded).",
    ),
    _f(
        "deviation_mean_abs_ratio",
        "ratio",
        "sum |metered - contracted| / sum contracted energy over the node's periods.",
    ),
    _f(
        "deviation_large_share",
        "ratio",
        "Share of the node's periods whose |metered - contracted| exceeds "
        f"{round(LARGE_DEVIATION * 100)} % of the contracted energy.",
    ),
    _f(
        "deviation_bias",
        "ratio",
        "|sum (metered - contracted)| / sum |metered - contracted|: 1 when every deviation "
        "has the same sign (systematic under- or over-consumption), 0 without deviations.",
    ),
    _f(
        "reciprocal_rating_share",
        "ratio",
        "Rating rings: share of the 5s the node gave that went to nodes which gave it a 5 "
        "in the window.",
    ),
    _f("rating_5_given_share", "ratio", "Share of the node's given ratings that are 5."),
    _f("rating_1_given_share", "ratio", "Share of the node's given ratings that are 1."),
    _f(
        "rating_favouritism",
        "score",
        "Mean score the node gave to nodes that gave it a 5, minus the mean score it gave "
        "everybody else (0 when either group is empty).",
    ),
    _f("rating_received_mean", "score", "Mean score the node received (0 without ratings)."),
    _f(
        "deviation_max_abs_ratio",
        "ratio",
        "Largest |metered - contracted| / contracted energy of one of the node's periods.",
    ),
    _f(
        "deviation_sided_share",
        "ratio",
        "Share of the node's periods whose deviation exceeds "
        f"{SIDED_DEVIATION * 100:.1f} % of the contracted energy in the direction of its net "
        "deviation sum (metered - contracted) over the window.",
    ),
    _f(
        "rating_low_given_share",
        "ratio",
        f"Share of the node's given ratings at or below {LOW_RATING}.",
    ),
    _f(
        "low_rating_executed_share",
        "ratio",
        f"Share of the node's given ratings at or below {LOW_RATING} on trades dispatch "
        "executed in full (a low score without a failed delivery).",
    ),
    _f(
        "mutual_five_partners",
        "count",
        "Rating-graph reciprocity: nodes with which the node exchanged 5s (each rated the "
        "other 5) in the window.",
    ),
    _f(
        "partner_low_rating_share",
        "ratio",
        "Largest, over the node's mutual-5 partners, share of that partner's given ratings "
        f"at or below {LOW_RATING} to nodes outside its own mutual-5 partners (0 without "
        "partners).",
    ),
    _f(
        "rating_coverage",
        "ratio",
        "Ratings the node gave / trades it is party to in the window (rings rate every trade).",
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


def _canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def schema_document() -> dict[str, object]:
    """The schema as registered on chain (its canonical JSON is hashed)."""
    return {
        "id": SCHEMA_ID,
        "scale": SCALE,
        "features": [f.model_dump() for f in FEATURES],
    }


def schema_hash() -> str:
    """keccak256 of the schema's canonical JSON, 0x-hex."""
    return "0x" + keccak(_canonical(schema_document())).hex()


class FeatureVector(BaseModel):
    """A node's quantised indicator values over a window of periods."""

    model_config = ConfigDict(frozen=True)

    node: str
    first_period: int
    last_period: int
    values: dict[str, int]
    """Feature name -> round(value * SCALE)."""

    def canonical_json(self) -> bytes:
        """The canonical serialisation: sorted keys, no whitespace, integers only."""
        return _canonical(
            {
                "schema": SCHEMA_ID,
                "schema_hash": schema_hash(),
                "node": self.node.lower(),
                "first_period": self.first_period,
                "last_period": self.last_period,
                "features": self.values,
            }
        )

    @property
    def hash(self) -> str:
        """The evidence hash: keccak256 of :meth:`canonical_json`, 0x-hex."""
        return "0x" + keccak(self.canonical_json()).hex()

    def as_array(self) -> np.ndarray:
        """The de-quantised values in schema order (what the classifier scores)."""
        return np.array([self.values[n] / SCALE for n in FEATURE_NAMES], dtype=np.float64)

    def value(self, name: str) -> float:
        """One de-quantised value."""
        return self.values[name] / SCALE


def quantise(value: float) -> int:
    """The stored integer of a feature value."""
    return round(value * SCALE)


@dataclass
class PeriodPrice:
    """A period's market price and the scale of its z-scores."""

    vwap: float
    scale: float

    def z(self, price: float) -> float:
        return (price - self.vwap) / self.scale


def period_prices(history: MarketHistory) -> dict[int, PeriodPrice]:
    """VWAP and robust price scale of every period with trades."""
    by_period: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for t in history.trades:
        by_period[t.period].append((t.price_fen_per_mwh, t.quantity_wh))
    out: dict[int, PeriodPrice] = {}
    for period, rows in by_period.items():
        prices = np.array([p for p, _ in rows], dtype=np.float64)
        weights = np.array([q for _, q in rows], dtype=np.float64)
        vwap = float((prices * weights).sum() / weights.sum())
        dev = np.abs(prices - vwap)
        order = np.argsort(dev, kind="stable")
        cum = np.cumsum(weights[order])
        mad = float(dev[order][int(np.searchsorted(cum, cum[-1] / 2.0))])
        out[period] = PeriodPrice(vwap=vwap, scale=max(1.4826 * mad, 0.01 * vwap))
    return out


@dataclass
class _Acc:
    volume: float = 0.0
    with_cp: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    took_from: set[str] = field(default_factory=set)
    trades: int = 0
    fast: int = 0
    abs_z: list[float] = field(default_factory=list)
    off_market_wh: float = 0.0
    sold: int = 0
    sold_failed: int = 0
    listings: int = 0
    listed_wh: float = 0.0
    cancelled: int = 0
    late_cancel_wh: float = 0.0
    unfilled_wh: float = 0.0
    amendments: int = 0
    listing_abs_z: list[float] = field(default_factory=list)
    contracted: float = 0.0
    dev_ratios: list[float] = field(default_factory=list)
    dev_abs: float = 0.0
    dev_signed: float = 0.0
    dev_periods: int = 0
    dev_large: int = 0
    given: list[tuple[str, int]] = field(default_factory=list)
    low_executed: int = 0
    received: list[int] = field(default_factory=list)
    fives_from: set[str] = field(default_factory=set)


def _share(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def compute_features(history: MarketHistory) -> dict[str, FeatureVector]:
    """The feature vector of every node of ``history`` over its whole window."""
    prices = period_prices(history)
    listings = {x.id: x for x in history.listings}
    acc: dict[str, _Acc] = {n.address: _Acc() for n in history.nodes}
    for x in history.listings:
        acc.setdefault(x.poster, _Acc())

    filled: dict[int, int] = defaultdict(int)
    for t in history.trades:
        listing = listings.get(t.listing_id)
        filled[t.listing_id] += t.quantity_wh
        if listing is not None:
            poster = listing.poster
            taker = t.buyer if listing.mode is ListingMode.SELL else t.seller
            acc.setdefault(taker, _Acc()).took_from.add(poster)
        z = abs(prices[t.period].z(t.price_fen_per_mwh))
        fast = listing is not None and t.formed_at - listing.posted_at <= FAST_TAKE_S
        for me, other in ((t.buyer, t.seller), (t.seller, t.buyer)):
            a = acc.setdefault(me, _Acc())
            a.volume += t.quantity_wh
            a.with_cp[other] += t.quantity_wh
            a.trades += 1
            a.fast += fast
            a.abs_z.append(z)
            if z > OFF_MARKET_Z:
                a.off_market_wh += t.quantity_wh
        s = acc[t.seller]
        s.sold += 1
        s.sold_failed += t.status in (TradeStatus.PARTIAL, TradeStatus.FAILED)

    for x in history.listings:
        a = acc[x.poster]
        a.listings += 1
        a.listed_wh += x.quantity_wh
        a.amendments += x.amended
        a.unfilled_wh += max(0, x.quantity_wh - filled.get(x.id, 0))
        if x.cancelled_at is not None:
            a.cancelled += 1
            window = max(1, x.closes_at - x.posted_at)
            if x.closes_at - x.cancelled_at <= LATE_CANCEL_SHARE * window:
                a.late_cancel_wh += x.quantity_wh
        if x.period in prices:
            a.listing_abs_z.append(abs(prices[x.period].z(x.price_fen_per_mwh)))

    for d in history.deviations:
        a = acc.setdefault(d.node, _Acc())
        a.contracted += d.contracted_wh
        a.dev_abs += abs(d.metered_wh - d.contracted_wh)
        a.dev_signed += d.metered_wh - d.contracted_wh
        a.dev_periods += 1
        a.dev_large += abs(d.metered_wh - d.contracted_wh) > LARGE_DEVIATION * d.contracted_wh
        if d.contracted_wh > 0:
            a.dev_ratios.append((d.metered_wh - d.contracted_wh) / d.contracted_wh)

    executed = {t.id for t in history.trades if t.status is TradeStatus.EXECUTED}
    for r in history.ratings:
        rater = acc.setdefault(r.rater, _Acc())
        rater.given.append((r.ratee, r.score))
        rater.low_executed += r.score <= LOW_RATING and r.trade_id in executed
        b = acc.setdefault(r.ratee, _Acc())
        b.received.append(r.score)
        if r.score == 5:
            b.fives_from.add(r.rater)

    sides = {n.address: n.side for n in history.nodes}
    out: dict[str, FeatureVector] = {}
    for node in sorted(acc):
        a = acc[node]
        values = _values(node, a, acc, sides.get(node))
        out[node] = FeatureVector(
            node=node,
            first_period=history.first_period,
            last_period=history.last_period,
            values={k: quantise(v) for k, v in values.items()},
        )
    return out


def _values(node: str, a: _Acc, acc: dict[str, _Acc], side: Side | None) -> dict[str, float]:
    reciprocal = {c for c in a.took_from if node in acc[c].took_from}
    shares = {c: v / a.volume for c, v in a.with_cp.items()} if a.volume else {}
    fives_given = [(c, s) for c, s in a.given if s == 5]
    mates = [s for c, s in a.given if c in a.fives_from]
    others = [s for c, s in a.given if c not in a.fives_from]
    favouritism = float(np.mean(mates) - np.mean(others)) if mates and others else 0.0
    values: dict[str, float] = {
        "is_seller": 1.0 if side is Side.SELLER else 0.0,
        "listings": float(a.listings),
        "trades": float(a.trades),
        "reciprocal_volume_share": _share(sum(a.with_cp[c] for c in reciprocal), a.volume),
        "counterparty_hhi": sum(s * s for s in shares.values()),
        "mutual_concentration": sum(
            s * _share(a.with_cp[c], acc[c].volume) for c, s in shares.items()
        ),
        "fast_take_share": _share(a.fast, a.trades),
        "price_dev_mean_abs_z": float(np.mean(a.abs_z)) if a.abs_z else 0.0,
        "price_dev_max_abs_z": max(a.abs_z, default=0.0),
        "off_market_volume_share": _share(a.off_market_wh, a.volume),
        "listing_price_dev_mean_abs_z": float(np.mean(a.listing_abs_z)) if a.listing_abs_z else 0.0,
        "cancel_ratio": _share(a.cancelled, a.listings),
        "late_cancel_volume_share": _share(a.late_cancel_wh, a.listed_wh),
        "unfilled_volume_share": _share(a.unfilled_wh, a.listed_wh),
        "amendments_per_listing": _share(a.amendments, a.listings),
        "execution_failure_rate": _share(a.sold_failed, a.sold),
        "deviation_mean_abs_ratio": _share(a.dev_abs, a.contracted),
        "deviation_large_share": _share(a.dev_large, a.dev_periods),
        "deviation_bias": _share(abs(a.dev_signed), a.dev_abs),
        "reciprocal_rating_share": _share(
            sum(1 for c, _ in fives_given if c in a.fives_from), len(fives_given)
        ),
        "rating_5_given_share": _share(len(fives_given), len(a.given)),
        "rating_1_given_share": _share(sum(1 for _, s in a.given if s == 1), len(a.given)),
        "rating_favouritism": favouritism,
        "rating_received_mean": float(np.mean(a.received)) if a.received else 0.0,
        **_day_values(node, a, acc),
    }
    assert tuple(values) == FEATURE_NAMES
    return values


def _mutual_fives(node: str, a: _Acc) -> set[str]:
    return {c for c, s in a.given if s == 5 and c in a.fives_from and c != node}


def _low_outside(node: str, a: _Acc) -> float:
    """Share of ``a``'s given ratings that are low, to nodes outside its mutual-5 partners."""
    mates = _mutual_fives(node, a)
    outside = [s for c, s in a.given if c not in mates]
    return _share(sum(1 for s in outside if s <= LOW_RATING), len(outside))


def _day_values(node: str, a: _Acc, acc: dict[str, _Acc]) -> dict[str, float]:
    """The indicators added for one-day windows (schema 2): per-period deviation shape and
    the rating graph's reciprocity."""
    ratios = np.array(a.dev_ratios, dtype=np.float64)
    sign = 1.0 if a.dev_signed >= 0 else -1.0
    mates = _mutual_fives(node, a)
    return {
        "deviation_max_abs_ratio": float(np.abs(ratios).max()) if ratios.size else 0.0,
        "deviation_sided_share": float(np.mean(ratios * sign > SIDED_DEVIATION))
        if ratios.size
        else 0.0,
        "rating_low_given_share": _share(
            sum(1 for _, s in a.given if s <= LOW_RATING), len(a.given)
        ),
        "low_rating_executed_share": _share(a.low_executed, len(a.given)),
        "mutual_five_partners": float(len(mates)),
        "partner_low_rating_share": max((_low_outside(c, acc[c]) for c in mates), default=0.0),
        "rating_coverage": _share(len(a.given), a.trades),
    }


class Evidence(BaseModel):
    """The trades and listings behind a node's indicators (what a report cites)."""

    trade_ids: list[int]
    listing_ids: list[int]


def evidence(history: MarketHistory, node: str, limit: int = 100) -> Evidence:
    """Trades and listings of ``node`` that drive its indicators, oldest first.

    Trades: with reciprocal counterparties, pre-arranged (fast takes), off-market, or not
    fully executed. Listings: cancelled late, or priced off-market.
    """
    prices = period_prices(history)
    listings = {x.id: x for x in history.listings}
    took: dict[str, set[str]] = defaultdict(set)
    for t in history.trades:
        x = listings.get(t.listing_id)
        if x is not None:
            took[t.buyer if x.mode is ListingMode.SELL else t.seller].add(x.poster)
    reciprocal = {c for c in took[node] if node in took[c]}
    trade_ids: list[int] = []
    for t in history.trades:
        if node not in (t.buyer, t.seller):
            continue
        other = t.seller if t.buyer == node else t.buyer
        x = listings.get(t.listing_id)
        if (
            other in reciprocal
            or (x is not None and t.formed_at - x.posted_at <= FAST_TAKE_S)
            or abs(prices[t.period].z(t.price_fen_per_mwh)) > OFF_MARKET_Z
            or (t.seller == node and t.status in (TradeStatus.PARTIAL, TradeStatus.FAILED))
        ):
            trade_ids.append(t.id)
    listing_ids: list[int] = []
    for x in history.listings:
        if x.poster != node:
            continue
        late = x.cancelled_at is not None and x.closes_at - x.cancelled_at <= (
            LATE_CANCEL_SHARE * max(1, x.closes_at - x.posted_at)
        )
        off = x.period in prices and abs(prices[x.period].z(x.price_fen_per_mwh)) > OFF_MARKET_Z
        if late or off:
            listing_ids.append(x.id)
    return Evidence(trade_ids=sorted(trade_ids)[:limit], listing_ids=sorted(listing_ids)[:limit])
