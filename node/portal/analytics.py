"""The portal's analytics page (``/analytics``, docs/analytics.md): a consumer pastes its
month (account, package, published rates, readings CSV) and sees its load profile, its
load pattern, its flags and advice priced by the bill engine; a retailer pastes its
customers' readings (each meter a customer) and sees their load-pattern clusters.

Readings and tariff files are not on chain, so the page works on what is pasted; nothing
is signed and nothing is kept."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from ledger.analytics.charts import profiles_chart
from ledger.analytics.consumption import advise, cluster_profiles, describe, meter_profiles
from ledger.errors import GridLedgerError, ValidationError
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.canonical import load_model
from ledger.retail.months import check_month
from ledger.retail.packages import RetailPackage
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import FIELDS, Readings, from_rows
from node.portal.app import Portal, error_line
from node.portal.sessions import Session


def readings_of(text: str) -> Readings:
    """Readings from pasted CSV text with a header naming :data:`FIELDS`."""
    reader = csv.DictReader(io.StringIO(text.strip()))
    missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(f"readings CSV: missing column(s) {missing}")
    return from_rows([row[f] for f in FIELDS] for row in reader)


def _month(fields: dict[str, str]) -> int:
    try:
        return check_month(int(fields.get("month", "")))
    except ValueError as exc:
        raise ValidationError("month must be YYYYMM, e.g. 202607") from exc


def consumer_view(fields: dict[str, str]) -> dict[str, Any]:
    """The consumer's profile chart, pattern, flags and advice from the pasted month."""
    report = advise(
        load_model(ConsumerAccount, fields.get("account_json", ""), "account file"),
        readings_of(fields.get("readings_csv", "")),
        load_model(RetailPackage, fields.get("package_json", ""), "package file"),
        load_model(PublishedRates, fields.get("rates_json", ""), "rates file"),
        _month(fields),
    )
    chart = profiles_chart([report.profile.tolist()], ["your day"], "Your average day")
    return {
        "report": report,
        "pattern": describe(report.profile),
        "chart": Markup(chart),  # noqa: S704 - numbers and escaped text only
    }


def retailer_view(fields: dict[str, str]) -> dict[str, Any]:
    """The customers' load-pattern clusters from the pasted readings."""
    names, profiles = meter_profiles(readings_of(fields.get("readings_csv", "")))
    result = cluster_profiles(profiles)
    chart = profiles_chart(result.centroids.tolist(), result.names, "Customers' load patterns")
    sizes = np.bincount(np.asarray(result.labels), minlength=result.k).tolist()
    return {
        "clustering": result,
        "sizes": sizes,
        "members": list(zip(names, result.labels, strict=True)),
        "chart": Markup(chart),  # noqa: S704 - numbers and escaped text only
    }


def register(app: FastAPI, portal: Portal) -> None:
    """Add ``/analytics`` (GET: the forms; POST ``/analytics/advice`` and
    ``/analytics/clusters``: the results on the same page)."""

    def page(request: Request, session: Session, status: int = 200, **kw: Any) -> Response:
        kw.setdefault("kept", {})
        kw.setdefault("kept_clusters", {})
        return portal.render(request, "analytics.html", session, status, **kw)

    @app.get("/analytics", response_class=HTMLResponse)
    def analytics(request: Request) -> Response:
        return page(request, portal.session(request))

    async def posted(request: Request, view: Any, error_key: str) -> Response:
        session = portal.session(request)
        fields = await portal.form(request, session)
        try:
            return page(request, session, **view(fields))
        except (GridLedgerError, ValueError) as exc:
            # what was pasted stays in its form, to be corrected rather than pasted again
            kept = "kept" if error_key == "advice_error" else "kept_clusters"
            return page(request, session, 422, **{error_key: error_line(exc), kept: fields})

    @app.post("/analytics/advice", response_class=HTMLResponse)
    async def advice(request: Request) -> Response:
        return await posted(request, consumer_view, "advice_error")

    @app.post("/analytics/clusters", response_class=HTMLResponse)
    async def clusters(request: Request) -> Response:
        return await posted(request, retailer_view, "clusters_error")
