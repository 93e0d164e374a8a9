"""Identity data for regulators through the gateway: decrypted from the vault, a stated
reason required, every read appended to the hash-chained access log, tampering detected."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, update

from gateway.app import create_app
from ledger.context import LedgerContext
from ledger.db import engine_for_url
from ledger.identity import IdentityVault, demo_bundle
from ledger.identity_audit import GENESIS_HASH, AccessLogRow, entry_hash
from ledger.settings import Settings
from tests.gateway.conftest import AUDITOR, REGULATOR, LiveServer, node

REG_KEY_ID = hashlib.sha256(b"reg-key").hexdigest()[:12]


@pytest.fixture
def vault_settings(gw_settings: Settings, database_url: str, tmp_path: Path) -> Settings:
    return gw_settings.model_copy(
        update={
            "gateway_identity_database_url": database_url,
            "gateway_identity_key_file": tmp_path / "vault" / "identity.key",
        }
    )


@pytest.fixture
def vault(vault_settings: Settings) -> Iterator[IdentityVault]:
    vault = IdentityVault.from_settings(
        vault_settings,
        url=vault_settings.gateway_identity_database_url,
        key_file=vault_settings.gateway_identity_key_file,
    )
    yield vault
    vault.close()


@pytest.fixture
def client(
    ctx: LedgerContext, gw_engine: Engine, vault_settings: Settings, vault: IdentityVault
) -> Iterator[httpx.Client]:
    app = create_app(vault_settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        yield c
    app.state.identity_vault.close()


def test_regulator_reads_the_decrypted_bundle_with_a_reason_and_every_read_is_chained(
    client: httpx.Client, vault: IdentityVault, database_url: str
) -> None:
    bundle = demo_bundle(1)
    stored = vault.store(node(1), bundle)
    path = f"/api/v1/identity/{node(1)}"
    assert client.get(path, params={"reason": "x"}).status_code == 403
    assert client.get(path, params={"reason": "x"}, headers=AUDITOR).status_code == 403
    missing = client.get(path, headers=REGULATOR)
    assert missing.status_code == 422
    assert client.get(path, params={"reason": "  "}, headers=REGULATOR).status_code == 422
    assert vault.audit.entries() == []  # refused requests decrypt nothing

    r = client.get(path, params={"reason": "case 2026-17: market abuse"}, headers=REGULATOR)
    assert r.status_code == 200
    body = r.json()
    assert body["address"] == node(1)
    assert body["record_id"] == stored.record_id
    assert body["bundle_hash"] == "0x" + bundle.bundle_hash.hex()
    assert body["bundle"] == {
        "name": "Demo Energy Co. 1",
        "legal_representative": "Demo Person 1",
        "id_number": "13020019800101001X",
        "uscc": bundle.uscc,
        "bank_account": "6222000000000001",
        "licence": "LIC-000001",
        "credit_report": "CR-000001",
        "documents": [],
        "salt": bundle.salt,
    }
    by_header = client.get(path, headers=REGULATOR | {"X-Access-Reason": "annual review"})
    assert by_header.status_code == 200
    other = client.get(f"/api/v1/identity/{node(2)}", params={"reason": "r"}, headers=REGULATOR)
    assert other.status_code == 404

    listed = client.get("/api/v1/identity-audit", headers=REGULATOR).json()
    entries = listed["entries"]
    reader = (f"gateway-key:{REG_KEY_ID}", "regulator", REG_KEY_ID)
    fields = ("address", "record_id", "reason", "outcome")
    assert [
        (e["seq"], (e["reader"], e["role"], e["key_id"]), *(e[f] for f in fields)) for e in entries
    ] == [
        (1, reader, node(1), stored.record_id, "case 2026-17: market abuse", "read"),
        (2, reader, node(1), stored.record_id, "annual review", "read"),
        (3, reader, node(2), "", "r", "not_found"),
    ]
    assert entries[0]["prev_hash"] == GENESIS_HASH
    assert [e["prev_hash"] for e in entries[1:]] == [e["entry_hash"] for e in entries[:-1]]
    for e in entries:
        assert e["entry_hash"] == entry_hash(e)
        canonical = json.dumps(
            {k: v for k, v in e.items() if k != "entry_hash"},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        assert e["entry_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert listed["check"] == {
        "ok": True,
        "entries": 3,
        "head_seq": 3,
        "head_hash": entries[2]["entry_hash"],
        "first_bad_seq": None,
        "problem": None,
    }
    assert client.get("/api/v1/identity-audit", headers=AUDITOR).status_code == 403
    page = client.get("/api/v1/identity-audit", params={"after": 1, "limit": 1}, headers=REGULATOR)
    assert [e["seq"] for e in page.json()["entries"]] == [2]

    # Tampering with any entry (here: rewording the reason of entry 2) breaks the chain there.
    engine = engine_for_url(database_url)
    with engine.begin() as conn:
        conn.execute(
            update(AccessLogRow.__table__)
            .where(AccessLogRow.__table__.c.seq == 2)
            .values(reason="routine")
        )
    check = client.get("/api/v1/identity-audit", headers=REGULATOR).json()["check"]
    assert check["ok"] is False
    assert check["first_bad_seq"] == 2
    assert check["problem"] == "entry 2 was altered (its hash does not match its content)"
    assert vault.audit.verify().first_bad_seq == 2
    engine.dispose()


def test_a_gateway_without_the_vault_key_answers_503(
    ctx: LedgerContext, gw_engine: Engine, vault_settings: Settings
) -> None:
    app = create_app(vault_settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as c:
        r = c.get(f"/api/v1/identity/{node(1)}", params={"reason": "r"}, headers=REGULATOR)
    assert r.status_code == 503
    assert "does not exist" in r.json()["detail"]
    assert not vault_settings.gateway_identity_key_file.exists()  # type: ignore[union-attr]
