"""Malformed input gets a 4xx Problem (``reason`` + ``detail``), never a 500; an unreachable
database answers 503 with a reason."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from ledger.webauth import Role
from oracle.app import _background
from oracle.schemas import DispatchResult, Problem
from oracle.service import OracleService
from scripts.meter_sim import SimMeter, batch_json
from tests.webaccess import key_of


def _problem(resp: Any, status: int, reason: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    Problem.model_validate(body)
    assert set(body) <= {"reason", "detail", "results"}
    assert body["reason"] == reason
    return body


def test_odd_hex_signatures_are_422_on_both_post_routes(
    api: TestClient, service: OracleService, meters: list[SimMeter]
) -> None:
    sim = meters[0]
    item = sim.sign(sim.reading(0), service.chain_id, service.meter_oracle.address)
    body = batch_json([item], service.chain_id, service.meter_oracle.address)
    body["readings"][0]["signature"] = item.signature[:-1]  # 129 hex digits
    detail = _problem(api.post("/readings", json=body), 422, "invalid_request")["detail"]
    assert "readings.0.signature" in detail
    result = DispatchResult(trade_id=1, period=7, executed_wh=1, curtailed_wh=0, reason_code=0)
    sub = {"results": [result.model_dump(by_alias=True)], "signature": "0xabc"}
    resp = api.post("/dispatch/results", json=sub)
    assert "signature" in _problem(resp, 422, "invalid_request")["detail"]
    body["readings"][0]["signature"] = "0x"  # even but empty: a bad signature, not a crash
    assert api.post("/readings", json=body).json()["reason"] == "bad_signature"


def test_proofs_refuse_huge_periods_and_bad_addresses(api: TestClient) -> None:
    node = "0x" + "11" * 20
    auditor = key_of(Role.auditor)
    for period in (2**63, 2**64 + 5, -1):
        resp = api.get(f"/proofs/{node}/{period}", headers=auditor)
        _problem(resp, 422, "invalid_request")
    _problem(api.get(f"/proofs/0x{'zz' * 20}/1", headers=auditor), 422, "invalid_request")
    _problem(api.get(f"/proofs/{node}/{2**63 - 1}", headers=auditor), 404, "no_total")


def test_unknown_route_and_method_answer_a_problem(api: TestClient) -> None:
    _problem(api.get("/nowhere"), 404, "http_error")
    _problem(api.delete("/readings"), 405, "http_error")


def test_database_outage_answers_503_with_a_reason(
    api: TestClient, service: OracleService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_a: object, **_k: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("unable to open database file"))

    monkeypatch.setattr(service, "health", down)
    body = _problem(api.get("/health"), 503, "database_unavailable")
    assert "unable to open database file" in body["detail"]
    monkeypatch.undo()
    assert api.get("/health").status_code == 200


def test_background_worker_logs_an_outage_once(
    service: OracleService, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rounds: list[int] = []
    stop = threading.Event()

    def tick() -> None:
        rounds.append(1)
        if len(rounds) <= 5:
            raise OperationalError("SELECT 1", {}, Exception("disk I/O error"))
        if len(rounds) >= 8:
            stop.set()

    monkeypatch.setattr(service, "tick", tick)
    caplog.set_level(logging.INFO, logger="gridledger.oracle")
    _background(service, stop, 0.01)
    assert len(rounds) == 8
    failed = [r for r in caplog.records if r.getMessage().startswith("background round failed")]
    assert len(failed) == 1
    assert failed[0].exc_info is not None
    back = [r for r in caplog.records if r.getMessage().startswith("background rounds work again")]
    assert len(back) == 1
