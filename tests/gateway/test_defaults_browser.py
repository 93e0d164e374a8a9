"""The default fund page in a real headless browser (Debian's chromium, selenium): from the
overview through the nav's "Defaults" link to the fund's state, the default's waterfall and
the members, as a regulator sees them. ``GRIDLEDGER_SCREENSHOT_DIR`` keeps a screenshot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from gateway.indexer import Indexer
from tests.gateway.test_browser import browser as browser  # the fixture (skips without chromium)
from tests.gateway.test_browser import follow, pytestmark  # noqa: F401 - the skip marker
from tests.gateway.test_defaults_explorer import defaulted
from tests.settlement.conftest import Flow
from tests.settlement.conftest import flow as flow  # the fixtures
from tests.settlement.test_defaults_waterfall import ALLOCATED, BOND, DEBT, FUND, WALLET
from tests.trading.conftest import market as market

Live = tuple[str, httpx.Client]


def test_defaults_page_in_a_browser(flow: Flow, indexer: Indexer, live: Live, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    fund = defaulted(flow)
    indexer.run_once()
    url, _ = live
    d = browser
    d.get(url + "/")
    follow(d, d.find_element(By.LINK_TEXT, "Defaults"))
    assert d.current_url.endswith("/defaults")
    assert d.find_element(By.TAG_NAME, "h1").text == "Default fund"
    assert d.find_element(By.ID, "fund-fen").text == f"{fund.fund_fen():,}"
    assert d.find_element(By.ID, "unfunded-fen").text == f"{fund.unfunded_fen():,}"
    assert d.find_element(By.ID, "loss-index").text == str(fund.loss_index())
    table = d.find_element(By.CSS_SELECTOR, "table.waterfall")
    cells = table.find_elements(By.CSS_SELECTOR, "td.fen")
    shown = {c.get_attribute("data-rule"): c.text for c in cells}
    assert shown == {
        "CREDIT": "0",
        "WALLET": f"{WALLET:,}",
        "BOND": f"{BOND:,}",
        "FUND": f"{FUND:,}",
        "ALLOCATION": f"{ALLOCATED:,}",
        "DEBT": f"{DEBT:,}",
    }
    rows = d.find_elements(By.CSS_SELECTOR, "table.members tr[data-node]")
    assert len(rows) == 3
    seller2 = flow.party("seller2").address
    row = d.find_element(By.CSS_SELECTOR, f'table.members tr[data-node="{seller2}"]')
    assert "631,684" in row.text
    assert "yes" in row.text  # enforced
    keep = os.environ.get("GRIDLEDGER_SCREENSHOT_DIR")
    if keep:
        d.set_window_size(1400, 2400)
        d.save_screenshot(str(Path(keep) / "defaults.png"))
