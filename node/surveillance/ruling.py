"""REGULATOR's evidence rule: a report is confirmed only when the model's evidence carries it.

A report carries the accused's full feature vector; anyone recomputes its score with the
registered model. The rule (documented in ``docs/surveillance.md``):

1. the recomputed score is at or above the model's registered threshold, and
2. for one violation kind, at least :data:`MIN_SUPPORT` of that kind's indicators
   (:data:`KIND_INDICATORS`) exceed what honest nodes show: the model's
   ``honest_bounds`` (the 99th percentile of the honest training examples of the model's
   window, published in its metadata); for a model with trailing context, an indicator
   also counts when its value over the context exceeds its ``ctx:`` bound.

A high score alone (a node unlike the training data in some other way) is dismissed: the
report must show a violation pattern, and the ruling names it.
"""

from __future__ import annotations

from pydantic import BaseModel

#: Indicators that show each kind of violation (higher = more suspicious).
KIND_INDICATORS: dict[str, tuple[str, ...]] = {
    "wash_trading": ("reciprocal_volume_share", "mutual_concentration", "fast_take_share"),
    "price_manipulation": (
        "price_dev_max_abs_z",
        "off_market_volume_share",
        "listing_price_dev_mean_abs_z",
        "amendments_per_listing",
    ),
    "withholding": ("late_cancel_volume_share", "cancel_ratio", "unfilled_volume_share"),
    "deviation_abuse": (
        "deviation_mean_abs_ratio",
        "deviation_large_share",
        "deviation_max_abs_ratio",
        "deviation_sided_share",
    ),
    "rating_ring": (
        "reciprocal_rating_share",
        "rating_1_given_share",
        "rating_low_given_share",
        "low_rating_executed_share",
        "partner_low_rating_share",
    ),
}
#: Indicators of one kind beyond the honest bound that make evidence.
MIN_SUPPORT = 2


class Ruling(BaseModel):
    """REGULATOR's decision and the evidence it rests on."""

    confirmed: bool
    score_ppm: int
    threshold_ppm: int
    kind: str | None
    """The violation kind with the most indicators beyond the honest bounds (if any)."""
    beyond: list[str]
    """That kind's indicators beyond their honest bound."""

    def describe(self) -> str:
        verdict = "confirmed" if self.confirmed else "dismissed"
        shown = f"{self.kind}: {', '.join(self.beyond)}" if self.beyond else "no indicator"
        return (
            f"{verdict}: score {self.score_ppm} ppm (threshold {self.threshold_ppm}); beyond "
            f"the honest 99th percentile: {shown}"
        )


#: Prefix of a context indicator's honest bound (``node.surveillance.model.CONTEXT_PREFIX``).
CONTEXT_PREFIX = "ctx:"


def _beyond(name: str, values: dict[str, int] | None, bounds: dict[str, int], key: str) -> bool:
    return values is not None and key in bounds and values.get(name, 0) > bounds[key]


def supporting(
    features: dict[str, int], bounds: dict[str, int], context: dict[str, int] | None = None
) -> dict[str, list[str]]:
    """Per kind, its indicators whose value exceeds the honest bound: in the window's
    vector, or (a report with trailing context) in the context vector against the
    ``ctx:`` bound."""
    return {
        kind: [
            n
            for n in names
            if _beyond(n, features, bounds, n) or _beyond(n, context, bounds, CONTEXT_PREFIX + n)
        ]
        for kind, names in KIND_INDICATORS.items()
    }


def rule(
    score_ppm: int,
    threshold_ppm: int,
    features: dict[str, int],
    bounds: dict[str, int],
    context: dict[str, int] | None = None,
) -> Ruling:
    """The evidence rule on a report's (recomputed) score and feature vector (and context
    vector, for a model with trailing context)."""
    support = supporting(features, bounds, context)
    kind = max(support, key=lambda k: len(support[k]))
    beyond = support[kind]
    return Ruling(
        confirmed=score_ppm >= threshold_ppm and len(beyond) >= MIN_SUPPORT,
        score_ppm=score_ppm,
        threshold_ppm=threshold_ppm,
        kind=kind if beyond else None,
        beyond=beyond,
    )
