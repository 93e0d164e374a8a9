"""The portal's ``/notifications`` page: the logged-in participant's reminders (a pass runs
on opening), the unread count in the nav, mark read, channel preferences."""

from __future__ import annotations

from pathlib import Path

import httpx

from ledger.keystore import Keystore
from node.portal.app import PortalConfig, create_app
from tests.contracts.conftest import Market, market
from tests.gateway.conftest import LiveServer
from tests.notify.conftest import Centre
from tests.notify.test_delivery import MAIL, TITLE, licensed
from tests.portal.conftest import PASSWORD, csrf_of

__all__ = ["market"]


def test_notifications_page_lists_marks_read_and_sets_channels(
    market: Market, centre: Centre, tmp_path: Path
) -> None:
    node, _ = licensed(market)
    me = node.address
    keystore = Keystore(tmp_path / "keystore", scrypt_n=1024)
    keystore.create("wind", PASSWORD, private_key=node.account.key)
    centre.ctx.keystore = keystore  # type: ignore[misc]
    app = create_app(centre.ctx, PortalConfig(wallet="wind", idle_timeout_s=600))
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as client,
    ):
        nonce = csrf_of(client.get("/login").text)
        client.post("/login", data={"csrf": nonce, "password": PASSWORD}, follow_redirects=False)
        page = client.get("/notifications").text
        assert TITLE in page
        assert "Notifications (1)" in page
        assert page.count('class="unread"') == 1
        assert centre.store.mail(me) == []  # no address yet: no e-mail queued

        # channels: licence by e-mail only, an address
        form = {"csrf": csrf_of(page), "address": MAIL, "mail_licence": "on"}
        page = client.post("/notifications/channels", data=form).text
        channels = centre.store.channels(me)
        assert (channels["licence"].portal, channels["licence"].mail) == (False, True)
        assert (channels["bill"].portal, channels["bill"].mail) == (False, False)
        assert centre.store.address(me) == MAIL
        assert f'value="{MAIL}"' in page
        bad = client.post(
            "/notifications/channels", data={"csrf": csrf_of(page), "address": "nope"}
        )
        assert bad.status_code == 422
        assert "not an e-mail address: &#39;nope&#39;" in bad.text

        # mark read: the count drops, the row stays
        page = client.post("/notifications/read", data={"csrf": csrf_of(page)}).text
        assert "Notifications (0)" in page
        assert TITLE in page
        assert 'class="unread"' not in page
        assert client.post("/notifications/read", data={"csrf": "forged"}).status_code == 403
