from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.clients.oracle import MeterOracleClient
from oracle import eip712
from oracle.schemas import MeterReading, SignedReading
from oracle.service import OracleService
from oracle.store import ReadingRow
from scripts.meter_sim import SimMeter, batch_json, sign_reading
from tests.oracle.conftest import Clock


def _post(api: TestClient, service: OracleService, items: list[SignedReading], **kw: Any) -> Any:
    body = batch_json(items, service.chain_id, service.meter_oracle.address)
    body.update(kw)
    return api.post("/readings", json=body)


def _signed(service: OracleService, sim: SimMeter, start: int, **kw: int) -> SignedReading:
    return sim.sign(sim.reading(start, **kw), service.chain_id, service.meter_oracle.address)


def _count(service: OracleService) -> int:
    with service.sessions() as s:
        return int(s.scalar(select(func.count(ReadingRow.id))) or 0)


def test_a_good_batch_is_accepted_and_stored_raw(
    api: TestClient, service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    t0 = int(clock()) // 900 * 900 - 4 * 900
    items = [_signed(service, m, t0 + k * 900) for k in range(4) for m in meters]
    resp = _post(api, service, items)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["accepted"] + body["flagged"] == 12
    assert body["rejected"] == 0
    with service.sessions() as s:
        row = s.scalars(select(ReadingRow).order_by(ReadingRow.id)).first()
        assert row is not None
        first = items[0]
        assert row.signature == first.signature
        assert row.import_wh == first.reading.import_wh
        assert row.meter_id == first.reading.meter_id


def test_signature_for_another_chain_or_contract_is_rejected(
    api: TestClient, service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    start = int(clock()) // 900 * 900 - 900
    reading = meters[0].reading(start)
    other_chain = sign_reading(meters[0].account, reading, 1, service.meter_oracle.address)
    other_contract = sign_reading(meters[0].account, reading, service.chain_id, "0x" + "33" * 20)
    for item in (other_chain, other_contract):
        resp = _post(api, service, [item])
        assert resp.status_code == 401, resp.text
        assert resp.json()["reason"] == "bad_signature"
    claimed = _post(api, service, [other_chain], chainId=1)
    assert claimed.status_code == 400
    assert claimed.json()["reason"] == "wrong_chain"
    wrong_contract = _post(api, service, [other_contract], verifyingContract="0x" + "33" * 20)
    assert wrong_contract.status_code == 400
    assert _count(service) == 0


def test_a_high_s_signature_is_rejected(
    api: TestClient, service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    item = _signed(service, meters[0], int(clock()) // 900 * 900 - 900)
    sig = bytes.fromhex(item.signature[2:])
    s = int.from_bytes(sig[32:64], "big")
    high = sig[:32] + (eip712.SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    # The high-s twin recovers the same key: only the low-s rule refuses it.
    resp = _post(api, service, [SignedReading(reading=item.reading, signature="0x" + high.hex())])
    assert resp.status_code == 401
    assert "malleable" in resp.json()["detail"]


def test_replays_are_rejected_and_the_same_reading_is_accepted_once(
    api: TestClient, service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    sim = meters[0]
    start = int(clock()) // 900 * 900 - 3 * 900
    first = _signed(service, sim, start)
    assert _post(api, service, [first]).status_code == 200
    again = _post(api, service, [first])
    assert again.status_code == 200
    assert again.json()["results"][0]["outcome"] == "duplicate"
    assert _count(service) == 1
    # Same interval (and sequence), other content: a replay.
    forged = MeterReading(
        **{**first.reading.model_dump(), "import_wh": first.reading.import_wh + 1}
    )
    resp = _post(api, service, [sim.sign(forged, service.chain_id, service.meter_oracle.address)])
    assert resp.status_code == 409
    assert resp.json()["reason"] == "replay"
    # A later interval with an old sequence number: a replay too.
    stale = MeterReading(
        **{**first.reading.model_dump(), "interval_start": start + 900, "sequence": 1}
    )
    resp = _post(api, service, [sim.sign(stale, service.chain_id, service.meter_oracle.address)])
    assert resp.status_code == 409
    assert _count(service) == 1


def test_meter_b_signing_for_meter_a_is_rejected(
    api: TestClient, service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    a, b = meters[0], meters[1]
    reading = a.reading(int(clock()) // 900 * 900 - 900)
    forged = sign_reading(b.account, reading, service.chain_id, service.meter_oracle.address)
    resp = _post(api, service, [forged])
    assert resp.status_code == 401
    assert resp.json()["reason"] == "bad_signature"
    assert b.account.address in resp.json()["detail"]


def test_revoked_and_unknown_meters_are_rejected(
    api: TestClient,
    service: OracleService,
    meters: list[SimMeter],
    clock: Clock,
    operator_oracle: MeterOracleClient,
) -> None:
    start = int(clock()) // 900 * 900 - 2 * 900
    assert _post(api, service, [_signed(service, meters[0], start)]).status_code == 200
    operator_oracle.revoke_meter(bytes.fromhex(meters[0].meter_id[2:]))
    resp = _post(api, service, [_signed(service, meters[0], start + 900)])
    assert resp.status_code == 403
    assert resp.json()["reason"] == "revoked_meter"
    from scripts.meter_sim import make_meters

    stranger = make_meters(1, start_index=99)[0]
    resp = _post(api, service, [_signed(service, stranger, start)])
    assert resp.status_code == 403
    assert resp.json()["reason"] == "unknown_meter"


def test_implausible_values_are_rejected(
    api: TestClient, service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    now = int(clock()) // 900 * 900
    sim = meters[0]
    cap_wh = sim.capacity_w * 900 // 3600
    cases = {
        "exceeds capacity": _signed(service, sim, now - 5 * 900, import_wh=cap_wh + 1),
        "in the future": _signed(service, sim, now + 900),
        "older than the allowed": _signed(service, sim, now - 200 * 900),
    }
    for words, item in cases.items():
        resp = _post(api, service, [item])
        assert resp.status_code == 422, (words, resp.text)
        assert resp.json()["reason"] == "implausible"
        assert words in resp.json()["detail"]
    ok = _signed(service, sim, now - 2 * 900)
    assert _post(api, service, [ok]).status_code == 200
    lower = MeterReading(
        **{
            **sim.reading(now - 900).model_dump(),
            "import_register_wh": ok.reading.import_register_wh - 1,
        }
    )
    resp = _post(api, service, [sim.sign(lower, service.chain_id, service.meter_oracle.address)])
    assert resp.status_code == 422
    assert "register decreased" in resp.json()["detail"]


def test_a_batch_with_one_bad_reading_accepts_the_good_ones(
    api: TestClient, service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    start = int(clock()) // 900 * 900 - 900
    good = [_signed(service, m, start) for m in meters]
    bad_reading = MeterReading(**{**good[1].reading.model_dump(), "export_wh": 1})
    bad = SignedReading(
        reading=bad_reading, signature=good[1].signature
    )  # signature no longer fits
    resp = _post(api, service, [good[0], bad, good[2]])
    assert resp.status_code == 200
    body = resp.json()
    assert [r["outcome"] in ("accepted", "flagged") for r in body["results"]] == [True, False, True]
    assert body["results"][1]["reason"] == "bad_signature"
    assert body["rejected"] == 1
    assert _count(service) == 2


def test_malformed_input_gets_a_4xx_with_the_reason(api: TestClient) -> None:
    resp = api.post("/readings", json={"readings": [{"reading": {"meterId": "nope"}}]})
    assert resp.status_code == 422
    assert resp.json()["reason"] == "invalid_request"
    assert api.post("/readings", content=b"{not json").status_code == 422
    resp = api.post(
        "/readings",
        json={
            "readings": [
                {
                    "reading": {
                        "meterId": "0x" + "00" * 32,
                        "intervalStart": 0,
                        "intervalSeconds": 900,
                        "importWh": 0,
                        "exportWh": 0,
                        "reactiveVarh": 0,
                        "importRegisterWh": 0,
                        "exportRegisterWh": 0,
                        "sequence": 0,
                        "powerFactorMilli": 1000,
                        "voltageL1Dv": 0,
                        "voltageL2Dv": 0,
                        "voltageL3Dv": 0,
                        "currentL1Ma": 0,
                        "currentL2Ma": 0,
                        "currentL3Ma": 0,
                    },
                    "signature": "0x1234",
                }
            ]
        },
    )
    assert resp.status_code == 401
    assert "65 bytes" in resp.json()["detail"]


def test_openapi_documents_the_endpoints(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    for path in ("/readings", "/dispatch/trades", "/dispatch/results", "/proofs/{node}/{period}"):
        assert path in spec["paths"]
    assert "401" in spec["paths"]["/readings"]["post"]["responses"]
