"""Bench section ``surveillance``: the shipped classifiers on held-out simulated markets.

Each shipped model (the day window scored with the node's previous six days as context,
figures ``day_*``; the day window alone, ``day_alone_*``, the model the demo's one-period
chain day uses; the week, ``week_*``) is evaluated at its registered threshold on scenarios
never used in its training or threshold choice (the model's test seeds, plus fresh seeds in
the full run). The context model is measured on the days that have six days before them.
Per violation kind: recall (share of that kind's (node, window) examples flagged) and
precision (that kind's hits against all false alarms, ``tp_k / (tp_k + fp)``).
"""

from __future__ import annotations

from node.surveillance.model import Metrics, Source, SurveillanceModel
from scripts.bench.report import Section

#: Fresh scenarios added in the full run: seeds used in no model's training, validation or test.
FRESH = [Source(preset="jibei-mini", seed=s) for s in (31, 32, 33)] + [
    Source(preset="surveil-medium", seed=131)
]
TARGET = 0.8


def _per_kind(m: Metrics) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind, recall in m.recall_by_kind.items():
        tp = round(recall * m.positives_by_kind[kind])
        precision = tp / (tp + m.false_positives) if tp + m.false_positives else 0.0
        out[kind] = {"precision": round(precision, 4), "recall": recall}
    return out


#: (figure prefix, window, with trailing context, label, held to the target).
MODELS = (
    ("day", "day", True, "day window (with 6 days' context)", True),
    ("day_alone", "day", False, "day window alone", False),
    ("week", "week", False, "week window", False),
)


def run(section: Section, quick: bool) -> None:
    for prefix, window, context, label, targeted in MODELS:
        model = SurveillanceModel.load(window=window, context=context)
        sources = list(model.metadata.plan.test) + ([] if quick else FRESH)
        m = model.evaluate(sources)
        for figure, value in (("precision", m.precision), ("recall", m.recall)):
            section.add(
                f"{prefix}_{figure}",
                f"{label} {figure} (held out)",
                value,
                target=f">= {TARGET}" if targeted else None,
                ok=value >= TARGET if targeted else None,
            )
        section.details[prefix] = {
            "model_id": model.model_id,
            "window_periods": model.metadata.window_periods,
            "context_periods": model.context_periods,
            "threshold_ppm": model.threshold_ppm,
            "scenarios": [f"{s.preset}/{s.seed}" for s in sources],
            "examples": m.examples,
            "positives": m.positives,
            "false_positives": m.false_positives,
            "roc_auc": m.roc_auc,
            "by_kind": _per_kind(m),
        }
