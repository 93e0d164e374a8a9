"""The portal of the consumer node ``buyer`` (tests/trading's small market) over a real
keystore, served by uvicorn in a thread (as tests/gateway serves the explorer): two
sellers' listings are posted and the period's taking window is open."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ledger.clients.trading import ListingSide
from ledger.keystore import Keystore
from node.portal.app import Portal, PortalConfig, create_app
from node.trading.trader import Trader
from tests.gateway.conftest import LiveServer
from tests.trading.conftest import Market, block_time
from tests.trading.conftest import market as market  # re-exported fixture

PASSWORD = "correct horse battery staple"
PRICE = 350_000  # fen/MWh


@dataclass
class Env:
    market: Market
    client: httpx.Client
    url: str
    portal: Portal
    listings: list[int]
    expiring: int

    def csrf(self, path: str = "/offers") -> str:
        return csrf_of(self.client.get(path).text)

    def login(self, password: str = PASSWORD) -> object:
        nonce = csrf_of(self.client.get("/login").text)
        return self.client.post(
            "/login", data={"csrf": nonce, "password": password}, follow_redirects=False
        )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def post_listings(market: Market) -> tuple[list[int], int]:
    """Two sellers' sell listings, plus one that expires 10 minutes into taking."""
    pid = market.period.id
    seller = Trader(market.ctx, market.seller.account)
    seller2 = Trader(market.ctx, market.seller2.account)
    a = seller.post(ListingSide.SELL, pid, 0, 3, 2_000_000, PRICE).listing_id
    b = seller2.post(ListingSide.SELL, pid, 0, 3, 3_000_000, PRICE - 50_000).listing_id
    expiring = seller.post(
        ListingSide.SELL, pid, 0, 3, 1_000_000, PRICE - 80_000,
        expires_at=market.period.taking_opens_at + 600,
    ).listing_id  # fmt: skip
    return [a, b], expiring


@pytest.fixture
def env(market: Market, tmp_path: Path) -> Iterator[Env]:
    ctx = market.ctx
    keystore = Keystore(tmp_path / "keystore", scrypt_n=1024)
    keystore.create("buyer", PASSWORD, private_key=market.buyer.account.key)
    ctx.keystore = keystore  # type: ignore[misc]  # the portal's organisation keystore
    listings, expiring = post_listings(market)
    market.open_taking()
    assert block_time(ctx) < market.period.taking_closes_at
    app = create_app(ctx, PortalConfig(wallet="buyer", idle_timeout_s=600))
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as client,
    ):
        yield Env(market, client, server.url, app.state.portal, listings, expiring)
