"""The portal's ``/analytics`` against a real chain (tests/retail's fixture): a consumer
pastes its month and sees its flags and advice, the saving the bill engine's difference; a
retailer pastes its customers' readings and sees their clusters; a bad file is one line."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np

from ledger.analytics.consumption import advise
from ledger.analytics.population import sample_population
from ledger.retail.readings import Readings, write_csv
from ledger.retail.samples import sample_rates
from tests.portal.conftest import csrf_of
from tests.portal.test_retail import portal_of
from tests.retail.onchain_fixtures import Retail, market, retail

__all__ = ["market", "retail"]
MONTH = 202606


def _csv(readings: Readings, tmp_path: Path) -> str:
    path = tmp_path / "r.csv"
    write_csv(readings, path)
    return path.read_text()


def test_consumer_sees_its_flags_and_priced_advice(retail: Retail, tmp_path: Path) -> None:
    c = sample_population(2, MONTH, seed=5)[1]  # evening peak: peak-heavy
    expected = advise(c.account, c.readings, c.package, sample_rates(), MONTH)
    with portal_of(retail, retail.consumer.account, tmp_path) as client:
        page = client.get("/analytics")
        assert page.status_code == 200
        assert 'id="nav-analytics"' in page.text
        form = {
            "csrf": csrf_of(page.text),
            "month": str(MONTH),
            "account_json": c.account.model_dump_json(),
            "package_json": c.package.model_dump_json(),
            "rates_json": sample_rates().model_dump_json(),
            "readings_csv": _csv(c.readings, tmp_path),
        }
        shown = client.post("/analytics/advice", data=form)
        assert shown.status_code == 200, shown.text
        text = html.unescape(shown.text)
        assert "peak_heavy" in expected.flags
        flags = re.search(r'id="flags">([^<]*)<', text)
        assert flags is not None
        assert flags.group(1) == ", ".join(expected.flags)
        savings = dict(re.findall(r'data-kind="(\w+)" data-saving-fen="(-?\d+)"', text))
        assert savings == {a.kind: str(a.saving_fen) for a in expected.advice}
        assert "evening peak" in text
        bad = client.post("/analytics/advice", data=form | {"package_json": "{not json"})
        assert bad.status_code == 422
        error = re.search(r'id="advice-error">([^<]*)<', bad.text)
        assert error is not None
        assert "package file" in error.group(1)


def test_retailer_sees_its_customers_clusters(retail: Retail, tmp_path: Path) -> None:
    population = sample_population(12, MONTH, seed=3)
    parts = [c.readings for c in population]
    merged = Readings(
        tuple(m for r in parts for m in r.meter_ids),
        np.concatenate([r.meter + i for i, r in enumerate(parts)]),
        np.concatenate([r.interval_start for r in parts]),
        np.concatenate([r.import_wh for r in parts]),
        np.concatenate([r.export_wh for r in parts]),
        np.concatenate([r.reactive_varh for r in parts]),
    )
    with portal_of(retail, retail.retailer.account, tmp_path) as client:
        nonce = csrf_of(client.get("/analytics").text)
        data = {"csrf": nonce, "readings_csv": _csv(merged, tmp_path)}
        shown = client.post("/analytics/clusters", data=data)
        assert shown.status_code == 200, shown.text
        assert "k = 4 clusters" in shown.text
        assert shown.text.count("<svg") == 1
        assert shown.text.count('<td class="mono">') == 12
