"""The explorer in a real headless browser (Debian's chromium + chromedriver, driven by
selenium): a regulator's path from the overview to a trade's meter proof, and a filtered
list's CSV download equal to the history API's answer for the same filter, and the
certificate tokens paged older and back newer."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateway.indexer import Indexer
from tests.gateway.conftest import node
from tests.gateway.synthetic import VINTAGE, many_certificates, many_trades, market_events, store
from tests.gateway.test_explorer import api_trades

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)
Live = tuple[str, httpx.Client]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def follow(d: Any, element: Any) -> None:
    """Click ``element``, wait until the browser has left the page it was on and has
    loaded the next one completely.

    The old page is marked with a window property; a new document has a new window
    object, so the mark's absence means the navigation happened. Asking while the
    browser is between documents can fail in several ways (stale element, "node does
    not belong to the document", no such window); each of these means "not yet"."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    d.execute_script("window.__gridledgerOldPage = true;")
    element.click()

    def loaded_next_page(driver: Any) -> bool:
        try:
            return bool(
                driver.execute_script(
                    "return window.__gridledgerOldPage === undefined"
                    " && document.readyState === 'complete'"
                )
            )
        except WebDriverException:
            return False

    WebDriverWait(d, 60).until(loaded_next_page)


@pytest.fixture
def market(indexer: Indexer, gw_engine: Engine) -> None:
    indexer.run_once()
    store(indexer, gw_engine, market_events() + many_trades(120))


def test_overview_to_a_trades_meter_proof(live: Live, market: None, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    url, _ = live
    d = browser  # selenium WebDriver
    d.get(url + "/")
    assert "Market overview" in d.title
    assert d.find_elements(By.CSS_SELECTOR, "svg.chart")
    follow(d, d.find_element(By.LINK_TEXT, "Trades"))
    assert d.current_url.endswith("/trades")
    first = d.find_elements(By.CSS_SELECTOR, "td a[href^='/trades/']")
    assert first[0].text == "#219"
    assert len(first) == 50
    follow(d, d.find_element(By.ID, "older"))
    second = d.find_elements(By.CSS_SELECTOR, "td a[href^='/trades/']")
    assert [a.text for a in second][:2] == ["#169", "#168"]
    follow(d, d.find_element(By.ID, "older"))
    follow(d, d.find_element(By.LINK_TEXT, "#7"))
    assert d.find_element(By.TAG_NAME, "h1").text == "Trade #7"
    proofs = d.find_elements(By.CSS_SELECTOR, "a.proof")
    assert len(proofs) == 2  # seller and buyer
    target = f"/api/v1/proofs/meter/{node(1)}/{VINTAGE}"
    assert proofs[0].get_attribute("href").endswith(target)
    follow(d, proofs[0])
    assert d.current_url.endswith(target)
    answer = json.loads(d.find_element(By.TAG_NAME, "body").text)
    # a JSON answer of the meter-proof endpoint (the proof, or which API key it needs)
    assert answer.get("merkle_root") or "API key" in answer.get("detail", "")


def test_filtered_list_csv_equals_the_api(live: Live, market: None, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, client = live
    d = browser
    d.get(url + "/trades")
    form = d.find_element(By.CSS_SELECTOR, "form.filters")
    form.find_element(By.NAME, "period").send_keys(str(VINTAGE))
    Select(form.find_element(By.NAME, "status")).select_by_visible_text("settled")
    form.find_element(By.NAME, "participant").send_keys(node(2))
    follow(d, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    shown = d.find_elements(By.CSS_SELECTOR, "td a[href^='/trades/']")
    href = d.find_element(By.ID, "csv").get_attribute("href")
    rows = list(csv.DictReader(io.StringIO(client.get(href).text)))
    expected = api_trades(client, period=VINTAGE, status="settled", participant=node(2))
    assert rows == [{k: "" if v is None else str(v) for k, v in e.items()} for e in expected]
    assert sorted(int(a.text[1:]) for a in shown) == [int(r["trade_id"]) for r in rows]
    assert len(rows) >= 10


def test_certificates_paged_both_ways(
    live: Live, indexer: Indexer, gw_engine: Engine, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    indexer.run_once()
    store(indexer, gw_engine, market_events() + many_certificates(60))
    url, _ = live
    d = browser
    d.get(url + "/certificates")

    def tokens() -> list[str]:
        return [
            td.get_attribute("title")
            for td in d.find_elements(By.CSS_SELECTOR, "table.tokens td[title]")
        ]

    first = tokens()
    assert len(first) == 50
    follow(d, d.find_element(By.ID, "older"))
    assert "before=" in d.current_url
    second = tokens()
    assert len(second) == 50
    assert not set(first) & set(second)
    follow(d, d.find_element(By.ID, "older"))
    assert len(tokens()) == 21
    assert not d.find_elements(By.ID, "older")  # the last page
    follow(d, d.find_element(By.ID, "newer"))
    assert tokens() == second
    follow(d, d.find_element(By.ID, "newer"))
    assert tokens() == first
    # a preview's "older" link continues the quota rules' paged list
    follow(d, d.find_element(By.CSS_SELECTOR, "a.older[href^='/certificates/quota-rules']"))
    assert d.find_element(By.TAG_NAME, "h1").text == "Renewable quota rules by period"
    assert len(d.find_elements(By.CSS_SELECTOR, "table tr")) == 1 + 50  # the 11th to 60th
    follow(d, d.find_element(By.ID, "older"))
    assert len(d.find_elements(By.CSS_SELECTOR, "table tr")) == 1 + 1  # the oldest rule
