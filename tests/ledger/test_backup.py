"""Backups without a chain: what is discovered and left out, and the PostgreSQL path through
``pg_dump``/``pg_restore`` (stand-ins on PATH record their arguments)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ledger.backup import BackupError, create_backup, discover, restore_backup
from ledger.settings import Settings

FAKE_PG = """#!/bin/sh
echo "$(basename "$0") $* PGPASSWORD=$PGPASSWORD" >> "{log}"
if [ "$(basename "$0")" = pg_dump ]; then
  while [ $# -gt 0 ]; do [ "$1" = -f ] && printf 'PGDMP-fake' > "$2"; shift; done
fi
"""


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings.model_validate({"data_dir": tmp_path / "data", **kw})


def test_discover_leaves_out_chain_state_journals_and_flags_secrets(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    data = settings.data_dir
    for rel in (
        "chain/anvil-state.json",
        "consortium/node0/geth/chaindata/000001.log",
        "consortium/node0/geth.pid",
        "consortium/node0/password.txt",
        "consortium/genesis.json",
        "gridledger.db-wal",
        "oracle/oracle-0xabc.lock",
        "oracle/proofs/0xabc/7.json",
        "tls/ca.crt",
        "tls/ca.key",
        "verifier/identity.key",
        "manifest.json",
    ):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text("x")
    found = {logical: kind for logical, _, kind in discover(settings)}
    assert found == {
        "data/consortium/genesis.json": "file",
        "data/consortium/node0/password.txt": "secret",
        "data/manifest.json": "file",
        "data/oracle/proofs/0xabc/7.json": "file",
        "data/tls/ca.crt": "file",
        "data/tls/ca.key": "secret",
        "data/verifier/identity.key": "secret",
    }


def test_postgresql_goes_through_pg_dump_and_pg_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, log = tmp_path / "bin", tmp_path / "pg.log"
    bin_dir.mkdir()
    for tool in ("pg_dump", "pg_restore"):
        script = bin_dir / tool
        script.write_text(FAKE_PG.format(log=log))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    url = "postgresql+psycopg://grid:secret@127.0.0.1:5432/gridledger"
    settings = _settings(tmp_path, GRIDLEDGER_DATABASE_URL=url)
    settings.data_dir.mkdir()
    (settings.data_dir / "manifest.json").write_text("{}")
    made = create_backup(settings, tmp_path / "backups")
    assert made.database == "postgresql"
    assert {(f.path, f.kind) for f in made.files} == {
        ("data/manifest.json", "file"),
        ("postgres/database.dump", "postgres"),
    }
    (settings.data_dir / "manifest.json").unlink()
    restore_backup(settings, tmp_path / "backups", made.backup_id)
    files = tmp_path / "backups" / made.backup_id / "files"
    staged = tmp_path / "backups" / f".{made.backup_id}.partial" / "files"
    dump = "postgres/database.dump"
    libpq = "postgresql://grid@127.0.0.1:5432/gridledger"  # the password goes by env
    assert log.read_text().splitlines() == [
        f"pg_dump -Fc --no-owner -f {staged / dump} --dbname {libpq} PGPASSWORD=secret",
        f"pg_restore --clean --if-exists --no-owner {files / dump} --dbname {libpq} "
        "PGPASSWORD=secret",
    ]
    assert (settings.data_dir / "manifest.json").read_text() == "{}"


def test_backup_dir_inside_the_data_dir_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.data_dir.mkdir()
    with pytest.raises(BackupError, match="must not be inside the data directory"):
        create_backup(settings, settings.data_dir / "backups")
