"""The explorer's ``/analytics/forecast`` page: the day-ahead price forecast per region with
its p10-p90 band (inline SVG), and the back-test against the seasonal-naive baseline.

The page runs on the market's own history (the indexed trades, :mod:`gateway.analytics_prices`)
once it spans :data:`~ledger.analytics.history.MIN_MARKET_DAYS` days; until then on the seeded
history of :mod:`ledger.analytics.history`, labelled "synthetic" with the days indexed
(docs/analytics.md). It is computed in a background thread, started by the first request and
again whenever the indexed trades change (training takes seconds on a quiet machine, a
minute on a busy one); until the first is ready the page says so and reloads itself, and
while a later one runs it shows the last finished one."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import Connection, Engine, func, select

from gateway.analytics_prices import T, cells_of, market_prices
from gateway.deps import EngineDep
from gateway.pages import PageDep
from ledger.analytics.charts import forecast_chart
from ledger.analytics.history import MIN_MARKET_DAYS

if TYPE_CHECKING:  # scikit-learn is imported when the page is first asked for
    from ledger.analytics.forecast import Backtest, DayForecast
    from ledger.analytics.history import PriceHistory

pages = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])
#: The synthetic history: days, seed (also the models'), held-out days of the back-test.
DAYS, SEED, HOLDOUT = 35, 7, 7


@dataclass(frozen=True)
class _Analysis:
    history: PriceHistory
    tomorrow: DayForecast
    backtest: Backtest
    indexed_days: int
    """Local days the indexed trades span (0: none)."""
    trades: int


def compute(engine: Engine) -> _Analysis:
    """The history (the market's, else the generated one), tomorrow's forecast, the
    back-test."""
    from ledger.analytics.forecast import backtest, forecast_next_day
    from ledger.analytics.history import generate_history, history_from_cells

    with engine.connect() as conn:
        prices = market_prices(conn)
    if prices.days >= MIN_MARKET_DAYS:
        history = history_from_cells(cells_of(prices))
    else:
        history = generate_history(DAYS, SEED)
    return _Analysis(
        history,
        forecast_next_day(history, SEED),
        backtest(history, HOLDOUT, SEED),
        prices.days,
        prices.trades,
    )


def trades_key(conn: Connection) -> tuple[int, int]:
    """What changes when the indexed trades do: their count and newest block."""
    row = conn.execute(select(func.count(), func.max(T.c.block_number))).one()
    return int(row[0]), int(row[1] or 0)


class _Job:
    """The computation of the current trades: restarted when they change or it failed.
    While a new one runs, the page shows the last finished one (a busy market would
    otherwise keep the page waiting)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analytics")
        self.future: Future[_Analysis] | None = None
        self.key: object = None
        self.last: dict[object, _Analysis] = {}

    def latest(self, engine: Engine, key: tuple[object, ...]) -> _Analysis | None:
        """The analysis of ``key`` (``(database, ...)``) or the last finished one of the
        same database; None while the first one runs."""
        with self.lock:
            failed = self.future is not None and self.future.done() and self.future.exception()
            if self.future is None or failed or key != self.key:
                self.future = self.pool.submit(compute, engine)
                self.key = key
            if self.future.done() and not self.future.exception():
                self.last[key[0]] = self.future.result()
            return self.last.get(key[0])


JOB = _Job()


@pages.get("/analytics/forecast", summary="Day-ahead price forecast per region with its band")
def forecast_page(
    page: PageDep,
    engine: EngineDep,
    region: Annotated[str | None, Query(max_length=40, description="Region name.")] = None,
) -> HTMLResponse:
    data = JOB.latest(engine, (engine.url.render_as_string(), *trades_key(page.conn)))
    if data is None:
        return page.render("analytics_forecast.html", title="Price forecast", pending=True)
    names = data.history.regions
    chosen = region or names[0]
    if chosen.lower() not in [n.lower() for n in names]:
        raise HTTPException(404, f"unknown region {chosen!r}")
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
        history=data.history,
        indexed_days=data.indexed_days,
        trades=data.trades,
        min_days=MIN_MARKET_DAYS,
        days=DAYS,
        seed=SEED,
    )
