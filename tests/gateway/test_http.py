"""The explorer and the history API over real HTTP (uvicorn in a thread)."""

from __future__ import annotations

import csv
import io
import json
import statistics
import time

import httpx
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.indexer import Indexer
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.settings import Settings
from tests.gateway.conftest import (
    AUDITOR,
    REGULATOR,
    LiveServer,
    node,
    real_counts,
    real_event_counts,
)

Live = tuple[str, httpx.Client]


def test_every_explorer_page_renders_real_data(
    live: Live, indexed: dict[str, str], access: MarketAccessClient
) -> None:
    _, client = live
    s = node(1)
    expectations = {
        "/": [
            "Market overview",
            "<svg",
            "MarketAccess.RoleGranted",
            "VERIFIER",
            "Reputation distribution",
        ],
        "/participants": ["Tangshan", "active", "VERIFIER", s[:8]],
        f"/participants/{s}": ["seller", "490,000.00 CNY", "BB", "VERIFIER", "#7", "RoleGranted"],
        "/listings": ["5.000 MWh", "partial", "350.00 CNY/MWh"],
        "/trades": ["#7", "settled", "2.000 MWh", "350.00 CNY/MWh", "Download CSV"],
        "/trades/7": [
            "secure",
            "1.900 MWh",
            "0x" + "ab" * 32,
            "665.00 CNY",
            "12.00 CNY",
            "35.00 CNY",
            "1.950 MWh",  # consumed (TradeMetered)
            "Certificates retired for this trade",
            "RatingSubmitted",
            "/api/v1/proofs/meter/",
        ],
        "/violations": [
            "wash-trading",
            "confirmed",
            "10,000.00 CNY",
            "910,000",
            "#8",
            "Announcements",
            'href="/violations/1"',
        ],
        "/violations/1": [
            "wash-trading",
            "0x" + "cd" * 32,
            "0x" + "ef" * 32,
            "0x" + "12" * 32,
            "910,000 ppm",
            "10,000.00 CNY",
            "50 points",
            "#7",
        ],
        "/certificates": ["wind", "3.400 MWh", "2.000 MWh", "160.00 CNY", "no", "Retirements"],
        "/blocks": [indexed["block"]],
        f"/blocks/{indexed['block']}": ["role VERIFIER granted to"],
        f"/tx/{indexed['tx']}": ["role VERIFIER granted to", "MarketAccess"],
        f"/search?q={indexed['tx']}": [f"/tx/{indexed['tx']}"],
        "/search?q=7": ["trade #7"],
        f"/search?q={s}": [f"/participants/{s}"],
    }
    # Decoded events (a participant's history, a block, a transaction) need an auditor:
    # tests/gateway/test_role_matrix.py checks what the same pages show without a key.
    audited = {f"/participants/{s}", f"/blocks/{indexed['block']}", f"/tx/{indexed['tx']}"}
    for path, needles in expectations.items():
        r = client.get(path, headers=AUDITOR if path in audited else None)
        assert r.status_code == 200, (path, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        for needle in needles:
            assert needle in r.text, (path, needle)


def test_overview_and_status_show_the_exact_counts(
    live: Live, indexed: dict[str, str], gw_engine: Engine
) -> None:
    _, client = live
    with gw_engine.connect() as conn:
        real = real_counts(conn)
        per_event = real_event_counts(conn)
    assert real["events"] == sum(n for _name, n in per_event) > 36
    assert client.get("/api/v1/status").json()["counts"] == real
    page = client.get("/").text
    for name, n in real.items():
        assert f"<b>{n:,}</b>{name.replace('_', ' ')}</div>" in page, name
    for label, n in per_event[:12]:  # the chart of events by type
        assert f"events {label}: {float(n):,.6g}</title>" in page, label


def test_pages_of_empty_domains_say_no_data_yet(live: Live, indexer: Indexer) -> None:
    indexer.run_once()
    _, client = live
    for path in ("/listings", "/trades", "/violations", "/certificates"):
        r = client.get(path)
        assert r.status_code == 200
        assert "No " in r.text
        assert "yet" in r.text
    assert client.get("/trades/99").status_code == 404
    assert client.get("/blocks/999999999").status_code == 403  # decoded events: auditors
    assert client.get("/blocks/999999999", headers=AUDITOR).status_code == 404


def test_page_latency(live: Live, indexed: dict[str, str], record_property: object) -> None:
    _, client = live
    paths = ["/", "/participants", f"/participants/{node(1)}", "/trades/7", "/blocks", "/listings"]
    samples = []
    for _ in range(20):
        for path in paths:
            began = time.perf_counter()
            assert client.get(path).status_code == 200
            samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"page latency over {len(samples)} requests: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    assert p99 < 1000  # the market asks ordinary queries to answer within 1 s


def test_history_api_filters_and_cursor_pagination(live: Live, indexed: dict[str, str]) -> None:
    _, client = live
    assert client.get("/api/v1/events").status_code == 403
    assert client.get("/api/v1/events", headers={"X-API-Key": "nope"}).status_code == 401
    r = client.get("/api/v1/events", params={"participant": node(1)}, headers=AUDITOR)
    assert r.status_code == 200
    events = r.json()["items"]
    assert {"RoleGranted", "NodeRegistered", "TradeSettled", "RemainderPaid"} - {
        e["event"] for e in events
    } == {"RemainderPaid"}
    assert all(node(1) in json.dumps(e["args"]) for e in events)
    r = client.get(
        "/api/v1/events",
        params={"event": "RoleRevoked", "contract": "MarketAccess", "from_block": indexed["block"]},
        headers=AUDITOR,
    )
    assert [e["args"]["account"] for e in r.json()["items"]] == [node(2)]
    # time range
    # (bounded to the synthetic day: the real deploy's events carry today's block times and
    # would fill the first page)
    r = client.get(
        "/api/v1/events",
        params={"from_time": 1_767_225_600 + 13 * 900, "to_time": 1_767_225_600 + 96 * 900},
        headers=AUDITOR,
    )
    assert {e["event"] for e in r.json()["items"]} >= {"ViolationReported", "ViolationRuled"}
    # the page size is capped (50 in these settings) and the cursor walks every event once
    seen: list[tuple[int, int]] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 10_000}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/events", params=params, headers=AUDITOR).json()
        assert body["limit"] == 50
        assert len(body["items"]) <= 50
        seen.extend((e["block_number"], e["log_index"]) for e in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(set(seen))
    total = client.get("/api/v1/status").json()["counts"]["events"]
    assert len(seen) == total > 50
    assert (
        client.get("/api/v1/events", params={"cursor": "garbage"}, headers=AUDITOR).status_code
        == 400
    )
    # CSV export holds the same events
    r = client.get("/api/v1/events.csv", headers=AUDITOR)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == total
    assert json.loads(rows[0]["args"])


def test_domain_endpoints_and_meter_proofs(live: Live, indexed: dict[str, str]) -> None:
    _, client = live
    trade = client.get("/api/v1/trades/7").json()
    assert trade["trade"]["status"] == "settled"
    assert [s["outcome"] for s in trade["settlements"]] == ["settled"]
    assert (
        client.get("/api/v1/trades", params={"participant": node(2)}).json()["items"][0]["trade_id"]
        == 7
    )
    participants = client.get("/api/v1/participants", params={"limit": 1}).json()
    assert len(participants["items"]) == 1
    assert participants["next_cursor"]
    detail = client.get(f"/api/v1/participants/{node(1)}").json()
    assert detail["participant"]["reputation"] == 820
    assert [r["role_name"] for r in detail["roles"]] == ["VERIFIER"]
    assert client.get("/api/v1/roles").status_code == 200
    path = f"/api/v1/proofs/meter/{node(1)}/202601"
    assert client.get(path).status_code == 403
    proof = client.get(path, headers=AUDITOR).json()
    assert proof["merkle_root"] == "0x" + "ab" * 32
    assert proof["total_wh"] == 1_900_000
    # synthetic data: no period root anchored, so no proof can be rebuilt
    assert proof["proof"] is None
    assert proof["proof_unavailable"] == "period 202601's root is not anchored (indexed) yet"
    assert client.get(f"/api/v1/proofs/meter/{node(1)}/202602", headers=AUDITOR).status_code == 404


def test_verify_endpoint(live: Live, indexer: Indexer, access: MarketAccessClient) -> None:
    access.grant_role("OPERATOR", node(5))
    indexer.run_once()
    _, client = live
    r = client.get("/api/v1/verify", headers=AUDITOR)
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    assert body["chain_events"] == body["indexed_events"] > 0


def test_writes_are_refused_with_405(live: Live) -> None:
    _, client = live
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/api/v1/events", "/", "/api/v1/nothing"):
            r = client.request(method, path, headers=REGULATOR)
            assert r.status_code == 405, (method, path)
            assert r.headers["allow"] == "GET, HEAD"


def test_rate_limit_answers_429_with_retry_after(
    ctx: LedgerContext, gw_engine: Engine, gw_settings: Settings
) -> None:
    settings = gw_settings.model_copy(
        update={"gateway_rate_limit_per_s": 0.5, "gateway_rate_limit_burst": 3}
    )
    app = create_app(settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as client:
        codes = [client.get("/api/v1/status").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        limited = client.get("/api/v1/status")
        assert int(limited.headers["retry-after"]) >= 1
        # another key has its own bucket
        assert client.get("/api/v1/status", headers=AUDITOR).status_code == 200


def test_openapi_documents_the_api(live: Live) -> None:
    _, client = live
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/events",
        "/api/v1/events.csv",
        "/api/v1/trades/{trade_id}",
        "/api/v1/proofs/meter/{node}/{period}",
        "/api/v1/verify",
    ):
        assert "get" in spec["paths"][path]
        assert "429" in spec["paths"][path]["get"]["responses"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
