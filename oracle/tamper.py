"""Tampered-meter detection: energy balance per feeder, the meter's own history, its peers.

A meter that under-reports signs valid readings, so per-reading rules cannot see it. Three
views together can (documented in ``docs/oracle.md``):

- **own history**: the meter's daily energy over its calibration days (the first
  :data:`ledger.feeders.CALIBRATION_DAYS`) is its baseline; ``r = reported / baseline``;
- **peers**: the median ``r`` of the same kind of consumer in the same region that day
  (weather, holidays) divides it out: ``q = r / peers``. A drop of ``q`` below
  :data:`DROP_Q` on average since some day ``s`` (at least :data:`MIN_DAYS` days) makes the
  meter a suspect, with estimated missing energy ``sum (baseline * peers - reported)``;
- **energy balance**: the feeder meter reads true consumption plus losses; with the loss share
  calibrated on the calibration days, ``feeder - (1 + loss) * sum reported`` is the energy
  missing from the feeder's customer readings. A suspect is flagged only when its feeder
  misses, since ``s``, at least :data:`MATCH` of the suspect's missing energy and more than
  :data:`SIGMAS` standard deviations of the feeder's calibration-day balance. An honest
  customer who really consumes less leaves its feeder balanced and is not flagged.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from ledger.feeders import CALIBRATION_DAYS, FeederNetwork

DROP_Q = 0.9
MIN_DAYS = 2
MATCH = 0.5
SIGMAS = 3.0
#: Floor of a feeder's daily balance noise, as a share of its energy.
BALANCE_FLOOR = 0.002
PEER_MIN = 5


class TamperFlag(BaseModel):
    """A suspected tampered meter, with the evidence for the verifier."""

    meter: str
    node: str
    feeder: int
    first_day: int
    days: list[int]
    """The intervals (days) of the suspected under-reading."""
    missing_wh: int
    """Estimated energy the meter did not report since ``first_day``."""
    feeder_missing_wh: int
    """Energy missing from the feeder's balance over the same days."""
    peer_ratio: float
    """Mean reading relative to its own baseline and its peers since ``first_day``."""


def _peer_keys(net: FeederNetwork) -> list[str]:
    region = {f.id: f.region for f in net.feeders}
    keys = [f"{m.kind}/{region[m.feeder]}" for m in net.meters]
    counts = {k: keys.count(k) for k in set(keys)}
    kinds = [m.kind for m in net.meters]
    kind_counts = {k: kinds.count(k) for k in set(kinds)}
    return [
        k if counts[k] >= PEER_MIN else (m.kind if kind_counts[m.kind] >= PEER_MIN else "all")
        for k, m in zip(keys, net.meters, strict=True)
    ]


def _feeder_balance(
    net: FeederNetwork, reported: np.ndarray, t: int
) -> dict[int, tuple[np.ndarray, float]]:
    """Feeder id -> (missing Wh per day up to ``t``, daily noise of the balance)."""
    index = {m.meter: i for i, m in enumerate(net.meters)}
    out: dict[int, tuple[np.ndarray, float]] = {}
    c = CALIBRATION_DAYS
    for f in net.feeders:
        energy = np.array(f.energy_wh[: t + 1], dtype=np.float64)
        delivered = reported[[index[m] for m in f.meters], : t + 1].sum(axis=0)
        loss = float(np.mean(energy[:c] / delivered[:c] - 1.0))
        missing = energy - (1.0 + loss) * delivered
        noise = max(float(np.std(missing[:c])), BALANCE_FLOOR * float(energy[:c].mean()))
        out[f.id] = (missing, noise)
    return out


def _suspects(net: FeederNetwork, reported: np.ndarray, t: int) -> list[_Suspect]:
    """Meters whose reading fell below their own baseline times their peers' since some day."""
    c = CALIBRATION_DAYS
    baseline = reported[:, :c].mean(axis=1).clip(min=1.0)
    r = reported[:, : t + 1] / baseline[:, None]
    keys = _peer_keys(net)
    peers = np.ones_like(r)
    for key in set(keys):
        rows = [i for i, k in enumerate(keys) if k == key]
        peers[rows] = np.median(r[rows], axis=0)
    q = r / peers
    out: list[_Suspect] = []
    for i in range(len(net.meters)):
        # The change point: the split of days 0..t with the largest step in mean level.
        s = max(range(c, t - MIN_DAYS + 2), key=lambda s: _step(q[i], s))
        if q[i, s:].mean() >= DROP_Q:
            continue
        missing = np.zeros(t + 1)
        missing[s:] = baseline[i] * peers[i, s:] - reported[i, s : t + 1]
        out.append(_Suspect(i, s, missing, float(q[i, s:].mean())))
    return out


def _step(q: np.ndarray, s: int) -> float:
    """How strongly ``q`` steps down at day ``s`` (squared mean difference, weighted)."""
    before, after = q[:s], q[s:]
    n = len(q)
    return float((before.mean() - after.mean()) ** 2 * len(before) * len(after) / n)


class _Suspect:
    def __init__(self, index: int, start: int, missing: np.ndarray, ratio: float) -> None:
        self.index, self.start, self.missing, self.ratio = index, start, missing, ratio


def _explain(residual: np.ndarray, noise: float, suspects: list[_Suspect]) -> list[_Suspect]:
    """Greedily, the suspects whose missing energy best explains the feeder's missing energy
    day by day: a pick must reduce the squared residual, and the feeder must miss, over the
    pick's days, more than SIGMAS standard deviations of its balance and at least MATCH of
    the pick's own missing energy."""
    chosen: list[_Suspect] = []
    left = list(suspects)
    while left:
        best = min(left, key=lambda x: float(((residual - x.missing) ** 2).sum()))
        gain = float((residual**2).sum() - ((residual - best.missing) ** 2).sum())
        days = len(residual) - best.start
        covered = float(residual[best.start :].sum())
        if (
            gain <= 0
            or covered < SIGMAS * noise * float(np.sqrt(days))
            or covered < MATCH * float(best.missing.sum())
        ):
            break
        chosen.append(best)
        residual = residual - best.missing
        left.remove(best)
    return chosen


def detect(net: FeederNetwork, through_day: int) -> list[TamperFlag]:
    """Meters flagged by the readings of days ``0..through_day``."""
    t = through_day
    if t < CALIBRATION_DAYS + MIN_DAYS - 1:
        return []
    reported = np.array([m.reported_wh for m in net.meters], dtype=np.float64)
    balance = _feeder_balance(net, reported, t)
    by_feeder: dict[int, list[_Suspect]] = {}
    for x in _suspects(net, reported, t):
        by_feeder.setdefault(net.meters[x.index].feeder, []).append(x)
    flags: list[TamperFlag] = []
    for feeder, suspects in sorted(by_feeder.items()):
        residual, noise = balance[feeder]
        for x in _explain(residual, noise, suspects):
            m = net.meters[x.index]
            flags.append(
                TamperFlag(
                    meter=m.meter,
                    node=m.node,
                    feeder=feeder,
                    first_day=x.start,
                    days=list(range(x.start, t + 1)),
                    missing_wh=round(float(x.missing.sum())),
                    feeder_missing_wh=round(float(residual[x.start :].sum())),
                    peer_ratio=round(x.ratio, 4),
                )
            )
    return sorted(flags, key=lambda f: f.meter)


class DetectionRun(BaseModel):
    """Day-by-day detection over a network, scored against its truth."""

    tampered: int
    honest: int
    detected: dict[str, int]
    """Tampered meter -> days from the start of tampering to its first flag."""
    false_positives: list[str]
    """Honest meters flagged on any day."""


def run_days(net: FeederNetwork, horizon_days: int = 7) -> DetectionRun:
    """Run :func:`detect` after every day; score first flags within ``horizon_days`` of the
    start of tampering."""
    detected: dict[str, int] = {}
    false: set[str] = set()
    for t in range(net.days):
        for flag in detect(net, t):
            start = net.tampered.get(flag.meter)
            if start is None:
                false.add(flag.meter)
            elif flag.meter not in detected and t - start < horizon_days:
                detected[flag.meter] = t - start + 1
    return DetectionRun(
        tampered=len(net.tampered),
        honest=len(net.meters) - len(net.tampered),
        detected=detected,
        false_positives=sorted(false),
    )
