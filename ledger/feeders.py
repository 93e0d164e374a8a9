"""Feeder (transformer) meters and tampered customer meters for a scenario.

An extension of :mod:`ledger.scenario`, generated only when asked and from its own random
stream (``[scenario.seed, FEEDER_STREAM]``), so a scenario's participants, meters and
readings are the same with or without it.

Every buyer's metering points become customer meters with a daily true consumption (the
participant's profile split over its meters by lognormal sizes, times a regional weather
factor of the day and the meter's own noise). Meters are grouped into feeders of up to
:data:`FEEDER_SIZE` meters of one region and one kind of customer (retailers' large
industrial points on their own feeders, consumers' on shared transformers); a feeder meter
reads the sum of its customers' **true** consumption plus the feeder's technical losses (a
per-feeder share with a small daily jitter) and its own class-0.2 measurement noise. A share
of customer meters is tampered: from a random day on it reports ``factor`` of true
consumption (0.8 = 20 % under-reading), with perfectly valid signatures. Some honest meters
genuinely change their consumption level (a business closing a line): the detector must not
take those for tampering.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from ledger.scenario import Scenario

FEEDER_STREAM = 0xFEED
FEEDER_SIZE = 12
#: Technical losses of a feeder, share of delivered energy (drawn per feeder).
LOSS_SHARE = (0.02, 0.06)
LOSS_JITTER = 0.001
FEEDER_NOISE = 0.001
METER_NOISE = 0.04
WEATHER_NOISE = 0.05
#: Share of honest meters whose real consumption level changes on some day, and by how much.
LEVEL_CHANGE_SHARE = 0.02
LEVEL_CHANGE = (0.6, 0.85)
#: Days before any tampering starts (the detector's calibration days).
CALIBRATION_DAYS = 3


class CustomerMeter(BaseModel):
    meter: str
    node: str
    kind: str
    feeder: int
    reported_wh: list[int]
    """Per day: what the meter reports (signed, valid)."""


class Feeder(BaseModel):
    id: int
    region: int
    meters: list[str]
    energy_wh: list[int]
    """Per day: what the feeder meter reads (customers' true energy plus losses)."""


class FeederNetwork(BaseModel):
    """Feeders, their customer meters' readings, and the ground truth of the tampering."""

    days: int
    feeders: list[Feeder]
    meters: list[CustomerMeter]
    tampered: dict[str, int]
    """Meter -> first day it under-reports."""
    factor: float


def _meter_sizes(
    rng: np.random.Generator, scenario: Scenario
) -> list[tuple[str, str, str, int, float]]:
    """(meter id, node, kind, region, mean daily Wh) of every buyer's metering points."""
    out: list[tuple[str, str, str, int, float]] = []
    for p in scenario.participants:
        if p.side != "buyer" or p.meters <= 0:
            continue
        sizes = rng.lognormal(0.0, 0.4, p.meters)
        sizes = sizes / sizes.sum() * max(sum(p.profile_wh), 1)
        for k, size in enumerate(sizes):
            out.append((f"{p.name}/m{k}", p.name, p.kind, p.region, float(size)))
    return out


def generate_feeders(
    scenario: Scenario, days: int = 14, tamper_share: float = 0.005, factor: float = 0.8
) -> FeederNetwork:
    """The feeder network of ``scenario`` over ``days`` days (see the module docstring)."""
    rng = np.random.default_rng([scenario.seed, FEEDER_STREAM])
    meters = _meter_sizes(rng, scenario)
    n = len(meters)
    regions = sorted({m[3] for m in meters})
    weather = {r: 1.0 + rng.normal(0.0, WEATHER_NOISE, days) for r in regions}
    true = np.array(
        [m[4] * weather[m[3]] * (1.0 + rng.normal(0.0, METER_NOISE, days)) for m in meters]
    ).reshape(n, days)
    # Honest level changes.
    changed = rng.random(n) < LEVEL_CHANGE_SHARE
    for i in np.flatnonzero(changed):
        start = int(rng.integers(CALIBRATION_DAYS, days))
        true[i, start:] *= rng.uniform(*LEVEL_CHANGE)
    # Tampering: among meters without an honest level change.
    candidates = np.flatnonzero(~changed)
    count = min(max(1, round(tamper_share * n)) if tamper_share > 0 else 0, len(candidates))
    chosen = sorted(int(i) for i in rng.choice(candidates, size=count, replace=False))
    reported = true.copy()
    tampered: dict[str, int] = {}
    for k in chosen:
        start = int(rng.integers(CALIBRATION_DAYS, max(CALIBRATION_DAYS + 1, days - 7)))
        reported[k, start:] *= factor
        tampered[meters[k][0]] = start
    # Feeders: meters of one region and kind in groups of FEEDER_SIZE.
    feeders: list[Feeder] = []
    assignment: dict[int, int] = {}
    for region, kind in sorted({(m[3], m[2]) for m in meters}):
        members = [i for i, m in enumerate(meters) if (m[3], m[2]) == (region, kind)]
        members = [members[j] for j in rng.permutation(len(members))]
        for start in range(0, len(members), FEEDER_SIZE):
            group = sorted(members[start : start + FEEDER_SIZE])
            fid = len(feeders)
            loss = rng.uniform(*LOSS_SHARE) + rng.normal(0.0, LOSS_JITTER, days)
            delivered = true[group].sum(axis=0)
            energy = delivered * (1.0 + loss) * (1.0 + rng.normal(0.0, FEEDER_NOISE, days))
            feeders.append(
                Feeder(
                    id=fid,
                    region=region,
                    meters=[meters[i][0] for i in group],
                    energy_wh=[round(float(e)) for e in energy],
                )
            )
            assignment.update({i: fid for i in group})
    return FeederNetwork(
        days=days,
        feeders=feeders,
        meters=[
            CustomerMeter(
                meter=m[0],
                node=m[1],
                kind=m[2],
                feeder=assignment[i],
                reported_wh=[round(float(v)) for v in reported[i]],
            )
            for i, m in enumerate(meters)
        ],
        tampered=tampered,
        factor=factor,
    )
