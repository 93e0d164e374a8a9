"""The portal's ``/desk`` pages over a live desk API: file, follow the tracking, rate,
search the knowledge base, read the feed (requests signed with the organisation's key)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ledger.context import LedgerContext
from ledger.keystore import Keystore
from ledger.webauth import ApiKeys
from node.desk.api import create_app as desk_app
from node.desk.service import Desk
from node.portal.app import PortalConfig
from node.portal.app import create_app as portal_app
from tests.desk.conftest import OPERATOR, REGULATOR
from tests.desk.test_api import FILER
from tests.gateway.conftest import LiveServer
from tests.portal.conftest import csrf_of

PASSWORD = "desk portal password"


@dataclass
class Portal:
    client: httpx.Client

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        csrf = csrf_of(self.client.get("/desk").text)
        return self.client.post(path, data={"csrf": csrf, **data})


@pytest.fixture
def portal(desk: Desk, ctx: LedgerContext, tmp_path: Path) -> Iterator[Portal]:
    with LiveServer(desk_app(desk, ApiKeys({}))) as desk_server:
        settings = ctx.settings.model_copy(update={"desk_url": desk_server.url})
        org = LedgerContext(settings, w3=ctx.w3, manifest=ctx.manifest)
        keystore = Keystore(tmp_path / "keystore", scrypt_n=1024)
        keystore.create("org", PASSWORD, private_key=FILER.key)
        org.keystore = keystore  # type: ignore[misc]
        app = portal_app(org, PortalConfig(wallet="org", idle_timeout_s=600))
        with (
            LiveServer(app) as server,
            httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as client,
        ):
            nonce = csrf_of(client.get("/login").text)
            client.post("/login", data={"csrf": nonce, "password": PASSWORD})
            yield Portal(client)


def test_file_track_and_rate_from_the_portal(portal: Portal, desk: Desk) -> None:
    page = portal.client.get("/desk").text
    assert 'id="nav-desk"' in page
    assert "nothing filed yet" in page
    r = portal.post(
        "/desk/file",
        {
            "kind": "complaint",
            "category": "billing",
            "title": "Bill too high",
            "body": "doubled",
            "trade_id": "4",
        },
    )
    assert r.status_code == 200
    assert str(r.url).endswith("/desk/1")
    assert '<b id="state">new</b>' in r.text
    assert desk.store.show(OPERATOR, 1).filer == FILER.address
    assert desk.store.show(OPERATOR, 1).links.trade_id == 4
    desk.store.move(OPERATOR, 1, "in_progress", "checking the meter")
    desk.store.move(OPERATOR, 1, "resolved", "refunded")
    page = portal.client.get("/desk/1").text
    assert "in_progress → resolved" in page, page[page.find("<main>") :]
    assert "move: refunded" in page
    r = portal.post("/desk/1/rate", {"rating": "9"})
    assert r.status_code == 422
    assert "rating" in r.text
    r = portal.post("/desk/1/rate", {"rating": "5", "comment": "fast"})
    assert '<b id="rating">5 / 5</b>' in r.text
    r = portal.post("/desk/1/close", {})
    assert '<b id="state">closed</b>' in r.text
    r = portal.post("/desk/file", {"category": "weather", "title": "x"})
    assert r.status_code == 422
    assert "unknown category" in r.text


def test_knowledge_base_and_feed_in_the_portal(portal: Portal, desk: Desk) -> None:
    desk.kb.add_article(REGULATOR, "Meter readings missing", "Stuck meters are estimated.", [])
    desk.kb.announce(OPERATOR, "Maintenance Sunday", "closed 02:00-04:00")
    page = portal.client.get("/desk", params={"q": "meter"}).text
    assert "<b>Meter readings missing</b>" in page
    assert "Maintenance Sunday" in page
    page = portal.client.get("/desk", params={"q": "tariff"}).text
    assert 'id="no-articles"' in page
