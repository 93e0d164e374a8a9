"""The desk's HTTP API: participants sign requests with their key, staff send API keys;
every refusal is a 4xx with a reason."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from ledger.keystore import demo_account
from ledger.webauth import ApiKeys, Role
from node.desk.api import create_app
from node.desk.auth import sign_request
from node.desk.service import Desk
from tests.gateway.conftest import LiveServer

FILER, OTHER = demo_account(11), demo_account(12)
OPERATOR_KEY = {"X-API-Key": "op-key"}
REGULATOR_KEY = {"X-API-Key": "reg-key"}


@pytest.fixture
def client(desk: Desk) -> Iterator[httpx.Client]:
    keys = ApiKeys({"op-key": Role.operator, "reg-key": Role.regulator, "pub": Role.public})
    with LiveServer(create_app(desk, keys)) as server, httpx.Client(base_url=server.url) as c:
        yield c


def signed(
    client: httpx.Client, account: LocalAccount, method: str, path: str, body: Any = None
) -> Any:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = sign_request(account, method, path, raw)
    headers["Content-Type"] = "application/json"
    return client.request(method, path, content=raw, headers=headers)


def file(client: httpx.Client, account: LocalAccount = FILER) -> int:
    body = {
        "category": "billing",
        "title": "Bill too high",
        "body": "doubled",
        "links": {"trade_id": 3},
    }
    response = signed(client, account, "POST", "/api/v1/complaints", body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_a_complaint_through_the_api(client: httpx.Client) -> None:
    cid = file(client)
    assert signed(client, FILER, "GET", f"/api/v1/complaints/{cid}").json()["filer"] == (
        FILER.address
    )
    for step in ("in_progress", "resolved"):
        r = client.post(f"/api/v1/complaints/{cid}/move", json={"to": step}, headers=OPERATOR_KEY)
        assert r.status_code == 200, r.text
    r = signed(client, FILER, "POST", f"/api/v1/complaints/{cid}/rating", {"rating": 5})
    assert r.json()["rating"] == 5
    content = base64.b64encode(b"receipt").decode()
    r = signed(
        client,
        FILER,
        "POST",
        f"/api/v1/complaints/{cid}/attachments",
        {"name": "r.txt", "content_base64": content},
    )
    aid = r.json()["id"]
    r = signed(client, FILER, "GET", f"/api/v1/complaints/{cid}/attachments/{aid}")
    assert r.content == b"receipt"
    detail = client.get(f"/api/v1/complaints/{cid}", headers=OPERATOR_KEY).json()
    assert [c["actor_role"] for c in detail["changes"]] == [
        "participant",
        "operator",
        "operator",
        "participant",
        "participant",
    ]
    assert detail["changes"][1]["actor"].startswith("apikey:")
    listed = signed(client, FILER, "GET", "/api/v1/complaints?state=resolved").json()
    assert [c["id"] for c in listed] == [cid]
    cats = {c["category"]: c for c in client.get("/api/v1/categories").json()}
    assert cats["billing"]["limit_s"] == 48 * 3600
    r = client.post(
        "/api/v1/kb",
        json={"title": "Bills", "body": "How bills work", "tags": ["billing"]},
        headers=REGULATOR_KEY,
    )
    assert r.status_code == 201
    assert [a["title"] for a in client.get("/api/v1/kb?q=bill").json()] == ["Bills"]
    r = client.post(
        "/api/v1/announcements", json={"title": "Hi", "body": "all"}, headers=OPERATOR_KEY
    )
    assert r.status_code == 201
    feed = client.get("/api/v1/feed").json()
    assert feed["chain_included"]
    assert feed["items"][0]["title"] == "Hi"


def _reason(r: Any) -> str:
    return str(r.json()["detail"])


def test_refusals_are_4xx_with_a_reason(client: httpx.Client) -> None:
    cid = file(client)
    # 401: unsigned, signed by another key, replayed, stale, an unknown key
    r = client.get("/api/v1/complaints")
    assert (r.status_code, "sign the request" in _reason(r)) == (401, True)
    headers = sign_request(OTHER, "GET", "/api/v1/complaints")
    headers["X-Desk-Address"] = FILER.address
    r = client.get("/api/v1/complaints", headers=headers)
    assert (r.status_code, _reason(r)) == (401, f"the signature is not {FILER.address}'s")
    headers = sign_request(FILER, "GET", "/api/v1/complaints")
    assert client.get("/api/v1/complaints", headers=headers).status_code == 200
    r = client.get("/api/v1/complaints", headers=headers)
    assert (r.status_code, "used already" in _reason(r)) == (401, True)
    stale = sign_request(FILER, "GET", "/api/v1/complaints", timestamp=1_000)
    assert client.get("/api/v1/complaints", headers=stale).status_code == 401
    tampered = sign_request(FILER, "GET", "/api/v1/complaints?state=new")
    assert client.get("/api/v1/complaints?state=closed", headers=tampered).status_code == 401
    assert client.get("/api/v1/complaints", headers={"X-API-Key": "nope"}).status_code == 401
    assert client.get("/api/v1/complaints", headers={"X-API-Key": "pub"}).status_code == 401
    # 403: another's complaint, a participant's move or announcement
    assert signed(client, OTHER, "GET", f"/api/v1/complaints/{cid}").status_code == 403
    r = signed(client, FILER, "POST", f"/api/v1/complaints/{cid}/move", {"to": "in_progress"})
    assert r.status_code == 403
    r = signed(client, FILER, "POST", "/api/v1/announcements", {"title": "x", "body": "y"})
    assert r.status_code == 403
    # 404: unknown complaint or attachment
    r = client.get("/api/v1/complaints/999", headers=OPERATOR_KEY)
    assert (r.status_code, _reason(r)) == (404, "no complaint 999")
    assert (
        client.get(f"/api/v1/complaints/{cid}/attachments/9", headers=OPERATOR_KEY).status_code
        == 404
    )
    # 409: a refused transition names both states
    r = client.post(f"/api/v1/complaints/{cid}/move", json={"to": "closed"}, headers=OPERATOR_KEY)
    assert (r.status_code, _reason(r)) == (409, f"complaint {cid} cannot move from new to closed")
    r = signed(client, FILER, "POST", f"/api/v1/complaints/{cid}/rating", {"rating": 3})
    assert (r.status_code, "once resolved" in _reason(r)) == (409, True)
    # 400: unknown category or state, bad base64
    r = signed(
        client,
        FILER,
        "POST",
        "/api/v1/complaints",
        {"category": "weather", "title": "t", "body": "b"},
    )
    assert (r.status_code, _reason(r).startswith("unknown category 'weather'")) == (400, True)
    assert client.get("/api/v1/complaints?state=x", headers=OPERATOR_KEY).status_code == 400
    r = signed(
        client,
        FILER,
        "POST",
        f"/api/v1/complaints/{cid}/attachments",
        {"name": "a", "content_base64": "%%%"},
    )
    assert r.status_code == 400
    # 422: bodies and ids that do not validate
    r = signed(client, FILER, "POST", f"/api/v1/complaints/{cid}/rating", {"rating": 9})
    assert r.status_code == 422
    assert client.get("/api/v1/complaints/abc", headers=OPERATOR_KEY).status_code == 422
    assert client.get(f"/api/v1/complaints/{10**30}", headers=OPERATOR_KEY).status_code == 422
    assert client.get("/api/v1/complaints/-1", headers=OPERATOR_KEY).status_code == 422
    r = client.post("/api/v1/kb", content=b"{not json", headers=OPERATOR_KEY)
    assert r.status_code == 422
    body = {"category": "billing", "title": "t", "body": "b", "links": {"trade_id": 10**30}}
    assert signed(client, FILER, "POST", "/api/v1/complaints", body).status_code == 422
    body = {"title": "t", "body": "b", "tags": ["x" * 401]}
    r = client.post("/api/v1/kb", json=body, headers=OPERATOR_KEY)
    assert (r.status_code, _reason(r)) == (400, "an article's tags must fit in 400 characters")
