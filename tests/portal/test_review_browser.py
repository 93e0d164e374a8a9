"""The verifier's pages in a real headless browser (Debian's chromium + chromedriver, as
tests/portal/test_browser.py): a verifier logs in, finds the applicant in the queue, reads
its identity bundle with a reason and approves it through the confirmation page. Each page
is saved as a screenshot (into ``$PORTAL_SCREENSHOTS`` when set, else the test's tmp dir),
also at a phone's width (375 px)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ledger.clients.registry import NodeStatus
from tests.gateway.test_browser import browser as browser  # re-exported fixture
from tests.gateway.test_browser import follow
from tests.gateway.test_browser import pytestmark as pytestmark  # skipped without chromium
from tests.portal.conftest import PASSWORD
from tests.portal.test_review import Review
from tests.portal.test_review import review as review  # re-exported fixture


def _shot(d: Any, folder: Path, name: str) -> None:
    d.save_screenshot(str(folder / f"review-{name}.png"))
    d.set_window_size(375, 1400)
    d.save_screenshot(str(folder / f"review-{name}-phone.png"))
    d.set_window_size(1280, 1000)


def test_a_verifier_approves_an_applicant(review: Review, browser: Any, tmp_path: Path) -> None:
    shots = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    d, url, node = browser, review.inst.url, review.applicant.address
    d.get(url + "/")
    d.find_element("id", "password").send_keys(PASSWORD)
    follow(d, d.find_element("id", "login"))
    follow(d, d.find_element("id", "nav-review"))
    _shot(d, shots, "1-queue")
    follow(d, d.find_element("id", f"review-application-{node}"))
    assert "Bohai Wind 7" in d.page_source
    assert "Demo Person 7" not in d.page_source
    _shot(d, shots, "2-node")
    follow(d, d.find_element("id", "view"))  # no reason given: refused
    assert d.find_element("id", "view-error").text == (
        "Refused: a reason for reading identity data is required"
    )
    d.find_element("id", "view-reason").send_keys("onboarding check")
    follow(d, d.find_element("id", "view"))
    bundle = d.find_element("id", "bundle").text
    assert "Demo Person 7" in bundle
    assert "Demo Energy Co. 7" in bundle
    _shot(d, shots, "3-bundle")
    assert [e.reason for e in review.vault.audit.entries()] == ["onboarding check"]
    follow(d, d.find_element("id", "approve"))  # the reason stated is prefilled
    confirm = d.find_element("id", "confirm").text
    assert f"NodeRegistry.approveNode({node})" in confirm
    _shot(d, shots, "4-confirm")
    follow(d, d.find_element("id", "sign"))
    assert "NodeApproved(node=" in d.find_element("id", "outcome").text
    _shot(d, shots, "5-approved")
    assert review.applicant.registry.status_of(node) == NodeStatus.ACTIVE
    assert [e.reason for e in review.vault.audit.entries()] == [
        "onboarding check",
        "onboarding check",
    ]
