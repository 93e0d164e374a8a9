"""The restore drill: run a small market day on a real chain, back up, destroy the data
directory, restore, and check that the oracle resumes without a duplicate or missing
anchor, the gateway's index verifies against the chain and the identity vault decrypts.

Also: an incremental backup stores only what changed and restores the later state; a
tampered backup is refused; restore refuses a data directory that is not empty.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from gateway.db import engine_from_settings, upgrade
from gateway.indexer import Indexer
from gateway.verify import verify
from ledger.backup import (
    BackupError,
    BackupTamperedError,
    anchor_check,
    create_backup,
    list_backups,
    restore_backup,
    verify_backup,
)
from ledger.clients.oracle import MeterOracleClient
from ledger.context import LedgerContext
from ledger.db import make_engine, session_factory
from ledger.identity import IdentityVault, demo_bundle
from ledger.keystore import demo_account
from ledger.manifest import write_manifest
from ledger.settings import Settings
from oracle.dispatch import MemoryTradeSource
from oracle.periods import FixedPeriodCalendar
from oracle.schemas import ReadingBatch
from oracle.service import OracleService
from oracle.store import create_tables
from scripts.meter_sim import SimMeter
from tests.conftest import role_account

pytestmark = pytest.mark.slow

COUNTED = {
    "readings": "oracle_readings",
    "batches": "oracle_batches",
    "outbox_mined": "oracle_outbox WHERE status = 'mined'",
    "identities": "id_identity_records",
    "gateway_events": "gw_events",
}


class _Day:
    """The off-chain side of a small market day on ``settings``' data directory."""

    def __init__(self, ctx: LedgerContext, settings: Settings, meters: list[SimMeter]) -> None:
        self.ctx = LedgerContext(settings, w3=ctx.w3, manifest=ctx.manifest)
        self.settings = settings
        self.meters = meters
        self.engine = make_engine(settings)
        create_tables(self.engine)
        self.gw_engine = engine_from_settings(settings)
        upgrade(self.gw_engine)
        latest = int(ctx.w3.eth.get_block("latest")["timestamp"])
        now = float(latest // 900 * 900 + 10)
        self.oracle = OracleService(
            self.ctx,
            sessions=session_factory(self.engine),
            account=role_account("METER_ORACLE"),
            trades=MemoryTradeSource(),
            calendar=FixedPeriodCalendar(settings.oracle_period_s),
            clock=lambda: now,
        )
        self.start = int(now) // 900 * 900 - 40 * 900

    def anchor(self, first_interval: int, intervals: int) -> list[int]:
        """Ingest ``intervals`` readings of every meter, cut a batch and anchor it."""
        o = self.oracle
        items = [
            m.sign(
                m.reading(self.start + (first_interval + k) * 900),
                o.chain_id,
                o.meter_oracle.address,
            )
            for k in range(intervals)
            for m in self.meters
        ]
        assert o.ingest(ReadingBatch(readings=items)).rejected == 0
        batch_ids = o.close_batches(force=True)
        assert o.relay.run_once() == len(batch_ids)
        return batch_ids

    def index(self) -> Indexer:
        indexer = Indexer(self.ctx, self.gw_engine, confirmations=0)
        indexer.run_once()
        return indexer

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())  # noqa: S608
                for name, table in COUNTED.items()
            }

    def close(self) -> None:
        self.engine.dispose()
        self.gw_engine.dispose()


def _anchored(client: MeterOracleClient, from_block: int) -> list[int]:
    logs = client.contract.events.BatchAnchored().get_logs(from_block=from_block)
    return [int(log["args"]["batchId"]) for log in logs]


def _settings(ctx: LedgerContext, tmp_path: Path, name: str) -> Settings:
    """Settings of a fresh data dir; the identity key lives outside it (kept offline)."""
    return ctx.settings.model_copy(
        update={
            "data_dir": tmp_path / name,
            "identity_key_file_override": tmp_path / "offline-secrets" / "identity.key",
            "backup_dir_override": tmp_path / "backups",
            "database_url_override": None,
        }
    )


def test_restore_drill(ctx: LedgerContext, meters: list[SimMeter], tmp_path: Path) -> None:
    """``meters``: three meters registered by the oracle fixtures (tests/oracle/conftest)."""
    settings = _settings(ctx, tmp_path, "data")
    first_block = ctx.w3.eth.block_number
    day = _Day(ctx, settings, meters)
    write_manifest(settings.manifest_path, ctx.manifest)
    (settings.keystore_dir).mkdir(parents=True)
    (settings.keystore_dir / "operator.json").write_text(json.dumps({"crypto": "encrypted"}))
    assert day.anchor(0, 4) == [1]
    assert day.anchor(4, 2) == [2]
    bundle = demo_bundle(1)
    stored = IdentityVault.from_settings(settings).store(demo_account(1001).address, bundle)
    day.index()
    before_full = day.counts()
    assert before_full == {
        "readings": 18,
        "batches": 2,
        "outbox_mined": 2,
        "identities": 1,
        "gateway_events": before_full["gateway_events"],
    }
    full = create_backup(
        settings, settings.backup_dir, chain_id=ctx.w3.eth.chain_id, head_block=first_block
    )
    assert full.kind == "full"
    assert full.excluded_secrets == ["identity-key"]  # kept offline, never in a backup
    assert {f.path for f in full.files} == {
        "data/gridledger.db",
        "data/manifest.json",
        "data/keystore/operator.json",
    }

    # more of the day, then an incremental backup: only the database changed
    assert day.anchor(6, 2) == [3]
    day.index()
    before = day.counts()
    assert before["readings"] == 24
    assert before["batches"] == 3
    assert before["gateway_events"] == before_full["gateway_events"] + 1  # BatchAnchored(3)
    incr = create_backup(settings, settings.backup_dir, incremental=True)
    assert incr.base == full.backup_id
    assert [f.path for f in incr.stored_files] == ["data/gridledger.db"]
    assert [m.backup_id for m in list_backups(settings.backup_dir)] == [
        full.backup_id,
        incr.backup_id,
    ]
    day.close()

    # disaster: the data directory is gone
    shutil.rmtree(settings.data_dir)
    restore_backup(settings, settings.backup_dir, "latest")
    with pytest.raises(BackupError, match="is not empty: restore into an empty data directory"):
        restore_backup(settings, settings.backup_dir, "latest")
    assert json.loads((settings.keystore_dir / "operator.json").read_text()) == {
        "crypto": "encrypted"
    }

    day = _Day(ctx, settings, meters)
    after = day.counts()
    assert after == before
    # the oracle resumes: the next reading anchors as batch 4, no duplicate, no gap
    resumed = anchor_check(day.ctx)
    assert resumed.model_dump() == {
        "store_batches": 3,
        "chain_next_batch_id": 4,
        "missing_batch_ids": [],
        "pending_batches": 0,
    }
    assert resumed.ok
    assert day.oracle.meter_oracle.next_batch_id() == 4
    assert day.anchor(8, 1) == [4]
    assert day.oracle.meter_oracle.next_batch_id() == 5
    anchored = _anchored(day.oracle.meter_oracle, first_block)
    assert anchored == [1, 2, 3, 4]
    # the gateway catches up and its index matches the chain
    report = verify(day.index())
    assert report.ok, report
    assert report.missing == report.unexpected == report.mismatched == []
    assert report.chain_events == report.indexed_events == before["gateway_events"] + 1
    # the identity vault decrypts with the key kept offline
    vault = IdentityVault.from_settings(settings)
    assert vault.decrypt(stored.record_id) == bundle
    final = day.counts()
    day.close()

    # the full backup alone restores the earlier state
    early = _settings(ctx, tmp_path, "early")
    restore_backup(early, settings.backup_dir, full.backup_id)
    early_engine = make_engine(early)
    with early_engine.connect() as conn:
        assert int(conn.execute(text("SELECT COUNT(*) FROM oracle_readings")).scalar_one()) == 18
    early_engine.dispose()
    # ...and the check names the batches anchored since (the chain is ahead of it)
    stale = anchor_check(LedgerContext(early, w3=ctx.w3, manifest=ctx.manifest))
    assert stale.missing_batch_ids == [3, 4]
    assert not stale.ok
    assert "batches 3..4 were anchored after this backup" in stale.describe()

    figures: dict[str, Any] = {
        "records_before": before,
        "records_after_restore": after,
        "after_new_reading": final,
        "anchors": anchored,
        "next_batch_id": 5,
        "verify": {
            "ok": report.ok,
            "blocks": [report.from_block, report.to_block],
            "chain_events": report.chain_events,
            "indexed_events": report.indexed_events,
        },
        "vault_decrypts": True,
    }
    print("RESTORE DRILL", json.dumps(figures, sort_keys=True))


def test_tampered_backup_is_refused(ctx: LedgerContext, tmp_path: Path) -> None:
    settings = _settings(ctx, tmp_path, "data")
    write_manifest(settings.manifest_path, ctx.manifest)
    IdentityVault.from_settings(settings).store(demo_account(1001).address, demo_bundle(1))
    made = create_backup(settings, settings.backup_dir)
    assert verify_backup(settings.backup_dir, made.backup_id) == made
    db = settings.backup_dir / made.backup_id / "files" / "data" / "gridledger.db"
    with db.open("r+b") as fh:
        fh.seek(200)
        fh.write(b"\xff")
    with pytest.raises(BackupTamperedError, match=r"data/gridledger.db .* does not match"):
        verify_backup(settings.backup_dir, made.backup_id)
    shutil.rmtree(settings.data_dir)
    with pytest.raises(BackupTamperedError):
        restore_backup(settings, settings.backup_dir, made.backup_id)
    assert not settings.data_dir.exists()


def test_secrets_only_with_include_secrets(ctx: LedgerContext, tmp_path: Path) -> None:
    settings = _settings(ctx, tmp_path, "data").model_copy(
        update={"identity_key_file_override": None}
    )
    vault = IdentityVault.from_settings(settings)
    bundle = demo_bundle(1)
    stored = vault.store(demo_account(1001).address, bundle)
    plain = create_backup(settings, tmp_path / "b1")
    assert plain.excluded_secrets == ["data/verifier/identity.key"]
    with_key = create_backup(settings, tmp_path / "b2", include_secrets=True)
    assert [f.kind for f in with_key.files if f.path.endswith("identity.key")] == ["secret"]
    shutil.rmtree(settings.data_dir)
    restore_backup(settings, tmp_path / "b2", with_key.backup_id)
    assert settings.identity_key_file.stat().st_mode & 0o777 == 0o600
    assert IdentityVault.from_settings(settings).decrypt(stored.record_id) == bundle


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("gridledger"))
    return subprocess.run(
        [exe, "backup", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_refuses_tampered_backup_and_busy_data_dir_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "gridledger.db")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    db.close()
    (data / "manifest.json").write_text("{}")
    env = {"GRIDLEDGER_DATA_DIR": str(data), "GRIDLEDGER_RPC_URL": "http://127.0.0.1:9"}
    assert _cli(["create"], env).returncode == 0
    busy = _cli(["restore"], env)
    assert busy.returncode == 1
    assert busy.stderr.startswith(f"error: {data} is not empty")
    assert _cli(["restore", "--force"], env).returncode == 0
    (backup,) = (tmp_path / "data-backups").iterdir()
    (backup / "files" / "data" / "manifest.json").write_text('{"evil": 1}')
    bad = _cli(["verify", backup.name], env)
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        f"error: backup {backup.name}: data/manifest.json in {backup.name} does not match its "
        "sha256: refused"
    ]
