"""A seeded sample population of retail consumers with known load patterns.

Four archetypes (:data:`ARCHETYPES`), each a daily shape of 96 quarter-hours: a day-shift
factory (08:00-18:00), an evening peak (households and shops, 18:00-22:00), night load
(clean heating, 22:00-06:00) and a flat round-the-clock process. A consumer ``i`` has the
archetype ``i mod 4``, a size, 10 % noise per interval and a power factor drawn in
0.78-0.97; its account, package and the rates are the retail samples
(:mod:`ledger.retail.samples`). The CLI, the portal and the tests use it when no real
readings are given; the tests rely on its known structure (four clusters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ledger.retail.accounts import ConsumerAccount
from ledger.retail.months import INTERVAL_S, INTERVALS_PER_DAY, days_in, month_bounds
from ledger.retail.packages import ConsumerClass, RetailPackage
from ledger.retail.readings import Readings, from_arrays
from ledger.retail.samples import sample_account, sample_packages

#: The sample retailer of the population.
RETAILER = "0x" + "e2" * 20
_HOURS = np.arange(INTERVALS_PER_DAY) / 4


def _window(start_h: float, end_h: float) -> npt.NDArray[np.float64]:
    inside = (
        (start_h <= _HOURS) & (end_h > _HOURS)
        if start_h < end_h
        else ((start_h <= _HOURS) | (end_h > _HOURS))
    )
    return np.asarray(0.25 + inside, dtype=np.float64)


#: name -> (daily shape, consumer class).
ARCHETYPES: dict[str, tuple[npt.NDArray[np.float64], ConsumerClass]] = {
    "day shift": (_window(8, 18), ConsumerClass.industrial),
    "evening peak": (_window(18, 22), ConsumerClass.commercial),
    "night heating": (_window(22, 6), ConsumerClass.residential),
    "round the clock": (np.ones(INTERVALS_PER_DAY), ConsumerClass.large_industry),
}


@dataclass(frozen=True)
class SampleConsumer:
    """One consumer of the sample population with its archetype (the known answer)."""

    archetype: str
    account: ConsumerAccount
    package: RetailPackage
    readings: Readings


def sample_consumer(i: int, month: int, seed: int = 0) -> SampleConsumer:
    """Consumer ``i`` of the population: archetype ``i mod 4``, on the time-of-use package
    of its class, one meter, the month's readings."""
    name = list(ARCHETYPES)[i % len(ARCHETYPES)]
    shape, cls = ARCHETYPES[name]
    rng = np.random.default_rng([seed, i])
    start, _ = month_bounds(month)
    n = days_in(month) * INTERVALS_PER_DAY
    scale_wh = float(rng.uniform(2_000, 20_000))
    load = np.tile(shape, n // INTERVALS_PER_DAY) * scale_wh * rng.normal(1.0, 0.1, n)
    imp = np.maximum(load, 0).astype(np.int64)
    pf = float(rng.uniform(0.78, 0.97))
    reactive = (imp * np.sqrt(1 - pf * pf) / pf).astype(np.int64)
    meter = f"0x{seed:032x}{i:032x}"
    readings = from_arrays(
        [meter],
        np.zeros(n, dtype=np.int64),
        start + np.arange(n, dtype=np.int64) * INTERVAL_S,
        imp,
        np.zeros(n, dtype=np.int64),
        reactive,
    )
    capacity_kva = int(scale_wh * 4 * 1.6 / 1_000) + 100
    account = sample_account(f"0x{i + 1:040x}", cls, [meter], capacity_kva=capacity_kva)
    package = next(
        p
        for p in sample_packages(RETAILER)
        if p.consumer_class == cls and p.pricing.kind == "time_of_use"
    )
    return SampleConsumer(name, account, package, readings)


def sample_population(consumers: int, month: int, seed: int = 0) -> list[SampleConsumer]:
    """The first ``consumers`` consumers of the population."""
    return [sample_consumer(i, month, seed) for i in range(consumers)]
