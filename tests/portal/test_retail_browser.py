"""The retail pages in a real headless browser (as tests/portal/test_browser.py): a
retailer publishes a package from its file, a consumer loads its issue file and pays part of
its bill. Each page is saved as a screenshot (into ``$PORTAL_SCREENSHOTS`` when set, else the
test's tmp dir), also at a phone's width."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ledger.retail.canonical import canonical_json
from tests.gateway.test_browser import CHROMEDRIVER, CHROMIUM, follow
from tests.gateway.test_browser import browser as browser  # re-exported fixture
from tests.portal.conftest import PASSWORD
from tests.portal.test_browser import _shot
from tests.portal.test_retail import issue_bills, serve
from tests.retail.onchain_fixtures import Retail, market, retail

__all__ = ["market", "retail"]

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


def _login(d: Any, url: str) -> None:
    d.get(url + "/")
    d.find_element("id", "password").send_keys(PASSWORD)
    follow(d, d.find_element("id", "login"))
    follow(d, d.find_element("id", "nav-retail"))


def _paste(d: Any, form_id: str, text: str) -> None:
    form = d.find_element("id", form_id)
    form.find_element("tag name", "textarea").send_keys(text)
    follow(d, form.find_element("css selector", "button.primary"))


def test_retailer_publishes_and_consumer_pays(retail: Retail, browser: Any, tmp_path: Path) -> None:
    shots = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    d = browser
    package = retail.package(retail.retailer, name="Shop fixed")
    with serve(retail, retail.retailer.account, tmp_path / "ret") as url:
        _login(d, url)
        _paste(d, "publish-form", canonical_json(package).decode())
        assert "RetailPackages.publish" in d.find_element("id", "confirm").text
        _shot(d, shots, "r1-publish-confirm")
        follow(d, d.find_element("id", "sign"))
        assert "Published package 1" in d.page_source
        d.get(url + "/retail")
        _paste(d, "publish-form", '{"retailer": "0x12"}')
        assert "package file:" in d.find_element("id", "publish-error").text
        _shot(d, shots, "r2-retailer-error")
    retail.bind(1, retail.agency)
    batch = issue_bills(retail)
    with serve(retail, retail.consumer.account, tmp_path / "con") as url:
        _login(d, url)
        _paste(d, "issue-form", batch.model_dump_json())
        assert "unpaid" in d.find_element("id", "bills").text
        _shot(d, shots, "r3-consumer-bills")
        form = d.find_element("css selector", "#bills form")
        form.find_element("name", "amount_fen").send_keys("100000")
        follow(d, form.find_element("tag name", "button"))
        assert "1000.00 CNY (100,000 fen)" in d.find_element("id", "confirm").text
        _shot(d, shots, "r4-pay-confirm")
        follow(d, d.find_element("id", "sign"))
        assert "BillPaid" in d.find_element("id", "outcome").text
        _shot(d, shots, "r5-paid")
        d.get(url + "/retail")
        assert "partly paid" in d.find_element("id", "bills").text
        _shot(d, shots, "r6-consumer-after")
    with serve(retail, retail.retailer.account, tmp_path / "ret2") as url:
        _login(d, url)
        d.get(url + "/retail?month=202611")
        assert "revenue 1324.56 CNY" in d.find_element("id", "report-summary").text
        _shot(d, shots, "r7-retailer-report")
