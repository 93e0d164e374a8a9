"""The portal in a real headless browser (Debian's chromium + chromedriver, driven by
selenium, as tests/gateway/test_browser.py): a consumer logs in, asks for the optimiser's
plan and takes it through the confirmation page. Each page is saved as a screenshot
(into ``$PORTAL_SCREENSHOTS`` when set, else the test's tmp dir), also at a phone's width."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.test_browser import CHROMEDRIVER, CHROMIUM, follow
from tests.gateway.test_browser import browser as browser  # re-exported fixture
from tests.portal.conftest import PASSWORD, Env

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


def _shot(d: Any, folder: Path, name: str) -> None:
    d.save_screenshot(str(folder / f"{name}.png"))
    d.set_window_size(390, 1400)
    d.save_screenshot(str(folder / f"{name}-phone.png"))
    d.set_window_size(1280, 1000)


def test_consumer_logs_in_and_takes_the_recommended_plan(
    env: Env, browser: Any, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    d = browser
    d.get(env.url + "/")
    assert d.current_url.endswith("/login")
    _shot(d, shots, "1-login")
    d.find_element("id", "password").send_keys(PASSWORD)
    follow(d, d.find_element("id", "login"))
    assert "consumer (buyer)" in d.page_source
    _shot(d, shots, "2-status")
    d.get(env.url + "/offers")
    d.find_element("id", "target_mwh").send_keys("4")
    follow(d, d.find_element("id", "recommend"))
    assert "take-plan" in d.page_source
    _shot(d, shots, "3-offers-plan")
    follow(d, d.find_element("id", "take-plan"))
    confirm = d.find_element("id", "confirm").text
    assert "TradingMarket.take" in confirm
    assert "4 MWh (4,000,000 Wh)" in confirm
    _shot(d, shots, "4-confirm")
    follow(d, d.find_element("id", "sign"))
    outcome = d.find_element("id", "outcome").text
    assert "Plan executed" in d.page_source
    assert "4 MWh (4,000,000 Wh)" in outcome
    _shot(d, shots, "5-result")
    taken = env.market.buyer.market.all_trades_of(env.market.buyer.address)
    assert sum(t.energy_wh for t in taken) == 4_000_000
    d.get(env.url + "/trades")
    _shot(d, shots, "6-trades")
    for page in ("statements", "ratings"):
        d.get(f"{env.url}/{page}")
        _shot(d, shots, f"7-{page}")
    # a single take too large for the listing: the error stands on the form
    d.get(env.url + "/offers")
    row_form = d.find_element("css selector", "td form")
    row_form.find_element("name", "energy_mwh").send_keys("999")
    follow(d, row_form.find_element("tag name", "button"))
    assert "has only 2 MWh (2,000,000 Wh) left" in d.find_element("id", "take-error").text
    _shot(d, shots, "8-take-error")
