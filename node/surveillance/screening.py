"""Indicator screening (指标筛选): which indicators enter the classifier, and why the others do not.

The criterion, applied to the training examples of one window only (never to validation or
test data), is documented in ``docs/SURVEILLANCE.md``:

1. **Information value.** For every violation kind, the indicator's information value
   separating that kind's (node, window) examples from the honest ones, over up to
   :data:`BINS` quantile bins with +0.5 smoothing per bin:
   ``IV = sum_b (p_b - n_b) * ln(p_b / n_b)``. An indicator's IV is its best over the kinds
   (an indicator that recognises only one kind is still kept). Below :data:`IV_MIN`
   (the usual "not predictive" bound) the indicator is discarded.
2. **Redundancy.** In decreasing IV order, an indicator whose absolute Pearson correlation
   with an already kept one exceeds :data:`REDUNDANT_CORR` is discarded as redundant.
3. **Permutation importance.** A preliminary classifier (the plan's estimator and seed) is
   fitted on part of the training scenarios with the indicators left after 1 and 2; on the
   other training scenarios each indicator's column is shuffled :data:`PI_REPEATS` times
   (fixed seed) and the mean drop in average precision measured. An indicator whose drop is
   below :data:`PI_MIN` adds nothing the others do not already carry and is discarded.

Every step is seeded: the same training scenarios (preset, seed) give the same selection.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel
from sklearn.inspection import permutation_importance

IV_MIN = 0.02
REDUNDANT_CORR = 0.95
BINS = 10
PI_MIN = 0.0005
PI_REPEATS = 5
PI_SEED = 7
CRITERION = (
    f"max information value over violation kinds (kind vs honest, {BINS} quantile bins, "
    f"+0.5 smoothing) >= {IV_MIN}; then, by decreasing IV, |Pearson r| <= {REDUNDANT_CORR} "
    "with every indicator already kept; then permutation importance (mean drop in average "
    f"precision over {PI_REPEATS} shuffles, on training scenarios the preliminary model did "
    f"not see) >= {PI_MIN}"
)


class IndicatorScreen(BaseModel):
    """One indicator's screening outcome."""

    name: str
    information_value: float
    best_kind: str | None
    permutation_importance: float | None = None
    kept: bool
    reason: str


class Screening(BaseModel):
    """The indicator system of one model: every indicator, kept or discarded, with why."""

    criterion: str = CRITERION
    indicators: list[IndicatorScreen]

    @property
    def selected(self) -> list[str]:
        return [i.name for i in self.indicators if i.kept]


def information_value(values: np.ndarray, positive: np.ndarray) -> float:
    """IV of one indicator separating ``positive`` (bool) examples from the rest."""
    pos, neg = int(positive.sum()), int((~positive).sum())
    if pos == 0 or neg == 0:
        return 0.0
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, BINS + 1)[1:-1]))
    bins = np.searchsorted(edges, values, side="left")  # value <= edge: that bin
    labels = np.unique(bins)
    k = len(labels)
    iv = 0.0
    for b in labels:
        in_bin = bins == b
        p = (float((in_bin & positive).sum()) + 0.5) / (pos + 0.5 * k)
        n = (float((in_bin & ~positive).sum()) + 0.5) / (neg + 0.5 * k)
        iv += (p - n) * math.log(p / n)
    return iv


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if float(a.std()) == 0.0 or float(b.std()) == 0.0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def screen_by_value(x: np.ndarray, kinds: list[str | None], names: list[str]) -> Screening:
    """Steps 1 and 2: screen the columns ``names`` of ``x`` against the labels ``kinds``."""
    labels = np.array(["" if k is None else k for k in kinds])
    honest = labels == ""
    ivs: dict[str, tuple[float, str | None]] = {}
    for j, name in enumerate(names):
        best: tuple[float, str | None] = (0.0, None)
        for kind in sorted(set(labels) - {""}):
            rows = honest | (labels == kind)
            iv = information_value(x[rows, j], labels[rows] == kind)
            if iv > best[0]:
                best = (iv, kind)
        ivs[name] = (round(best[0], 4), best[1])
    order = sorted(range(len(names)), key=lambda j: (-ivs[names[j]][0], names[j]))
    kept: list[int] = []
    out: dict[str, IndicatorScreen] = {}
    for j in order:
        name = names[j]
        iv, kind = ivs[name]
        reason = f"IV {iv:.4f} (best on {kind})" if kind else "IV 0: constant or uninformative"
        keep = iv >= IV_MIN
        if not keep:
            reason += f" < {IV_MIN}: not predictive"
        else:
            twin = next(
                (i for i in kept if abs(_correlation(x[:, i], x[:, j])) > REDUNDANT_CORR), None
            )
            if twin is not None:
                keep = False
                r = _correlation(x[:, twin], x[:, j])
                reason += f"; redundant with {names[twin]} (r = {r:.3f})"
        if keep:
            kept.append(j)
        out[name] = IndicatorScreen(
            name=name, information_value=iv, best_kind=kind, kept=keep, reason=reason
        )
    return Screening(indicators=[out[n] for n in names])


def screen_by_importance(
    screening: Screening,
    estimator: Any,
    fit: tuple[np.ndarray, np.ndarray],
    held: tuple[np.ndarray, np.ndarray],
) -> Screening:
    """Step 3: fit ``estimator`` on ``fit`` (x, y) with the indicators kept so far and
    discard those whose permutation importance on ``held`` is below :data:`PI_MIN`."""
    names = [i.name for i in screening.indicators]
    kept = [j for j, i in enumerate(screening.indicators) if i.kept]
    estimator.fit(fit[0][:, kept], fit[1])
    result = permutation_importance(
        estimator,
        held[0][:, kept],
        held[1],
        scoring="average_precision",
        n_repeats=PI_REPEATS,
        random_state=PI_SEED,
    )
    means = result.importances_mean
    importance = {names[j]: round(float(m), 4) for j, m in zip(kept, means, strict=True)}
    out: list[IndicatorScreen] = []
    for i in screening.indicators:
        if i.name not in importance:
            out.append(i)
            continue
        pi = importance[i.name]
        keep = pi >= PI_MIN
        reason = f"{i.reason}; permutation importance {pi:.4f}"
        if not keep:
            reason += f" < {PI_MIN}: no contribution beyond the other indicators"
        out.append(
            i.model_copy(update={"permutation_importance": pi, "kept": keep, "reason": reason})
        )
    return Screening(indicators=out)
