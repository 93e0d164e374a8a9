"""Consumption behaviour: load-pattern clusters of consumers, flags, and advice in money.

**Clusters.** A consumer's month of 15-minute import (all meters summed) becomes its
*normalised daily profile*: the mean day (96 values) divided by its own mean, so a consumer
is compared by the shape of its day, not its size. The profiles are clustered with KMeans
for every ``k`` in 2-8 (fewer when there are fewer consumers); the ``k`` with the highest
**mean silhouette** wins (ties: the smaller ``k``). Each cluster is named by its centroid's
peak (night, morning, midday, evening) and peakiness.

**Flags.** *Low power factor*: the account is assessed (it has a power-factor standard)
and the month's power factor (the bill's) is below it. *Peak-heavy*: the share of the
month's import in peak and sharp-peak periods is at least :data:`PEAK_HEAVY_RATIO` times
the share of the day those periods take (a flat load scores 1.0). The periods are the
consumer's time-of-use package's, or the sample time-of-use windows
(:func:`ledger.retail.samples.sample_time_of_use`) under a package without periods.

**Advice in money**, each priced with the bill engine (:func:`ledger.retail.bill.
compute_bill`) twice, on the real readings and on changed readings, so the saving is the
difference of two real bills to the fen (tariffs are never re-implemented here):

* *shift*: :data:`SHIFT_PERCENT` % of the month's peak-period import moved to the valley
  intervals (taken from each peak row in proportion, added to each valley row in
  proportion; total import and reactive energy unchanged);
* *power factor*: reactive energy reduced (e.g. by compensation) until the month's power
  factor reaches the standard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from ledger.errors import ValidationError
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.bill import Bill, compute_bill, counted_readings
from ledger.retail.months import INTERVALS_PER_DAY, local_minute_of_day
from ledger.retail.packages import PeriodKind, RetailPackage, TimeOfUse, TouSeason
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import Readings
from ledger.retail.samples import sample_time_of_use
from ledger.units import WH_PER_KWH, fen_to_cny, power_factor_hundredths

Matrix = npt.NDArray[np.float64]
#: The candidate numbers of clusters.
K_RANGE = range(2, 9)
#: Peak-heavy: peak-period share of import >= this x the peak periods' share of the day.
PEAK_HEAVY_RATIO = 1.2
#: The shift advice moves this share of the month's peak-period import to the valley.
SHIFT_PERCENT = 20
PEAK_KINDS = (PeriodKind.peak, PeriodKind.sharp_peak)
#: A cluster's centroid is flat below this peak / mean, peaky above the second.
FLAT_BELOW, PEAKY_ABOVE = 1.25, 1.8


def daily_profile(day_profile_wh: npt.NDArray[np.int64]) -> Matrix:
    """A ``days x 96`` Wh profile's mean day divided by its mean (all zeros: flat ones)."""
    mean_day = np.asarray(day_profile_wh, dtype=np.float64).reshape(-1, INTERVALS_PER_DAY)
    day = mean_day.mean(axis=0)
    level = float(day.mean())
    return day / level if level > 0 else np.ones(INTERVALS_PER_DAY)


@dataclass(frozen=True)
class Clustering:
    """KMeans of the profiles at the chosen ``k``: labels per consumer, centroids, the
    silhouette of every ``k`` tried, and each cluster's name."""

    k: int
    labels: list[int]
    centroids: Matrix
    silhouettes: dict[int, float]
    names: list[str]


def cluster_profiles(profiles: Matrix, seed: int = 0, k_range: range = K_RANGE) -> Clustering:
    """Cluster ``profiles`` (consumers x 96) with the ``k`` of the best mean silhouette."""
    n = int(profiles.shape[0])
    ks = [k for k in k_range if 2 <= k < n]
    if not ks:
        raise ValidationError(f"clustering needs at least 3 consumers, got {n}")
    fits: dict[int, KMeans] = {}
    scores: dict[int, float] = {}
    for k in ks:
        fits[k] = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(profiles)
        labels = fits[k].labels_
        scores[k] = float(silhouette_score(profiles, labels)) if len(set(labels)) > 1 else -1.0
    best = max(ks, key=lambda k: (round(scores[k], 9), -k))
    centroids = np.asarray(fits[best].cluster_centers_, dtype=np.float64)
    return Clustering(
        k=best,
        labels=[int(x) for x in fits[best].labels_],
        centroids=centroids,
        silhouettes=scores,
        names=[describe(c) for c in centroids],
    )


def describe(profile: Matrix) -> str:
    """A shape in words: when it peaks and how peaky it is (peak / mean)."""
    slot = int(np.argmax(profile))
    hour = slot / 4
    when = (
        "night"
        if hour < 6 or hour >= 22
        else "morning"
        if hour < 11
        else "midday"
        if hour < 16
        else "evening"
    )
    ratio = float(profile.max() / max(profile.mean(), 1e-9))
    if ratio < FLAT_BELOW:
        return f"flat, round the clock (peak/mean {ratio:.2f})"
    style = "peaky" if ratio > PEAKY_ABOVE else "moderate"
    return f"{when} peak at {slot // 4:02d}:{slot % 4 * 15:02d}, {style} (peak/mean {ratio:.2f})"


def season_windows(package: RetailPackage, month: int) -> TouSeason:
    """The daily windows behind the flags and the shift: the package's, or the sample's."""
    pricing = package.pricing
    tou = pricing if isinstance(pricing, TimeOfUse) else sample_time_of_use(1)
    return tou.season_of(month % 100)


def _kinds(readings: Readings, season: TouSeason) -> list[PeriodKind]:
    minutes = ((readings.interval_start + 8 * 3_600) % 86_400) // 60
    by_minute = {int(m): season.kind_at(int(m)) for m in np.unique(minutes)}
    return [by_minute[int(m)] for m in minutes]


def _masks(
    readings: Readings, season: TouSeason
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    kinds = _kinds(readings, season)
    peak = np.asarray([k in PEAK_KINDS for k in kinds], dtype=bool)
    valley = np.asarray([k == PeriodKind.valley for k in kinds], dtype=bool)
    return peak, valley


def peak_hours_share(season: TouSeason) -> float:
    """The share of the day in peak and sharp-peak windows."""
    minutes = sum(w.end_minute - w.start_minute for w in season.windows if w.kind in PEAK_KINDS)
    return minutes / 1_440


def shift_to_valley(counted: Readings, season: TouSeason, shift_wh: int) -> Readings:
    """``counted`` with ``shift_wh`` Wh moved from its peak rows to its valley rows: taken
    from each peak row in proportion to its import (floor), the rest 1 Wh each from the
    largest; added to valley rows likewise. Total import is unchanged."""
    peak, valley = _masks(counted, season)
    imp = counted.import_wh.copy()
    peak_total = int(imp[peak].sum())
    if not 0 <= shift_wh <= peak_total or (shift_wh and not valley.any()):
        raise ValidationError(f"cannot shift {shift_wh} Wh of {peak_total} Wh peak import")
    imp[peak] -= _shares(imp[peak], shift_wh)
    weights = imp[valley] if imp[valley].sum() > 0 else np.ones(int(valley.sum()), np.int64)
    imp[valley] += _shares(weights, shift_wh)
    return replace(counted, import_wh=imp)


def _shares(weights: npt.NDArray[np.int64], total: int) -> npt.NDArray[np.int64]:
    """``total`` split in proportion to ``weights``: floor shares, the rest 1 each to the
    rows with the most left over (a row gives at most its weight while the rest is no more
    than the rows with something left, as at the advice's 20 %)."""
    whole = int(weights.sum())
    parts = weights * total // whole if whole else np.zeros_like(weights)
    rest = total - int(parts.sum())
    order = np.argsort(-(weights - parts), kind="stable")[:rest]
    parts[order] += 1
    return parts


def reach_standard(counted: Readings, standard_milli: int) -> Readings:
    """``counted`` with its reactive energy scaled down (floor per row) just enough for
    the month's power factor to reach ``standard_milli``."""
    p = int(counted.import_wh.sum())
    q = int(np.abs(counted.reactive_varh).sum())
    target = standard_milli // 10
    ratio = np.sqrt(1 / (standard_milli / 1000) ** 2 - 1) * p / q if q else 1.0
    reactive = counted.reactive_varh
    for _ in range(100):
        reactive = (counted.reactive_varh * min(ratio, 1.0)).astype(np.int64)
        if power_factor_hundredths(p, int(np.abs(reactive).sum())) >= target:
            break
        ratio *= 0.999
    return replace(counted, reactive_varh=reactive)


@dataclass(frozen=True)
class Advice:
    """A change and what it saves: two bills from the bill engine."""

    kind: str
    text: str
    bill_before_fen: int
    bill_after_fen: int

    @property
    def saving_fen(self) -> int:
        return self.bill_before_fen - self.bill_after_fen


@dataclass(frozen=True)
class ConsumerAdvice:
    """A consumer's month: its shape, flags and advice."""

    consumer: str
    month: int
    import_wh: int
    bill_fen: int
    profile: Matrix
    peak_ratio: float
    power_factor_hundredths: int | None
    pf_standard_hundredths: int | None
    flags: list[str] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)


def advise(
    account: ConsumerAccount,
    readings: Readings,
    package: RetailPackage,
    rates: PublishedRates,
    month: int,
) -> ConsumerAdvice:
    """Flags and advice for ``account``'s month under its ``package``."""
    counted = counted_readings(account, readings, month)
    if len(counted) == 0:
        raise ValidationError(f"no readings of {account.node}'s meters in month {month}")
    bill = compute_bill(account, readings, package, rates, month)
    season = season_windows(package, month)
    peak, _ = _masks(counted, season)
    peak_wh = int(counted.import_wh[peak].sum())
    share = peak_wh / bill.import_wh if bill.import_wh else 0.0
    ratio = share / peak_hours_share(season)
    days = np.zeros((1, INTERVALS_PER_DAY), dtype=np.int64)
    slots = np.asarray([local_minute_of_day(int(t)) // 15 for t in counted.interval_start])
    np.add.at(days[0], slots, counted.import_wh)
    out = ConsumerAdvice(
        consumer=account.node,
        month=month,
        import_wh=bill.import_wh,
        bill_fen=bill.total_fen,
        profile=daily_profile(days),
        peak_ratio=ratio,
        power_factor_hundredths=bill.power_factor_hundredths,
        pf_standard_hundredths=(
            account.pf_standard_milli // 10 if account.pf_standard_milli is not None else None
        ),
    )
    if ratio >= PEAK_HEAVY_RATIO:
        out.flags.append("peak_heavy")
    shift_wh = peak_wh * SHIFT_PERCENT // 100 // WH_PER_KWH * WH_PER_KWH
    if shift_wh > 0:
        moved = shift_to_valley(counted, season, shift_wh)
        after = compute_bill(account, moved, package, rates, month)
        out.advice.append(_shift_advice(bill, after, shift_wh, package))
    pf, standard = out.power_factor_hundredths, out.pf_standard_hundredths
    if pf is not None and standard is not None and pf < standard:
        out.flags.append("low_power_factor")
        assert account.pf_standard_milli is not None
        fixed = reach_standard(counted, account.pf_standard_milli)
        after = compute_bill(account, fixed, package, rates, month)
        text = (
            f"Raise the power factor from {pf / 100:.2f} to the standard {standard / 100:.2f} "
            f"(reactive compensation): the month's bill falls by "
            f"{fen_to_cny(bill.total_fen - after.total_fen)} CNY."
        )
        out.advice.append(Advice("power_factor", text, bill.total_fen, after.total_fen))
    return out


def _shift_advice(before: Bill, after: Bill, shift_wh: int, package: RetailPackage) -> Advice:
    kwh = shift_wh // WH_PER_KWH
    saving = before.total_fen - after.total_fen
    if saving > 0:
        verdict = f"saves {fen_to_cny(saving)} CNY a month"
    elif saving == 0:
        verdict = f"saves nothing under {package.name!r} (no time-of-use prices)"
    else:
        verdict = f"costs {fen_to_cny(-saving)} CNY more (a higher maximum demand)"
    text = (
        f"Shift {kwh:,} kWh ({SHIFT_PERCENT} % of the peak-period use) to valley hours: "
        f"{verdict} (bill {fen_to_cny(before.total_fen)} -> {fen_to_cny(after.total_fen)} CNY)."
    )
    return Advice("shift", text, before.total_fen, after.total_fen)


def meter_profiles(readings: Readings) -> tuple[list[str], Matrix]:
    """Each meter of ``readings`` as a consumer: its normalised daily profile."""
    slots = ((readings.interval_start + 8 * 3_600) % 86_400) // 900
    sums = np.zeros((len(readings.meter_ids), INTERVALS_PER_DAY), dtype=np.int64)
    np.add.at(sums, (readings.meter, slots), readings.import_wh)
    return list(readings.meter_ids), np.stack([daily_profile(row) for row in sums])


def cluster_consumers(
    names: Sequence[str], profiles: Matrix, seed: int = 0
) -> tuple[Clustering, dict[str, int]]:
    """The clustering and each consumer's cluster."""
    clustering = cluster_profiles(profiles, seed)
    return clustering, dict(zip(names, clustering.labels, strict=True))
