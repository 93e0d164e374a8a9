"""Bench section ``forecast``: the day-ahead price forecast's back-test (no chain).

The seeded multi-week history (:mod:`ledger.analytics.history`; full: the 7 regions over
70 days, the last 14 held out; QUICK: 3 regions over 35 days, 7 held out) is split in
time: the quantile models (:mod:`ledger.analytics.forecast`) are trained on the first days
and forecast every held-out day from the day before. Figures: the model's MAPE and the
seasonal-naive baseline's (the same interval a week earlier) over every held-out region and
interval; the model must beat the baseline. Also the share of actual prices inside the
p10-p90 band and the training and forecasting time.
"""

from __future__ import annotations

import os
import time

from ledger.analytics.forecast import backtest
from ledger.analytics.history import generate_history
from scripts.bench.report import Section

SEED = 7
#: (days, regions, held-out days).
FULL, QUICK = (70, 7, 14), (35, 3, 7)


def run(section: Section, quick: bool) -> None:
    days, regions, holdout = QUICK if quick else FULL
    t0 = time.perf_counter()
    history = generate_history(days, SEED, regions)
    result = backtest(history, holdout, SEED)
    wall = time.perf_counter() - t0
    section.add(
        "mape",
        "model MAPE on held-out days (p50 forecast)",
        round(result.mape, 2),
        "%",
        target="< baseline_mape",
        ok=result.beats_baseline,
    )
    section.add(
        "baseline_mape",
        "seasonal-naive MAPE (same interval a week earlier)",
        round(result.baseline_mape, 2),
        "%",
    )
    section.add(
        "band_coverage",
        "actual prices inside the p10-p90 band",
        round(100 * result.band_coverage, 1),
        "%",
    )
    section.add("wall_s", "generate, train 3 quantile models, forecast", round(wall, 1), "s")
    section.details.update(
        {
            "days": days,
            "regions": regions,
            "holdout_days": holdout,
            "train_days": result.train_days,
            "seed": SEED,
            "region_mape": {k: round(v, 2) for k, v in result.region_mape.items()},
            "region_baseline_mape": {
                k: round(v, 2) for k, v in result.region_baseline_mape.items()
            },
            "load_average": list(os.getloadavg()),
        }
    )
