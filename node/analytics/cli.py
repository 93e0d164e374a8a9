"""``gridledger analytics ...``: day-ahead price forecast, its back-test, consumer clusters
and advice in money (docs/analytics.md).

``forecast`` and ``backtest`` run on the seeded multi-week history
(:mod:`ledger.analytics.history`), or with ``--from-gateway URL`` on the market's own
trades as that gateway indexed them (``GET /api/v1/analytics/prices``, at least
:data:`~ledger.analytics.history.MIN_MARKET_DAYS` days); ``clusters`` clusters the meters
of a readings file, or the sample population (:mod:`ledger.analytics.population`) with each
consumer's flags and its best saving; ``advice`` prices one consumer's month (the inputs of
``gridledger retail bill compute``) as it is and as advised, with the bill engine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import typer
from rich.table import Table

from ledger import cli_support as cli
from ledger.analytics.charts import forecast_chart, profiles_chart
from ledger.analytics.consumption import (
    ConsumerAdvice,
    advise,
    cluster_profiles,
    meter_profiles,
)
from ledger.analytics.forecast import DayForecast, Prices, forecast_next_day
from ledger.analytics.forecast import backtest as run_backtest
from ledger.analytics.history import (
    MIN_MARKET_DAYS,
    PRICES_API_PATH,
    PriceCell,
    PriceHistory,
    generate_history,
    history_from_cells,
)
from ledger.analytics.population import sample_population
from ledger.errors import GridLedgerError, ValidationError
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.canonical import load_model
from ledger.retail.months import check_month
from ledger.retail.packages import RetailPackage
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import Readings, load_file
from ledger.retail.samples import sample_rates
from ledger.units import fen_to_cny
from ledger.webauth import API_KEY_HEADER

app = typer.Typer(
    help="Analytics: day-ahead price forecast, back-test, consumer clusters and advice.",
    no_args_is_help=True,
)

DaysOpt = Annotated[
    int, typer.Option("--days", min=15, max=366, help="Days of generated price history.")
]
SeedOpt = Annotated[
    int, typer.Option("--seed", min=0, help="Seed of the generated data (0 or more).")
]
RegionsOpt = Annotated[int, typer.Option("--regions", min=1, max=7, help="Regions (1-7).")]
MonthOpt = Annotated[int, typer.Option("--month", help="Month YYYYMM (local, UTC+8).")]
ChartOpt = Annotated[Path | None, typer.Option("--out", help="Write the chart (SVG) here.")]


GatewayOpt = Annotated[
    str | None,
    typer.Option(
        "--from-gateway",
        help="Gateway base URL: use the market's own indexed history (GET "
        "/api/v1/analytics/prices) instead of the generated one.",
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="GRIDLEDGER_GATEWAY_API_KEY", help="Gateway API key."),
]


class GatewayError(GridLedgerError):
    """The gateway could not be reached or refused the price history."""


def market_history(url: str, api_key: str | None) -> PriceHistory:
    """The market's history as the gateway at ``url`` indexed it (at least
    :data:`MIN_MARKET_DAYS` days, else ValidationError)."""
    headers = {API_KEY_HEADER: api_key} if api_key else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}{PRICES_API_PATH}", headers=headers, timeout=120)
    except httpx.HTTPError as exc:
        raise GatewayError(f"the gateway at {url} is unreachable: {exc}") from exc
    if response.status_code != 200:
        raise GatewayError(f"the gateway refused the price history: {response.text[:200]}")
    data = response.json()
    if data["days"] < MIN_MARKET_DAYS:
        raise ValidationError(
            f"not enough market history: {data['days']} days indexed, the forecast needs "
            f"{MIN_MARKET_DAYS}"
        )
    return history_from_cells(
        [PriceCell(**c | {"day": date.fromisoformat(c["day"])}) for c in data["cells"]]
    )


def _history(
    url: str | None, api_key: str | None, days: int, seed: int, regions: int
) -> PriceHistory:
    if url is not None:
        return market_history(url, api_key)
    return generate_history(days, seed, regions)


@app.command("forecast")
def forecast(
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
    days: DaysOpt = 35,
    regions: RegionsOpt = 7,
    seed: SeedOpt = 7,
    out: ChartOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """Forecast tomorrow's price per region and interval (p10, p50, p90) from the history."""
    history = _history(gateway, api_key, days, seed, regions)
    days = history.days
    chosen = [history.region_index(region)] if region else range(len(history.regions))
    result = forecast_next_day(history, seed)
    if out is not None:
        r = chosen[0]
        title = f"{history.regions[r]} {result.day}: forecast price with its p10-p90 band"
        out.write_text(forecast_chart(result, r, title), encoding="utf-8")
    if as_json:
        cli.print_json(
            {
                "day": str(result.day),
                "trained_on_days": days,
                "history": history.source,
                "filled_cells": history.filled_cells,
                "regions": {history.regions[r]: result.region_rows(r) for r in chosen},
            }
        )
        return
    table = Table("region", "mean p50", "min p50", "max p50", "band width (mean)")
    for r in chosen:
        p10, p50, p90 = (a[r] for a in _bands(result))
        table.add_row(
            history.regions[r],
            *(f"{v / 100:,.2f}" for v in (p50.mean(), p50.min(), p50.max(), (p90 - p10).mean())),
        )
    cli.console.print(f"day-ahead forecast of {result.day} (CNY/MWh), trained on {days} days")
    cli.console.print(table)
    if out is not None:
        cli.console.print(f"wrote {out}")


def _bands(result: DayForecast) -> tuple[Prices, Prices, Prices]:
    return result.p10_fen_per_mwh, result.p50_fen_per_mwh, result.p90_fen_per_mwh


@app.command("backtest")
def backtest(
    days: DaysOpt = 56,
    holdout: Annotated[int, typer.Option("--holdout", min=1, help="Held-out days.")] = 14,
    regions: RegionsOpt = 7,
    seed: SeedOpt = 7,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """Back-test on held-out days: the model's MAPE against the seasonal-naive baseline."""
    history = _history(gateway, api_key, days, seed, regions)
    result = run_backtest(history, holdout, seed)
    if as_json:
        cli.print_json(
            result.__dict__
            | {
                "beats_baseline": result.beats_baseline,
                "history": history.source,
                "history_days": history.days,
                "filled_cells": history.filled_cells,
            }
        )
        return
    table = Table("region", "model MAPE %", "seasonal-naive MAPE %")
    for name, value in result.region_mape.items():
        table.add_row(name, f"{value:.2f}", f"{result.region_baseline_mape[name]:.2f}")
    table.add_row("all", f"{result.mape:.2f}", f"{result.baseline_mape:.2f}")
    cli.console.print(
        f"{history.source} history of {history.days} days: "
        f"trained on {result.train_days} days, tested on {result.test_days} held-out days; "
        f"p10-p90 band holds {result.band_coverage:.0%} of actual prices"
    )
    cli.console.print(table)


@app.command("clusters")
def clusters(
    readings: Annotated[
        Path | None,
        typer.Option("--readings", help="Readings CSV or JSON: each meter is a consumer."),
    ] = None,
    consumers: Annotated[
        int, typer.Option("--consumers", min=3, max=2_000, help="Sample population size.")
    ] = 24,
    month: MonthOpt = 202606,
    seed: SeedOpt = 0,
    out: ChartOpt = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """Cluster consumers by their normalised daily load profile (k by silhouette, 2-8)."""
    check_month(month)
    reports: list[ConsumerAdvice] = []
    if readings is not None:
        names, profiles = meter_profiles(_readings(readings))
    else:
        rates = sample_rates()
        population = sample_population(consumers, month, seed)
        reports = [advise(c.account, c.readings, c.package, rates, month) for c in population]
        names, profiles = [r.consumer for r in reports], np.stack([r.profile for r in reports])
    result = cluster_profiles(profiles, seed)
    if out is not None:
        chart = profiles_chart(
            result.centroids.tolist(), result.names, f"{result.k} load patterns (centroids)"
        )
        out.write_text(chart, encoding="utf-8")
    rows = [
        {"consumer": name, "cluster": label} | (_advice_row(reports[i]) if reports else {})
        for i, (name, label) in enumerate(zip(names, result.labels, strict=True))
    ]
    if as_json:
        cli.print_json(
            {
                "k": result.k,
                "silhouettes": result.silhouettes,
                "clusters": result.names,
                "consumers": rows,
            }
        )
        return
    scores = ", ".join(f"k={k}: {s:.3f}" for k, s in result.silhouettes.items())
    cli.console.print(f"k = {result.k} by the best mean silhouette ({scores})")
    for i, name in enumerate(result.names):
        cli.console.print(f"cluster {i}: {name}")
    table = Table(*rows[0].keys()) if rows else Table("consumer")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    cli.console.print(table)


def _advice_row(report: ConsumerAdvice) -> dict[str, Any]:
    best = max((a.saving_fen for a in report.advice), default=0)
    return {
        "flags": ",".join(report.flags) or "-",
        "bill_cny": fen_to_cny(report.bill_fen),
        "best_saving_cny": fen_to_cny(best),
    }


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path} is not UTF-8 text") from exc


def _readings(path: Path) -> Readings:
    """The readings file (CSV or JSON); a file that is not text is named."""
    try:
        return load_file(path)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path} is not UTF-8 text") from exc


@app.command("advice")
def advice(
    account: Annotated[Path, typer.Option("--account", help="Consumer account JSON.")],
    package: Annotated[Path, typer.Option("--package", help="Its retail package JSON.")],
    rates: Annotated[Path, typer.Option("--rates", help="Published rates JSON.")],
    readings: Annotated[Path, typer.Option("--readings", help="Readings CSV or JSON.")],
    month: MonthOpt,
    as_json: cli.JsonOpt = False,
) -> None:
    """A consumer's flags (low power factor, peak-heavy) and advice priced by its bill."""
    texts = [_read(p) for p in (account, package, rates, readings)]
    report = advise(
        load_model(ConsumerAccount, texts[0], str(account)),
        _readings(readings),
        load_model(RetailPackage, texts[1], str(package)),
        load_model(PublishedRates, texts[2], str(rates)),
        check_month(month),
    )
    rows = [
        {
            "kind": a.kind,
            "saving_fen": a.saving_fen,
            "bill_before_fen": a.bill_before_fen,
            "bill_after_fen": a.bill_after_fen,
            "text": a.text,
        }
        for a in report.advice
    ]
    if as_json:
        cli.print_json(
            {
                "consumer": report.consumer,
                "month": report.month,
                "bill_fen": report.bill_fen,
                "peak_ratio": round(report.peak_ratio, 3),
                "power_factor_hundredths": report.power_factor_hundredths,
                "flags": report.flags,
                "advice": rows,
            }
        )
        return
    cli.console.print(
        f"{report.consumer} {report.month}: bill {fen_to_cny(report.bill_fen)} CNY, "
        f"peak-period load {report.peak_ratio:.2f} x flat, flags: {', '.join(report.flags) or '-'}"
    )
    for a in report.advice:
        cli.console.print(f"- {a.text}")
