"""The gateway's role matrix: every route (API, explorer, docs) x no key, every role's key
and an unknown key; the README's "Web access" table is the app's route table."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.db import make_engine
from ledger.context import LedgerContext
from ledger.settings import Settings
from ledger.webauth import Role
from tests.gateway.conftest import LiveServer, node
from tests.webaccess import Target, assert_readme_table, check_matrix, key_of


def _refusal(response: httpx.Response, path: str, status: int) -> None:
    detail = "unknown API key" if status == 401 else "needs an API key with role"
    if path.startswith("/api/"):  # the API's documented error body
        assert response.json()["detail"].startswith(detail), response.text
    else:  # the explorer's error page
        assert response.headers["content-type"].startswith("text/html")
        assert detail in response.text


def test_every_route_with_every_role(
    ctx: LedgerContext, gw_engine: Engine, gw_settings: Settings, indexed: dict[str, str]
) -> None:
    s = node(1)
    get = {
        "/openapi.json": "/openapi.json",
        "/docs": "/docs",
        "/static/swagger-ui": "/static/swagger-ui/swagger-ui.css",
        "/redoc": "/redoc",
        "/api/v1/status": "/api/v1/status",
        "/api/v1/events": f"/api/v1/events?participant={s}",
        "/api/v1/events.csv": f"/api/v1/events.csv?participant={s}",
        "/api/v1/roles": "/api/v1/roles",
        "/api/v1/participants": "/api/v1/participants",
        "/api/v1/participants/{address}": f"/api/v1/participants/{s}",
        "/api/v1/trades": "/api/v1/trades",
        "/api/v1/lists/{name}": "/api/v1/lists/certificates",
        "/api/v1/trades/{trade_id}": "/api/v1/trades/7",
        "/api/v1/proofs/meter/{node}/{period}": f"/api/v1/proofs/meter/{s}/202601",
        "/api/v1/verify": f"/api/v1/verify?to_block={indexed['block']}",
        "/": "/",
        "/participants": "/participants",
        "/participants/{address}": f"/participants/{s}",
        "/listings": "/listings",
        "/trades": "/trades",
        "/trades/{trade_id}": "/trades/7",
        "/violations": "/violations",
        "/violations.csv": "/violations.csv",
        "/trades.csv": "/trades.csv",
        "/listings.csv": "/listings.csv",
        "/participants.csv": "/participants.csv",
        "/blocks.csv": "/blocks.csv",
        "/certificates/retirements": "/certificates/retirements",
        "/certificates/retirements.csv": "/certificates/retirements.csv",
        "/certificates": "/certificates",
        "/certificates.csv": "/certificates.csv",
        "/certificates/quotas": "/certificates/quotas",
        "/certificates/quotas.csv": "/certificates/quotas.csv",
        "/certificates/quota-rules": "/certificates/quota-rules",
        "/certificates/quota-rules.csv": "/certificates/quota-rules.csv",
        "/ratings": "/ratings",
        "/events": f"/events?participant={s}",
        "/ratings.csv": "/ratings.csv",
        "/blocks": "/blocks",
        "/blocks/{number}": f"/blocks/{indexed['block']}",
        "/tx/{tx_hash}": f"/tx/{indexed['tx']}",
        "/search": "/search?q=7",
        "/api/v1/contracts": "/api/v1/contracts",
        "/contracts": "/contracts",
        "/auctions": "/auctions",
        "/api/v1/defaults": "/api/v1/defaults",
        "/defaults": "/defaults",
        "/defaults.csv": "/defaults.csv",
        "/api/v1/desk": "/api/v1/desk",
        "/desk": "/desk",
        "/analytics/forecast": "/analytics/forecast?region=Beijing",
        "/api/v1/analytics/prices": "/api/v1/analytics/prices",
    }
    targets = {("GET", path): Target(url) for path, url in get.items()}
    # The identity vault has no record of this node: the regulator gets its 404.
    targets[("GET", "/api/v1/identity/{address}")] = Target(
        f"/api/v1/identity/{s}?reason=role-matrix", ok=(404, 503)
    )
    targets[("GET", "/api/v1/identity-audit")] = Target("/api/v1/identity-audit", ok=(200, 503))
    targets[("GET", "/violations/{report_id}")] = Target("/violations/1", ok=(200, 404))
    # No bilateral contract is indexed here: the contract routes answer their 404.
    for path in ("/api/v1/contracts/{no}", "/contracts/{no}"):
        targets[("GET", path)] = Target(path.replace("{no}", "1"), ok=(404,))
    for suffix in ("document.html", "document.pdf", "bundle"):
        path = f"/api/v1/contracts/{{no}}/{suffix}"
        targets[("GET", path)] = Target(path.replace("{no}", "1"), ok=(404,))
    # No auction is indexed here either: an auction's page and CSV answer their 404.
    for path in ("/auctions/{auction_id}", "/auctions/{auction_id}/fills.csv"):
        targets[("GET", path)] = Target(path.replace("{auction_id}", "1"), ok=(404,))
    app = create_app(gw_settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        routes, callers = check_matrix(client, app, targets, _refusal)
    assert (routes, callers) == (62, 8)


def test_explorer_shows_decoded_events_to_auditors_only(
    ctx: LedgerContext, gw_engine: Engine, gw_settings: Settings, indexed: dict[str, str]
) -> None:
    app = create_app(gw_settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for path in ("/", f"/participants/{node(1)}"):
            for role in (Role.public, Role.operator, Role.dispatch, Role.meter):
                page = client.get(path, headers=key_of(role)).text
                assert "<th>in domain terms</th>" not in page, (path, role)
                assert "Decoded events need an auditor or regulator API key" in page
            for role in (Role.auditor, Role.regulator):
                page = client.get(path, headers=key_of(role)).text
                assert "<th>in domain terms</th>" in page, (path, role)
                assert f"role: {role}" in page


def test_readme_web_access_table_is_the_gateways(tmp_path: object, gw_settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/readme.db")
    try:
        assert_readme_table("Gateway", create_app(gw_settings, engine=engine))
    finally:
        engine.dispose()
