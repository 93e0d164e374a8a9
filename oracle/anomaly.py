"""Anomaly detection of meter readings: rules plus a per-meter IsolationForest.

Rules (each gives a flag; any flag holds the reading out of settlement until a VERIFIER
clears or rejects it):

* ``gap``: readings are missing between the meter's previous reading and this one.
* ``register_mismatch``: for consecutive intervals, the register advance differs from the
  interval energy (import and export separately) - validation against history.
* ``jump``: with at least ``min_history`` readings, the value departs from the meter's
  median by more than ``jump_factor`` x the scaled median absolute deviation AND the step
  from the previous reading exceeds ``jump_factor`` x the 95th percentile of the meter's
  historical steps (and a floor of ``jump_floor_share`` x capacity x interval).
* ``stuck``: the last ``stuck_intervals`` readings and this one carry exactly the same
  non-zero energies (a frozen meter), or the same zero while the meter's history is not zero.
* ``outlier``: an IsolationForest (``random_state`` fixed, so deterministic) fitted on the
  meter's own history (import, export, reactive, time of day) scores the reading more than
  ``ml_margin`` below the lowest score of that history. Needs ``ml_min_history``
  readings; refitted every ``ml_refit_every`` new readings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.ensemble import IsolationForest


@dataclass(frozen=True)
class Point:
    """What the detector looks at of one reading."""

    interval_start: int
    import_wh: int
    export_wh: int
    reactive_varh: int
    import_register_wh: int
    export_register_wh: int


@dataclass
class _Model:
    forest: IsolationForest
    scale: np.ndarray
    threshold: float
    fitted_on: int


@dataclass
class AnomalyDetector:
    interval_s: int = 900
    min_history: int = 96
    jump_factor: float = 6.0
    jump_floor_share: float = 0.05
    stuck_intervals: int = 12
    ml_min_history: int = 96
    ml_refit_every: int = 96
    ml_window: int = 672
    ml_trees: int = 64
    ml_margin: float = 0.01
    random_state: int = 0
    _models: dict[str, _Model] = field(default_factory=dict)

    def check(
        self, meter_id: str, history: Sequence[Point], new: Point, capacity_wh: int
    ) -> list[str]:
        """Flags of ``new`` given the meter's earlier readings (oldest first)."""
        flags: list[str] = []
        if history:
            last = history[-1]
            if new.interval_start - last.interval_start > self.interval_s:
                flags.append("gap")
            elif new.interval_start - last.interval_start == self.interval_s and (
                new.import_register_wh - last.import_register_wh != new.import_wh
                or new.export_register_wh - last.export_register_wh != new.export_wh
            ):
                flags.append("register_mismatch")
        if len(history) >= self.min_history and self._jump(history, new, capacity_wh):
            flags.append("jump")
        if self._stuck(history, new):
            flags.append("stuck")
        if len(history) >= self.ml_min_history and self._outlier(meter_id, history, new):
            flags.append("outlier")
        return flags

    def _jump(self, history: Sequence[Point], new: Point, capacity_wh: int) -> bool:
        floor = self.jump_floor_share * capacity_wh
        window = history[-self.ml_window :]
        for attr in ("import_wh", "export_wh"):
            values = np.fromiter((getattr(p, attr) for p in window), dtype=float)
            x = float(getattr(new, attr))
            median = float(np.median(values))
            mad = 1.4826 * float(np.median(np.abs(values - median)))
            steps = np.abs(np.diff(values))
            p95 = float(np.percentile(steps, 95)) if steps.size else 0.0
            step = abs(x - values[-1])
            if abs(x - median) > max(self.jump_factor * mad, floor) and step > max(
                self.jump_factor * p95, floor
            ):
                return True
        return False

    def _stuck(self, history: Sequence[Point], new: Point) -> bool:
        n = self.stuck_intervals
        if len(history) < n:
            return False
        tail = history[-n:]
        same = all(p.import_wh == new.import_wh and p.export_wh == new.export_wh for p in tail)
        if not same:
            return False
        if new.import_wh or new.export_wh:
            return True
        return any(p.import_wh or p.export_wh for p in history[:-n])

    @staticmethod
    def _features(points: Sequence[Point], scale: np.ndarray | None = None) -> np.ndarray:
        rows = []
        for p in points:
            angle = 2 * math.pi * ((p.interval_start % 86_400) / 86_400)
            rows.append(
                [p.import_wh, p.export_wh, p.reactive_varh, math.sin(angle), math.cos(angle)]
            )
        arr = np.asarray(rows, dtype=float)
        if scale is None:
            scale = np.maximum(np.abs(arr[:, :3]).max(axis=0), 1.0)
        arr[:, :3] = arr[:, :3] / scale
        return arr

    def _outlier(self, meter_id: str, history: Sequence[Point], new: Point) -> bool:
        model = self._models.get(meter_id)
        if model is None or len(history) - model.fitted_on >= self.ml_refit_every:
            window = list(history[-self.ml_window :])
            raw = np.asarray(
                [[p.import_wh, p.export_wh, p.reactive_varh] for p in window], dtype=float
            )
            scale = np.maximum(np.abs(raw).max(axis=0), 1.0)
            train = self._features(window, scale)
            forest = IsolationForest(
                n_estimators=self.ml_trees, random_state=self.random_state, contamination="auto"
            )
            forest.fit(train)
            threshold = float(np.min(forest.score_samples(train)))
            model = _Model(forest=forest, scale=scale, threshold=threshold, fitted_on=len(history))
            self._models[meter_id] = model
        score = float(model.forest.score_samples(self._features([new], model.scale))[0])
        return score < model.threshold - self.ml_margin
