"""Scanning a history with the model, and the report payload a node files on chain.

A report names the exact model (its id, the keccak256 of the model file registered by
REGULATOR) and feature schema, carries the node's quantised feature vector and its keccak256
(the evidence hash), the score in ppm, and the trades and listings behind the indicators.
Anyone holding the history recomputes the vector and the score and gets the same numbers.
"""

from __future__ import annotations

from pydantic import BaseModel

from node.surveillance.history import MarketHistory
from node.surveillance.indicators import (
    SCHEMA_ID,
    FeatureVector,
    compute_features,
    evidence,
    schema_hash,
)
from node.surveillance.model import SurveillanceError, SurveillanceModel


class ScanRow(BaseModel):
    """One node's score over the scanned window."""

    node: str
    name: str | None
    score_ppm: int
    flagged: bool
    feature_hash: str


class ScanResult(BaseModel):
    """Every node's score, highest first."""

    model_id: str
    window: str
    schema_hash: str
    threshold_ppm: int
    first_period: int
    last_period: int
    rows: list[ScanRow]


class SurveillanceReport(BaseModel):
    """What `gridledger surveil report` files on chain (the evidence of a suspected violation)."""

    node: str
    first_period: int
    last_period: int
    model_id: str
    schema_id: str = SCHEMA_ID
    schema_hash: str
    score_ppm: int
    threshold_ppm: int
    flagged: bool
    feature_hash: str
    features: dict[str, int]
    context_first_period: int | None = None
    """A model with trailing context: the first period of its context vector (which runs to
    ``last_period``); None for a model that reads the window alone."""
    context_feature_hash: str | None = None
    context_features: dict[str, int] | None = None
    trade_ids: list[int]
    listing_ids: list[int]


def scan_window(history: MarketHistory, window_periods: int) -> MarketHistory:
    """The last ``window_periods`` periods of ``history`` (the window the model was trained on)."""
    first = max(history.first_period, history.last_period - window_periods + 1)
    return history.window(first, history.last_period)


def resolve_node(history: MarketHistory, node: str) -> str:
    """The address of ``node`` given as an address (any case) or a node name."""
    for n in history.nodes:
        if n.address.lower() == node.lower() or n.name == node:
            return n.address
    raise SurveillanceError(f"no node {node} in the history")


def context_vectors(
    history: MarketHistory, model: SurveillanceModel
) -> dict[str, FeatureVector] | None:
    """A model with trailing context: every node's vector over the context and the window
    (the latest periods of ``history``), refused when ``history`` is shorter; else None."""
    if not model.context_periods:
        return None
    model.check_context(history.last_period - history.first_period + 1)
    periods = model.metadata.window_periods + model.context_periods
    return compute_features(scan_window(history, periods))


def scan(history: MarketHistory, model: SurveillanceModel, window: str = "week") -> ScanResult:
    """Score every node of ``history`` over a ``window`` (``day`` or ``week``: the latest
    periods); a model not calibrated for that window, or a history without the trailing
    context the model was calibrated with, is refused."""
    model.check_window(window)
    contexts = context_vectors(history, model)
    window_history = scan_window(history, model.metadata.window_periods)
    return _scored(history, window_history, model, contexts)


def _scored(
    history: MarketHistory,
    window: MarketHistory,
    model: SurveillanceModel,
    contexts: dict[str, FeatureVector] | None = None,
) -> ScanResult:
    vectors = compute_features(window)
    nodes = sorted(vectors)
    scores = model.score_many(
        [vectors[n] for n in nodes], None if contexts is None else [contexts[n] for n in nodes]
    )
    names = {n.address: n.name for n in history.nodes}
    rows = [
        ScanRow(
            node=n,
            name=names.get(n),
            score_ppm=s,
            flagged=s >= model.threshold_ppm,
            feature_hash=vectors[n].hash,
        )
        for n, s in zip(nodes, scores, strict=True)
    ]
    rows.sort(key=lambda r: (-r.score_ppm, r.node))
    return ScanResult(
        model_id=model.model_id,
        window=model.window,
        schema_hash=schema_hash(),
        threshold_ppm=model.threshold_ppm,
        first_period=window.first_period,
        last_period=window.last_period,
        rows=rows,
    )


def node_features(history: MarketHistory, node: str, window_periods: int) -> FeatureVector:
    """The feature vector of ``node`` over the last ``window_periods`` periods."""
    address = resolve_node(history, node)
    return compute_features(scan_window(history, window_periods))[address]


def build_report(
    history: MarketHistory, node: str, model: SurveillanceModel, window_name: str = "week"
) -> SurveillanceReport:
    """The report on ``node`` over a ``window_name`` window: score, vector, hashes, evidence
    (a model not calibrated for that window is refused)."""
    model.check_window(window_name)
    address = resolve_node(history, node)
    contexts = context_vectors(history, model)
    context = None if contexts is None else contexts[address]
    window = scan_window(history, model.metadata.window_periods)
    vector = compute_features(window)[address]
    score = model.score(vector, context)
    ev = evidence(window, address)
    return SurveillanceReport(
        node=address,
        first_period=window.first_period,
        last_period=window.last_period,
        model_id=model.model_id,
        schema_hash=schema_hash(),
        score_ppm=score,
        threshold_ppm=model.threshold_ppm,
        flagged=score >= model.threshold_ppm,
        feature_hash=vector.hash,
        features=vector.values,
        context_first_period=None if context is None else context.first_period,
        context_feature_hash=None if context is None else context.hash,
        context_features=None if context is None else context.values,
        trade_ids=ev.trade_ids,
        listing_ids=ev.listing_ids,
    )


def report_vectors(report: SurveillanceReport) -> tuple[FeatureVector, FeatureVector | None]:
    """A report's feature vector and (a model with trailing context) its context vector, as
    anyone recomputes the score from: ``model.score(*report_vectors(report))``."""
    vector = FeatureVector(
        node=report.node,
        first_period=report.first_period,
        last_period=report.last_period,
        values=report.features,
    )
    if report.context_features is None or report.context_first_period is None:
        return vector, None
    context = FeatureVector(
        node=report.node,
        first_period=report.context_first_period,
        last_period=report.last_period,
        values=report.context_features,
    )
    return vector, context
