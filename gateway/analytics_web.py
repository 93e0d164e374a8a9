"""The explorer's ``/analytics/forecast`` page: the day-ahead price forecast per region with
its p10-p90 band (inline SVG), and the back-test against the seasonal-naive baseline.

The chain holds no multi-week price history yet, so the page runs on the seeded history of
:mod:`ledger.analytics.history` (docs/analytics.md). It is computed once per process, in a
background thread started by the first request (training takes seconds on a quiet machine,
a minute on a busy one); until it is ready the page says so and reloads itself."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from gateway.pages import PageDep
from ledger.analytics.charts import forecast_chart
from ledger.scenario import REGIONS

if TYPE_CHECKING:  # scikit-learn is imported when the page is first asked for
    from ledger.analytics.forecast import Backtest, DayForecast
    from ledger.analytics.history import PriceHistory

pages = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])
#: The page's history: days, seed, held-out days of the back-test.
DAYS, SEED, HOLDOUT = 35, 7, 7


@dataclass(frozen=True)
class _Analysis:
    history: PriceHistory
    tomorrow: DayForecast
    backtest: Backtest


def compute() -> _Analysis:
    """The history, tomorrow's forecast and the back-test."""
    from ledger.analytics.forecast import backtest, forecast_next_day
    from ledger.analytics.history import generate_history

    history = generate_history(DAYS, SEED)
    return _Analysis(history, forecast_next_day(history, SEED), backtest(history, HOLDOUT, SEED))


class _Job:
    """The one computation of the process: started once, restarted only if it failed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analytics")
        self.future: Future[_Analysis] | None = None

    def get(self) -> Future[_Analysis]:
        with self.lock:
            failed = self.future is not None and self.future.done() and self.future.exception()
            if self.future is None or failed:
                self.future = self.pool.submit(compute)
            return self.future


JOB = _Job()


@pages.get("/analytics/forecast", summary="Day-ahead price forecast per region with its band")
def forecast_page(
    page: PageDep,
    region: Annotated[str | None, Query(max_length=40, description="Region name.")] = None,
) -> HTMLResponse:
    names = tuple(r.name for r in REGIONS)
    chosen = region or names[0]
    if chosen.lower() not in [n.lower() for n in names]:
        raise HTTPException(404, f"unknown region {chosen!r}")
    job = JOB.get()
    if not job.done():
        return page.render("analytics_forecast.html", title="Price forecast", pending=True)
    data = job.result()
    r = data.history.region_index(chosen)
    name, t = names[r], data.tomorrow
    last = data.backtest.last
    actual = data.history.price_fen_per_mwh[r, data.history.days - 1]
    charts = [
        forecast_chart(t, r, f"{name}, {t.day}: forecast price (CNY/MWh) with its p10-p90 band"),
        forecast_chart(
            last, r, f"{name}, {last.day} (held out): forecast, band and actual price", actual
        ),
    ]
    hours = [row for row in t.region_rows(r) if row["interval"] % 4 == 0]
    return page.render(
        "analytics_forecast.html",
        title="Price forecast",
        regions=names,
        region=name,
        day=t.day,
        charts=[Markup(c) for c in charts],  # noqa: S704 - numbers and escaped text only
        hours=hours,
        bt=data.backtest,
        days=DAYS,
        seed=SEED,
    )
