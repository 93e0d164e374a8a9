"""The explorer's ``/desk``: anchored batches and open/overdue counts per category, indexed
from ``DeskAnchor`` events (chain data only)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.indexer import Indexer
from ledger.context import LedgerContext
from ledger.settings import Settings
from node.desk.anchoring import anchor
from node.desk.service import Desk
from tests.conftest import role_account
from tests.desk.conftest import FILER, OPERATOR, T0
from tests.gateway.conftest import LiveServer
from tests.gateway.conftest import gw_engine as gw_engine
from tests.gateway.conftest import gw_settings as gw_settings
from tests.gateway.conftest import indexer as indexer
from tests.gateway.conftest import keys_file as keys_file

DAY = 86_400


def test_desk_page_shows_batches_and_counts_per_category(
    desk: Desk, ctx: LedgerContext, indexer: Indexer, gw_engine: Engine, gw_settings: Settings
) -> None:
    store = desk.store
    for n in range(3):
        store.file(FILER, "trading", f"trade {n}", "lost", now=T0)
    billing = store.file(FILER, "billing", "bill", "high", now=T0)
    store.move(OPERATOR, billing.id, "in_progress", now=T0 + 1)
    client = desk.anchor_client(role_account("OPERATOR"))
    first = anchor(desk.store, client, now=T0 + DAY + 1)  # trading overdue, billing not
    store.move(OPERATOR, billing.id, "resolved", now=T0 + 2)
    second = anchor(desk.store, client, now=T0 + DAY + 1)
    indexer.run_once()
    app = create_app(gw_settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        page = http.get("/desk")
        data = http.get("/api/v1/desk").json()
    assert page.status_code == 200
    html = page.text
    assert '<a href="/desk">Service desk</a>' in html  # the nav
    row = re.search(r'<tr data-category="trading">(.*?)</tr>', html)
    assert row is not None
    assert '<td class="open">3</td><td class="overdue">3</td>' in row.group(1)
    billing_row = re.search(r'<tr data-category="billing">(.*?)</tr>', html)
    assert billing_row is not None
    assert '<td class="open">0</td><td class="overdue">0</td>' in billing_row.group(1)
    assert first.root in html
    assert second.root in html
    assert data["latest_batch"] == 2
    assert [
        (b["batch"], b["first_change"], b["change_count"], b["open_total"], b["overdue_total"])
        for b in data["batches"]
    ] == [(2, 6, 1, 3, 3), (1, 1, 5, 4, 3)]
    assert data["batches"][1]["operator"] == OPERATOR.address
