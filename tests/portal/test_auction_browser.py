"""The auction pages in a real headless browser (Debian's chromium + chromedriver, as
tests/portal/test_browser.py): the consumer logs in, places a bid from the open auction's
row, checks the confirmation page and signs it; the order is live on its page. Each page is
saved as a screenshot (into ``$PORTAL_SCREENSHOTS`` when set, else the test's tmp dir) at a
desktop width and at 375 px."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.auction.conftest import Book
from tests.auction.conftest import book as book  # re-exported fixture
from tests.gateway.test_browser import browser as browser  # re-exported fixture
from tests.gateway.test_browser import follow
from tests.portal.conftest import PASSWORD, Env
from tests.portal.test_browser import pytestmark as pytestmark  # needs chromium


def _shot(d: Any, folder: Path, name: str) -> None:
    d.save_screenshot(str(folder / f"{name}.png"))
    d.set_window_size(375, 1400)
    d.save_screenshot(str(folder / f"{name}-375.png"))
    d.set_window_size(1280, 1000)


def test_consumer_places_a_bid(env: Env, book: Book, browser: Any, tmp_path: Path) -> None:
    shots = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    aid = book.open()
    b = env.market.buyer
    before = b.token.balance_of(b.address)
    d = browser
    d.get(env.url + "/login")
    d.find_element("id", "password").send_keys(PASSWORD)
    follow(d, d.find_element("id", "login"))
    follow(d, d.find_element("id", "nav-auctions"))
    assert d.current_url.endswith("/auctions")
    row = d.find_element("css selector", "#open-auctions td form")
    row.find_element("name", "energy_mwh").send_keys("0.3")
    row.find_element("name", "price").send_keys("4000")
    _shot(d, shots, "auction-1-open")
    follow(d, row.find_element("tag name", "button"))
    confirm = d.find_element("id", "confirm").text
    assert f"CentralAuction.placeOrder({aid}, Bid, 300000, 400000)" in confirm
    assert "1245.00 CNY (124,500 fen)" in confirm  # escrow: 1,200 CNY energy + 45 CNY fee
    _shot(d, shots, "auction-2-confirm")
    follow(d, d.find_element("id", "sign"))
    assert "Order 1 placed in auction 1" in d.page_source
    assert "heldFen=124500" in d.find_element("id", "outcome").text
    _shot(d, shots, "auction-3-result")
    assert b.token.balance_of(b.address) == before - 124_500
    d.get(env.url + "/auctions")
    assert d.find_element("css selector", "#orders .order-status").text == "live"
    _shot(d, shots, "auction-4-orders")
    # below the minimum lot: one line above the tables
    row = d.find_element("css selector", "#open-auctions td form")
    row.find_element("name", "energy_mwh").send_keys("0.001")
    row.find_element("name", "price").send_keys("4000")
    follow(d, row.find_element("tag name", "button"))
    assert "below auction 1's minimum lot" in d.find_element("id", "error").text
    _shot(d, shots, "auction-5-error")
