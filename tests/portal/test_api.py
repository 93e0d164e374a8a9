"""The participant API (``/api/v1``) of the consumer ``buyer``'s portal, served by uvicorn
against a real chain (tests/portal's market), its keys issued and revoked through the CLI:
401/403/422, a take with exact token amounts, a chain refusal with its decoded error, the
OpenAPI description and the offline docs page."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ledger.clients.trading import TradeStatus
from ledger.errors import ContractRevertError, KeystoreError
from ledger.keystore import Keystore
from node.portal.app import PortalConfig, create_app
from node.portal.cli import app as portal_cli
from node.portal.keys import keys_path
from node.reputation.api import ReputationDesk
from tests.gateway.conftest import LiveServer
from tests.portal.conftest import PASSWORD, post_listings
from tests.trading.conftest import Market
from tests.trading.conftest import market as market  # re-exported fixture


@dataclass
class ApiEnv:
    market: Market
    client: httpx.Client
    listings: list[int]

    def keys(self, *args: str) -> str:
        """``gridledger portal keys ARGS -w buyer``: its output (exit code 0 asserted)."""
        result = CliRunner().invoke(portal_cli, ["keys", *args, "-w", "buyer"])
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    def issue(self, *scopes: str) -> str:
        args = [x for s in scopes for x in ("--scope", s)]
        return self.keys("issue", *args).strip().splitlines()[-1]


@pytest.fixture
def api(market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiEnv]:
    ctx = market.ctx
    keystore = Keystore(tmp_path / "keystore", scrypt_n=1024)
    keystore.create("buyer", PASSWORD, private_key=market.buyer.account.key)
    ctx.keystore = keystore  # type: ignore[misc]  # the portal's organisation keystore
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(ctx.settings.data_dir))
    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_DIR", str(tmp_path / "keystore"))
    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_PASSWORD", PASSWORD)
    listings, _ = post_listings(market)
    market.open_taking()
    account = keystore.load("buyer", PASSWORD)  # what `portal serve --api` unlocks at start
    app = create_app(ctx, PortalConfig(wallet="buyer"), api_account=account)
    try:
        with (
            LiveServer(app) as server,
            httpx.Client(base_url=server.url + "/api/v1", timeout=60) as client,
        ):
            yield ApiEnv(market, client, listings)
    finally:
        shutil.rmtree(keys_path(ctx.settings.data_dir, "buyer").parent, ignore_errors=True)


def _h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_keys_issued_listed_revoked_through_the_cli_and_401_403(
    api: ApiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = api.issue("read")
    trade = api.issue("read", "trade")
    path = keys_path(api.market.ctx.settings.data_dir, "buyer")
    stored = path.read_text()
    assert read not in stored
    assert trade not in stored
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    listed = json.loads(api.keys("list"))
    assert sorted(r["scopes"] for r in listed) == [["read"], ["read", "trade"]]
    assert all(set(r) == {"key_id", "scopes", "label", "issued_at"} for r in listed)

    assert api.client.get("/status").status_code == 401
    r = api.client.get("/status", headers=_h("glp_nonsense"))
    assert (r.status_code, r.json()) == (401, {"detail": "unknown API key"})
    r = api.client.get("/status", headers=_h(read))
    assert r.status_code == 200
    body = r.json()
    assert body["address"] == api.market.buyer.address
    assert body["balance_fen"] == api.market.buyer.token.balance_of(api.market.buyer.address)
    assert body["role"] == "consumer (buyer)"
    body = {"listing_id": api.listings[0], "energy_mwh": "1"}
    r = api.client.post("/take", json=body, headers=_h(read))
    assert (r.status_code, r.json()) == (403, {"detail": "needs an API key with scope trade"})
    r = api.client.post("/ratings", json={"trade_id": 1, "score": 3}, headers=_h(trade))
    assert r.status_code == 403

    read_id = next(r["key_id"] for r in listed if r["scopes"] == ["read"])
    assert f"revoked key {read_id} (read)" in api.keys("revoke", read_id)
    assert api.client.get("/status", headers=_h(read)).status_code == 401  # at once
    assert api.client.get("/status", headers=_h(trade)).status_code == 200
    assert [r["key_id"] for r in json.loads(api.keys("list"))] != [read_id]

    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_PASSWORD", "wrong")
    result = CliRunner().invoke(portal_cli, ["keys", "issue", "-w", "buyer", "--scope", "read"])
    assert isinstance(result.exception, KeystoreError)  # issuing needs the organisation's key


def test_take_through_the_api_with_exact_amounts(api: ApiEnv) -> None:
    key = api.issue("read", "trade")
    b = api.market.buyer
    listing_id = api.listings[1]
    listed = api.client.get("/listings", headers=_h(key)).json()
    assert listed["mode"] == 1
    assert {row["listing"]["id"] for row in listed["listings"]} >= set(api.listings)

    r = api.client.post("/take", json={"listing_id": listing_id, "energy_mwh": "-2"},
                        headers=_h(key))  # fmt: skip
    assert r.status_code == 422
    assert r.json()["detail"].startswith("energy_mwh: ")
    r = api.client.post("/take", json={"listing_id": listing_id}, headers=_h(key))
    assert (r.status_code, r.json()) == (422, {"detail": "energy_mwh: Field required"})

    q = b.market.quote(listing_id, b.region, 1_250_000)
    before = b.token.balance_of(b.address)
    body = {"listing_id": listing_id, "energy_mwh": "1.25"}
    r = api.client.post("/take?dry_run=true", json=body, headers=_h(key))
    assert r.status_code == 200
    dry = r.json()
    assert dry["signed"] is False
    assert dry["result"] is None
    assert dry["function"] == f"TradingMarket.take({listing_id}, 1250000, {q.price_fen_per_mwh})"
    assert b.token.balance_of(b.address) == before

    r = api.client.post("/take", json=body, headers=_h(key))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["signed"] is True
    trade_id = int(out["result_title"].split()[1])
    trade = b.market.trade(trade_id)
    assert (trade.buyer, trade.energy_wh, trade.status) == (
        b.address,
        1_250_000,
        TradeStatus.FORMED,
    )
    assert (trade.escrow_fen, trade.fee_fen) == (q.escrow_fen, q.fee_fen)
    assert b.token.balance_of(b.address) == before - q.escrow_fen
    prepaid = {line["label"]: line["value"] for line in out["result"]}["prepaid"]
    assert f"({q.escrow_fen:,} fen)" in prepaid

    trades = api.client.get("/trades", headers=_h(key)).json()
    assert [(t["trade"]["id"], t["role"], t["status"]) for t in trades] == [
        (trade_id, "buyer", "formed")
    ]
    periods = api.client.get("/statements", headers=_h(key)).json()
    assert [p["period"]["id"] for p in periods] == [api.market.period.id]
    r = api.client.get(f"/statements/{api.market.period.id}", headers=_h(key))
    assert r.status_code == 200
    assert r.json()["node"] == b.address
    plan = api.client.post("/plan", json={"target_mwh": "0.5"}, headers=_h(key)).json()
    assert plan["target_wh"] == 500_000
    assert plan["takes"]


def test_rating_refused_by_the_chain_is_409_with_the_decoded_error(api: ApiEnv) -> None:
    key = api.issue("read", "trade", "rate")
    r = api.client.post("/take", json={"listing_id": api.listings[0], "energy_mwh": "1"},
                        headers=_h(key))  # fmt: skip
    trade_id = int(r.json()["result_title"].split()[1])
    r = api.client.post("/ratings", json={"trade_id": trade_id, "score": 9}, headers=_h(key))
    assert r.json() == {"detail": "score: Input should be less than or equal to 5"}
    desk = ReputationDesk(api.market.ctx, api.market.buyer.account)
    with pytest.raises(ContractRevertError) as refused:
        desk.rate(trade_id, 4)
    r = api.client.post("/ratings", json={"trade_id": trade_id, "score": 4}, headers=_h(key))
    assert r.status_code == 409
    assert r.json()["detail"] == refused.value.signature
    assert r.json()["error"] == refused.value.name == "TradeNotSettled"
    status = refused.value.arguments["status"]
    assert r.json()["arguments"] == {"tradeId": trade_id, "status": status}
    api.market.settler.mark_dispatched(trade_id, 1_000_000, 0)
    api.market.settler.close_trade(trade_id, TradeStatus.SETTLED)
    r = api.client.post("/ratings", json={"trade_id": trade_id, "score": 4}, headers=_h(key))
    assert r.status_code == 200
    assert ("event", f"RatingSubmitted(trade {trade_id}, score 4)") in [
        (line["label"], line["value"]) for line in r.json()["result"]
    ]
    rated = api.client.get("/ratings", headers=_h(key)).json()["settled"]
    assert [(t["trade_id"], t["given"], t["received"]) for t in rated] == [(trade_id, 4, None)]


def test_openapi_lists_the_routes_and_the_docs_are_local(api: ApiEnv) -> None:
    spec = api.client.get("/openapi.json").json()
    assert spec["info"]["title"] == "GridLedger participant API"
    assert set(spec["paths"]) >= {
        "/status", "/listings", "/plan", "/plan/take", "/take", "/trades", "/statements",
        "/statements/{period}", "/ratings", "/retail/bills", "/retail/issue", "/retail/pay",
    }  # fmt: skip
    assert "APIKeyHeader" in spec["components"]["securitySchemes"]
    assert spec["servers"] == [{"url": "/api/v1"}]
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from a CDN
    for asset in ("/static/swagger-ui/swagger-ui-bundle.js", "/docs.js"):
        assert api.client.get(asset).status_code == 200, asset
    r = api.client.get("/retail/bills", headers=_h(api.issue("read")))
    assert r.status_code == 200
    assert r.json() == []
