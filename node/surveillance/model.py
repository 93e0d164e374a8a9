"""The violation classifier: training, the model file and its id, scoring, evaluation.

Training data are simulated histories (:mod:`node.surveillance.simulate`) of several seeds of
the ``jibei-mini`` and ``surveil-medium`` presets, cut into windows of
:attr:`TrainingPlan.window_periods` periods; every (node, window) is one example, labelled
positive when the scenario injected a violator there. The classifier is a
``GradientBoostingClassifier`` with a fixed ``random_state`` (single-threaded, so training
is deterministic). The alert threshold is the one that maximises F1 on separate validation
seeds; precision, recall and ROC-AUC are measured on held-out seeds never used before.

The model file is the estimator pickled with protocol 5 and ``pickletools.optimize``d: the
same plan with the same library versions gives the same bytes, and the model id is the
keccak256 of those bytes. :meth:`SurveillanceModel.load` refuses a file whose hash is not its
id, so only a file with a registered id is ever unpickled. Scores are integers in parts per
million of the predicted violation probability, computed from the quantised feature vector.
"""

from __future__ import annotations

import io
import json
import pickle
import pickletools
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import sklearn
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from ledger.errors import GridLedgerError
from node.surveillance.indicators import (
    FEATURE_NAMES,
    SCALE,
    SCHEMA_ID,
    FeatureVector,
    compute_features,
    quantise,
    schema_document,
    schema_hash,
)
from node.surveillance.screening import Screening, screen_by_importance, screen_by_value
from node.surveillance.simulate import PERIODS_PER_DAY, simulate_preset

#: Where the shipped model lives (``<model_id>.pkl`` + ``<model_id>.json``, ``CURRENT``).
MODELS_DIR = Path(__file__).resolve().parent / "models"
PICKLE_PROTOCOL = 5


class SurveillanceError(GridLedgerError):
    """A model file or its metadata is missing or does not match its id."""


#: The windows a model is calibrated for, in simulated periods.
Window = Literal["day", "week"]
WINDOW_PERIODS: dict[str, int] = {"day": PERIODS_PER_DAY, "week": 7 * PERIODS_PER_DAY}


def pointer_name(window: str, context: bool = False) -> str:
    """The file naming the shipped model of ``window`` (``CURRENT`` is the week's;
    ``CURRENT-day-context`` the day model scored with its trailing context)."""
    if window == "week" and not context:
        return "CURRENT"
    return f"CURRENT-{window}" + ("-context" if context else "")


#: Prefix of a context indicator (the indicator over the trailing context + window).
CONTEXT_PREFIX = "ctx:"


def input_names(context_periods: int) -> list[str]:
    """The estimator's candidate inputs: the window's indicators, then (for a model with
    trailing context) the same indicators over the context and window, prefixed ``ctx:``."""
    names = list(FEATURE_NAMES)
    return names + [CONTEXT_PREFIX + n for n in names] if context_periods else names


class Source(BaseModel):
    """One simulated market: a preset and a seed."""

    model_config = ConfigDict(frozen=True)

    preset: str
    seed: int


def _sources(preset: str, seeds: range | list[int]) -> list[Source]:
    return [Source(preset=preset, seed=s) for s in seeds]


class TrainingPlan(BaseModel):
    """What the model is trained, tuned and tested on, and how."""

    model_config = ConfigDict(frozen=True)

    train: list[Source]
    validation: list[Source]
    test: list[Source]
    days: int = 14
    window: Window = "week"
    window_periods: int = 7 * PERIODS_PER_DAY
    context_periods: int = 0
    """Trailing periods before the window the model also reads (0: the window alone): its
    ``ctx:`` inputs are the indicators over those periods and the window together."""
    n_estimators: int = 150
    max_depth: int = 3
    learning_rate: float = 0.05
    subsample: float = 0.8
    random_state: int = 20_240_701


DEFAULT_PLAN = TrainingPlan(
    train=_sources("jibei-mini", range(1, 11)) + _sources("surveil-medium", [101, 102, 103]),
    validation=_sources("jibei-mini", range(11, 15)) + _sources("surveil-medium", [104]),
    test=_sources("jibei-mini", range(21, 27)) + _sources("surveil-medium", [121, 122]),
)
#: The plan of each window: same scenarios, windows cut to the window's length.
DEFAULT_PLANS: dict[str, TrainingPlan] = {
    "week": DEFAULT_PLAN,
    # A day holds less per node: more, deeper trees (chosen on the validation seeds).
    "day": DEFAULT_PLAN.model_copy(
        update={
            "window": "day",
            "window_periods": PERIODS_PER_DAY,
            "n_estimators": 300,
            "max_depth": 4,
        }
    ),
    # The day scored with the node's previous six days (the chain's and gateway's history)
    # as context: the kinds one day shows too little of (rating rings, deviation abuse).
    "day-context": DEFAULT_PLAN.model_copy(
        update={
            "window": "day",
            "window_periods": PERIODS_PER_DAY,
            "context_periods": 6 * PERIODS_PER_DAY,
            "n_estimators": 300,
            "max_depth": 4,
        }
    ),
}


@dataclass
class Dataset:
    """Examples: feature vectors with labels (violation kind or None)."""

    vectors: list[FeatureVector]
    kinds: list[str | None]
    contexts: list[FeatureVector] | None = None
    """Per example, its vector over the trailing context and window (a context model's)."""

    @property
    def x(self) -> np.ndarray:
        return inputs(self.vectors, self.contexts)

    @property
    def y(self) -> np.ndarray:
        return np.array([k is not None for k in self.kinds], dtype=np.int64)

    def __add__(self, other: Dataset) -> Dataset:
        contexts = None
        if self.contexts is not None and other.contexts is not None:
            contexts = self.contexts + other.contexts
        return Dataset(
            vectors=self.vectors + other.vectors,
            kinds=self.kinds + other.kinds,
            contexts=contexts,
        )


def _rows(vectors: list[FeatureVector]) -> np.ndarray:
    return np.array([v.as_array() for v in vectors], dtype=np.float64).reshape(
        -1, len(FEATURE_NAMES)
    )


def inputs(vectors: list[FeatureVector], contexts: list[FeatureVector] | None) -> np.ndarray:
    """The estimator's input rows: each vector's values, then its context vector's."""
    x = _rows(vectors)
    return x if contexts is None else np.hstack([x, _rows(contexts)])


def columns(names: list[str]) -> list[int]:
    """Column indices of the inputs ``names`` (indicators, then ``ctx:`` indicators)."""
    every = input_names(1)
    return [every.index(n) for n in names]


def dataset(
    sources: list[Source], days: int, window_periods: int, context_periods: int = 0
) -> Dataset:
    """Simulate every source and cut it into windows: one example per node and window.

    With ``context_periods``, only windows preceded by that many periods are cut (the
    windows a scan with full context sees), each with its context vector."""
    vectors: list[FeatureVector] = []
    contexts: list[FeatureVector] = []
    kinds: list[str | None] = []
    for src in sources:
        market = simulate_preset(src.preset, src.seed, days=days)
        periods = days * PERIODS_PER_DAY
        for first in range(context_periods, periods - window_periods + 1, window_periods):
            last = first + window_periods - 1
            window = compute_features(market.history.window(first, last))
            context = (
                compute_features(market.history.window(first - context_periods, last))
                if context_periods
                else {}
            )
            for node, vector in window.items():
                kind = market.labels.get(node)
                vectors.append(vector)
                kinds.append(None if kind is None else kind.value)
                if context_periods:
                    contexts.append(context[node])
    return Dataset(vectors=vectors, kinds=kinds, contexts=contexts if context_periods else None)


def plan_dataset(plan: TrainingPlan, sources: list[Source]) -> Dataset:
    """:func:`dataset` of ``sources`` cut as ``plan`` says (window and context)."""
    return dataset(sources, plan.days, plan.window_periods, plan.context_periods)


class Metrics(BaseModel):
    """Detection quality at the model's threshold over a set of (node, window) examples."""

    examples: int
    positives: int
    precision: float
    recall: float
    f1: float
    roc_auc: float
    true_positives: int
    false_positives: int
    false_negatives: int
    recall_by_kind: dict[str, float]
    positives_by_kind: dict[str, int]


def _r(x: float) -> float:
    return round(float(x), 4)


def measure(scores_ppm: np.ndarray, data: Dataset, threshold_ppm: int) -> Metrics:
    """Precision, recall, F1, ROC-AUC and per-kind recall of scores at a threshold."""
    y = data.y
    flagged = (scores_ppm >= threshold_ppm).astype(np.int64)
    by_kind: dict[str, list[int]] = {}
    for kind, hit in zip(data.kinds, flagged, strict=True):
        if kind is not None:
            by_kind.setdefault(kind, []).append(int(hit))
    precision = precision_score(y, flagged, zero_division=0.0)
    recall = recall_score(y, flagged, zero_division=0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Metrics(
        examples=len(y),
        positives=int(y.sum()),
        precision=_r(precision),
        recall=_r(recall),
        f1=_r(f1),
        roc_auc=_r(roc_auc_score(y, scores_ppm)) if 0 < y.sum() < len(y) else 0.0,
        true_positives=int(((flagged == 1) & (y == 1)).sum()),
        false_positives=int(((flagged == 1) & (y == 0)).sum()),
        false_negatives=int(((flagged == 0) & (y == 1)).sum()),
        recall_by_kind={k: _r(sum(v) / len(v)) for k, v in sorted(by_kind.items())},
        positives_by_kind={k: len(v) for k, v in sorted(by_kind.items())},
    )


#: The precision a window's threshold is calibrated to reach on its validation windows.
TARGET_PRECISION = 0.8


def calibrated_threshold(scores_ppm: np.ndarray, y: np.ndarray) -> int:
    """The best-F1 threshold (:func:`best_threshold`), raised, when its precision on these
    (validation) examples is below :data:`TARGET_PRECISION`, to the lowest threshold that
    reaches it (if any does)."""
    best = best_threshold(scores_ppm, y)
    for t in sorted({int(s) for s in scores_ppm if s >= best}):
        flagged = scores_ppm >= t
        tp = int((flagged & (y == 1)).sum())
        if tp and tp / int(flagged.sum()) >= TARGET_PRECISION:
            return t
    return best


def best_threshold(scores_ppm: np.ndarray, y: np.ndarray) -> int:
    """The threshold (ppm) with the highest F1; among equals, the highest threshold."""
    best, best_f1 = 500_000, -1.0
    for t in sorted({int(s) for s in scores_ppm}, reverse=True):
        flagged = scores_ppm >= t
        tp = int((flagged & (y == 1)).sum())
        fp = int((flagged & (y == 0)).sum())
        fn = int((~flagged & (y == 1)).sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1:
            best, best_f1 = t, f1
    return best


class ModelMetadata(BaseModel):
    """What is registered and published with a model file."""

    model_id: str
    file: str
    file_bytes: int
    schema_id: str = SCHEMA_ID
    schema_hash: str
    feature_schema: dict[str, object]
    threshold_ppm: int
    window: Window
    window_periods: int
    context_periods: int = 0
    """Trailing periods before the window the model reads (its ``ctx:`` inputs: the
    indicators over those periods and the window together); a scan without them is refused."""
    features: list[str]
    """The indicators the estimator uses (the screening's selection), in vector order."""
    screening: Screening
    estimator: str
    params: dict[str, object]
    plan: TrainingPlan
    validation: Metrics
    test: Metrics
    versions: dict[str, str] = Field(default_factory=dict)
    honest_bounds: dict[str, int] = Field(default_factory=dict)
    """Per indicator, the :data:`HONEST_QUANTILE` quantile of the honest training examples
    (quantised, ppm scale): what REGULATOR's evidence rule compares a report's vector to."""


#: The quantile of honest training values an indicator must exceed to count as evidence.
HONEST_QUANTILE = 0.99


def honest_bounds(data: Dataset) -> dict[str, int]:
    """:attr:`ModelMetadata.honest_bounds` of a training set (with trailing context, the
    ``ctx:`` indicators' bounds too)."""
    honest = data.x[data.y == 0]
    if not len(honest):
        return {}
    q = np.quantile(honest, HONEST_QUANTILE, axis=0, method="higher")
    names = input_names(0 if data.contexts is None else 1)
    return {name: quantise(float(v)) for name, v in zip(names, q, strict=True)}


def model_bytes(estimator: GradientBoostingClassifier) -> bytes:
    """The canonical model file: protocol-5 pickle, optimised (no unused memo entries)."""
    buf = io.BytesIO()
    pickle.Pickler(buf, protocol=PICKLE_PROTOCOL).dump(estimator)
    return pickletools.optimize(buf.getvalue())


def model_id_of(data: bytes) -> str:
    """keccak256 of a model file, 0x-hex."""
    return "0x" + keccak(data).hex()


def _scores(estimator: GradientBoostingClassifier, x: np.ndarray, cols: list[int]) -> np.ndarray:
    proba = np.asarray(estimator.predict_proba(x[:, cols]), dtype=np.float64)[:, 1]
    scores: np.ndarray = np.rint(proba * SCALE).astype(np.int64)
    return scores


@dataclass
class Trained:
    """A freshly trained model: file bytes, metadata and estimator."""

    data: bytes
    metadata: ModelMetadata
    estimator: GradientBoostingClassifier


def train(plan: TrainingPlan = DEFAULT_PLAN) -> Trained:
    """Screen the indicators and train on the training data, pick the threshold on
    validation data and measure on held-out data, all cut into the plan's window."""
    if plan.window_periods != WINDOW_PERIODS[plan.window]:
        raise SurveillanceError(f"a {plan.window} window is {WINDOW_PERIODS[plan.window]} periods")
    # Screening: on the training scenarios only; every 4th one is held out of the
    # preliminary fit to measure permutation importance on.
    if len(plan.train) < 2:
        raise SurveillanceError("screening needs at least two training scenarios")
    held = plan.train[3::4] or plan.train[-1:]
    fit = plan_dataset(plan, [s for s in plan.train if s not in held])
    held_set = plan_dataset(plan, held)
    train_set = fit + held_set
    params: dict[str, object] = {
        "n_estimators": plan.n_estimators,
        "max_depth": plan.max_depth,
        "learning_rate": plan.learning_rate,
        "subsample": plan.subsample,
        "random_state": plan.random_state,
    }
    screening = screen_by_importance(
        screen_by_value(train_set.x, train_set.kinds, input_names(plan.context_periods)),
        GradientBoostingClassifier(**params),
        (fit.x, fit.y),
        (held_set.x, held_set.y),
    )
    features = [n for n in input_names(plan.context_periods) if n in screening.selected]
    cols = columns(features)
    estimator = GradientBoostingClassifier(**params)
    estimator.fit(train_set.x[:, cols], train_set.y)
    val = plan_dataset(plan, plan.validation)
    val_scores = _scores(estimator, val.x, cols)
    threshold = calibrated_threshold(val_scores, val.y)
    test = plan_dataset(plan, plan.test)
    data = model_bytes(estimator)
    model_id = model_id_of(data)
    metadata = ModelMetadata(
        model_id=model_id,
        file=f"{model_id}.pkl",
        file_bytes=len(data),
        schema_hash=schema_hash(),
        feature_schema=schema_document(),
        threshold_ppm=threshold,
        window=plan.window,
        window_periods=plan.window_periods,
        context_periods=plan.context_periods,
        features=features,
        screening=screening,
        estimator="sklearn.ensemble.GradientBoostingClassifier",
        params=params,
        plan=plan,
        validation=measure(val_scores, val, threshold),
        test=measure(_scores(estimator, test.x, cols), test, threshold),
        honest_bounds=honest_bounds(train_set),
        versions={
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
    )
    return Trained(data=data, metadata=metadata, estimator=estimator)


def save(trained: Trained, directory: Path = MODELS_DIR, current: bool = True) -> Path:
    """Write ``<id>.pkl`` and ``<id>.json`` (and point ``CURRENT`` at it); the .pkl path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / trained.metadata.file
    path.write_bytes(trained.data)
    (directory / f"{trained.metadata.model_id}.json").write_text(
        json.dumps(trained.metadata.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    )
    if current:
        meta = trained.metadata
        (directory / pointer_name(meta.window, meta.context_periods > 0)).write_text(
            trained.metadata.model_id + "\n"
        )
    return path


class SurveillanceModel:
    """A loaded, hash-verified model that scores feature vectors."""

    def __init__(self, estimator: GradientBoostingClassifier, metadata: ModelMetadata) -> None:
        self.estimator = estimator
        self.metadata = metadata

    @property
    def model_id(self) -> str:
        return self.metadata.model_id

    @property
    def threshold_ppm(self) -> int:
        return self.metadata.threshold_ppm

    @property
    def window(self) -> str:
        return self.metadata.window

    @property
    def cols(self) -> list[int]:
        return columns(self.metadata.features)

    @property
    def context_periods(self) -> int:
        return self.metadata.context_periods

    def check_window(self, window: str) -> None:
        """Refuse to score a window the model was not calibrated for."""
        if window != self.metadata.window:
            raise SurveillanceError(
                f"model {self.model_id} is calibrated for {self.metadata.window} windows "
                f"({self.metadata.window_periods} periods), not for a {window} window"
            )

    def check_context(self, available_periods: int) -> None:
        """Refuse a history without the trailing context the model was calibrated with
        (``available_periods``: the history's periods up to and including the window)."""
        needed = self.metadata.window_periods + self.context_periods
        if available_periods < needed:
            raise SurveillanceError(
                f"model {self.model_id} scores a {self.metadata.window} window with "
                f"{self.context_periods} periods of trailing context ({needed} periods in "
                f"all); the history holds {available_periods}"
            )

    def _context(self, contexts: list[FeatureVector] | None, n: int) -> list[FeatureVector] | None:
        if not self.context_periods:
            return None
        if contexts is None or len(contexts) != n:
            raise SurveillanceError(
                f"model {self.model_id} needs each vector's trailing context "
                f"({self.context_periods} periods before the window)"
            )
        return contexts

    @classmethod
    def load(
        cls,
        model_id: str | None = None,
        directory: Path = MODELS_DIR,
        window: str = "week",
        context: bool = False,
    ) -> SurveillanceModel:
        """Load model ``model_id`` (default: the shipped model of ``window``, with trailing
        context if ``context``, named by :func:`pointer_name`), checking its file hash and
        schema."""
        if model_id is None:
            pointer = directory / pointer_name(window, context)
            if not pointer.exists():
                raise SurveillanceError(f"no model in {directory}: run `gridledger surveil train`")
            model_id = pointer.read_text().strip()
        path = directory / f"{model_id}.pkl"
        meta_path = directory / f"{model_id}.json"
        if not path.exists() or not meta_path.exists():
            raise SurveillanceError(f"model {model_id} not found in {directory}")
        data = path.read_bytes()
        if model_id_of(data) != model_id:
            raise SurveillanceError(f"{path} does not hash to its id {model_id}")
        metadata = ModelMetadata.model_validate(json.loads(meta_path.read_text()))
        if metadata.model_id != model_id or metadata.schema_hash != schema_hash():
            raise SurveillanceError(f"model {model_id} was trained on another feature schema")
        # The bytes hash to the id, which the regulator registered: a known file.
        estimator = pickle.loads(data)  # noqa: S301
        return cls(estimator, metadata)

    def score(self, vector: FeatureVector, context: FeatureVector | None = None) -> int:
        """Violation score in ppm (0..1,000,000) of one quantised feature vector (and, for
        a model with trailing context, the vector over that context and the window)."""
        return self.score_many([vector], None if context is None else [context])[0]

    def score_many(
        self, vectors: list[FeatureVector], contexts: list[FeatureVector] | None = None
    ) -> list[int]:
        """Scores of many vectors (same values as :meth:`score`, one call)."""
        ctx = self._context(contexts, len(vectors))
        if not vectors:
            return []
        x = inputs(vectors, ctx)
        return [int(s) for s in _scores(self.estimator, x, self.cols)]

    def evaluate(self, sources: list[Source] | None = None) -> Metrics:
        """Metrics at this model's threshold on ``sources`` (default: its held-out test set)."""
        plan = self.metadata.plan
        data = plan_dataset(plan, plan.test if sources is None else sources)
        return measure(_scores(self.estimator, data.x, self.cols), data, self.threshold_ppm)
