"""The gateway's meter proof (``GET /api/v1/proofs/meter/{node}/{period}``), rebuilt from the
indexed chain only, verifies on chain (``MeterOracle.verifyNodeTotal``) and by hashing the
returned fields by hand."""

from __future__ import annotations

import json
from pathlib import Path

from eth_abi import encode
from eth_hash.auto import keccak
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.db import make_engine, upgrade
from gateway.indexer import Indexer
from ledger.context import LedgerContext
from ledger.keystore import demo_account
from oracle.schemas import ReadingBatch
from oracle.service import OracleService
from scripts.meter_sim import SimMeter
from tests.oracle.conftest import Clock


def _posted_period(service: OracleService, meters: list[SimMeter], clock: Clock) -> int:
    """A period with readings of every meter, closed, its root and node totals on chain."""
    period_s = service.period_s
    period = (int(clock()) - 3 * period_s) // period_s
    start = period * period_s
    items = [
        m.sign(m.reading(start + k * 900), service.chain_id, service.meter_oracle.address)
        for k in range(4)
        for m in meters
    ]
    assert service.ingest(ReadingBatch(readings=items)).rejected == 0
    service.close_batches(force=True)
    service.relay.run_once()
    service.close_period(period, force=True)
    assert service.relay.run_once() == 1 + len(meters)
    return period


def _gateway(ctx: LedgerContext, tmp_path: Path) -> tuple[Engine, TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path}/gw.db")
    upgrade(engine)
    Indexer(ctx, engine, confirmations=0, chunk_blocks=500).run_once()
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"audit-key": "auditor"}))
    settings = ctx.settings.model_copy(update={"gateway_api_keys_file": keys})
    return engine, TestClient(create_app(settings, engine=engine, ctx=ctx))


def _by_hand(siblings: list[str], leaf: bytes) -> bytes:
    """OpenZeppelin MerkleProof: hash sorted pairs from the leaf up."""
    node = leaf
    for sibling_hex in siblings:
        sibling = bytes.fromhex(sibling_hex[2:])
        node = keccak(min(node, sibling) + max(node, sibling))
    return node


def test_meter_proof_from_the_gateway_verifies_on_chain_and_by_hand(
    ctx: LedgerContext,
    service: OracleService,
    meters: list[SimMeter],
    clock: Clock,
    tmp_path: Path,
) -> None:
    period = _posted_period(service, meters, clock)
    chain_root = service.meter_oracle.period_of(period).totals_root
    engine, client = _gateway(ctx, tmp_path)
    with client:
        for n in range(1, len(meters) + 1):
            node = demo_account(1000 + n).address
            r = client.get(
                f"/api/v1/proofs/meter/{node}/{period}", headers={"X-API-Key": "audit-key"}
            )
            assert r.status_code == 200, r.text
            body = r.json()
            proof = body["proof"]
            assert body["proof_unavailable"] is None
            oracle_side = service.node_proof(node, period)
            fields = proof["fields"]
            assert fields == {
                "node": node,
                "period": period,
                "import_wh": oracle_side.import_wh,
                "export_wh": oracle_side.export_wh,
                "reading_count": 4,
                "readings_root": oracle_side.readings_root,
            }
            assert proof["siblings"] == oracle_side.totals_proof
            assert proof["leaf"] == oracle_side.node_leaf
            assert proof["totals_root"] == "0x" + chain_root.hex()
            total = (
                node,
                period,
                fields["import_wh"],
                fields["export_wh"],
                fields["reading_count"],
                bytes.fromhex(fields["readings_root"][2:]),
            )
            # by hand: the leaf from the fields, then the path up to the anchored root
            abi_types = ["address", "uint64", "uint64", "uint64", "uint32", "bytes32"]
            leaf = keccak(keccak(encode(abi_types, list(total))))
            assert "0x" + leaf.hex() == proof["leaf"]
            assert _by_hand(proof["siblings"], leaf) == chain_root
            # on chain
            siblings = [bytes.fromhex(s[2:]) for s in proof["siblings"]]
            assert service.meter_oracle.verify_node_total(total, siblings) is True
            forged = (node, period, fields["import_wh"] + 1, *total[3:])
            assert service.meter_oracle.verify_node_total(forged, siblings) is False
        # A node total missing from the index: no proof, and the reason why.
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM gw_meter_anchors WHERE kind = 'node' AND lower(node) = :n"),
                {"n": demo_account(1003).address.lower()},
            )
        node = demo_account(1001).address
        body = client.get(
            f"/api/v1/proofs/meter/{node}/{period}", headers={"X-API-Key": "audit-key"}
        ).json()
        assert body["proof"] is None
        assert body["proof_unavailable"] == f"2 of 3 node totals of period {period} are recorded"
    engine.dispose()
