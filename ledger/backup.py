"""Full and incremental backups of what the chain does not hold.

A backup covers the data directory (the off-chain SQL database with the oracle's signed
readings, batches and outbox, the gateway's index and the identity vault; the deployment
manifests; the oracle's proofs; the TLS certificates; the consortium's configuration),
the keystores (still encrypted) and, only with ``include_secrets``, the secrets: the
identity vault's AES key and TLS/p2p private keys. The chain's own state (``chain/``,
validator ``geth/`` datadirs), logs, pid and lock files are left out.

SQLite databases are copied through SQLite's online backup API (a consistent snapshot
while the services run), PostgreSQL through ``pg_dump -Fc`` / ``pg_restore``; every other
file as is. Each backup is a directory ``<backup dir>/<id>/`` holding ``manifest.json``
(sha256, size and kind per file, creation time, git commit, chain id, head block) and
``files/``. An incremental backup stores only the files whose checksum changed since its
base and refers to the base for the rest; restoring it applies the chain of backups.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from web3 import Web3

from ledger.context import LedgerContext
from ledger.db import make_engine
from ledger.errors import GridLedgerError
from ledger.settings import PROJECT_ROOT, Settings

FORMAT = 1
MANIFEST = "manifest.json"
FileKind = Literal["sqlite", "postgres", "file", "secret"]

#: Top-level parts of the data directory that belong to the chain itself, not to us.
_CHAIN_DIRS = frozenset({"chain"})
#: Names never backed up: live journals, logs, pids, locks.
_SKIP_SUFFIXES = (".log", ".pid", ".lock", "-wal", "-shm", "-journal")
#: File names that are secrets (private keys, passwords), kept out unless asked.
_SECRET_NAMES = frozenset({"password.txt", "nodekey"})
_SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(GridLedgerError):
    """A backup cannot be made, found, verified or restored."""


class BackupTamperedError(BackupError):
    """A backup's files do not match its manifest's checksums."""


class BackupFile(BaseModel):
    """One file of a backup: its logical path (``<root>/<relative path>``)."""

    path: str
    kind: FileKind
    sha256: str
    size_bytes: int
    mode: int = Field(default=0o644, description="Permission bits to restore.")
    stored_in: str = Field(description="Id of the backup that holds the bytes.")


class BackupManifest(BaseModel):
    """``manifest.json`` of one backup."""

    format: int = FORMAT
    backup_id: str
    kind: Literal["full", "incremental"]
    base: str | None = Field(default=None, description="Backup an incremental one builds on.")
    created_at: datetime
    git_commit: str | None
    chain_id: int | None
    head_block: int | None
    database: Literal["sqlite", "postgresql"]
    include_secrets: bool
    excluded_secrets: list[str] = Field(default_factory=list)
    files: list[BackupFile]

    @property
    def stored_files(self) -> list[BackupFile]:
        """The files whose bytes this backup itself holds."""
        return [f for f in self.files if f.stored_in == self.backup_id]


def sha256_file(path: Path) -> str:
    """Hex sha256 of ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite database file of ``settings.database_url`` (``None`` for other URLs)."""
    url = settings.database_url
    if not url.startswith("sqlite") or "///" not in url:
        return None
    path = url.split("///", 1)[1].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def backup_roots(settings: Settings) -> dict[str, Path]:
    """Logical roots of a backup and where they live under ``settings``.

    ``data`` is the data directory; the keystore directory, the identity key and the
    SQLite database get roots of their own only when they live outside it.
    """
    data = settings.data_dir.resolve()
    roots = {"data": data}
    extra = {
        "keystore": settings.keystore_dir,
        "identity-key": settings.identity_key_file,
        "database": sqlite_path(settings),
    }
    for name, path in extra.items():
        if path is not None and not _inside(path, data):
            roots[name] = path.resolve()
    return roots


def _skipped(rel: Path) -> bool:
    if rel.parts and rel.parts[0] in _CHAIN_DIRS:
        return True
    return "geth" in rel.parts[:-1] or rel.name.endswith(_SKIP_SUFFIXES)


def _is_secret(path: Path, settings: Settings) -> bool:
    if path.resolve() == settings.identity_key_file.resolve():
        return True
    return path.suffix == ".key" or path.name in _SECRET_NAMES


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC


def discover(settings: Settings) -> Iterator[tuple[str, Path, FileKind]]:
    """Every file a backup covers: (logical path, where it is, kind), secrets included."""
    for root, base in backup_roots(settings).items():
        if base.is_file():
            candidates = [(root, base)]
        elif base.is_dir():
            candidates = [
                (f"{root}/{p.relative_to(base).as_posix()}", p)
                for p in sorted(base.rglob("*"))
                if p.is_file() and not _skipped(p.relative_to(base))
            ]
        else:
            continue
        for logical, path in candidates:
            if _is_secret(path, settings):
                yield logical, path, "secret"
            else:
                yield logical, path, "sqlite" if _is_sqlite(path) else "file"


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API)."""
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URL of SQLAlchemy ``url`` without its password, and an environment that
    passes the password as ``PGPASSWORD`` (never on a command line others can read)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    bare = URL.create(
        parsed.drivername.split("+", 1)[0],
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False), env


def _run_pg(tool: str, args: list[str], url: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} not found on PATH: install the PostgreSQL client tools")
    dbname, env = _libpq(url)
    result = subprocess.run(
        [tool, *args, "--dbname", dbname], capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackupError(f"{tool}: {message}")


def pg_dump(url: str, target: Path) -> None:
    """``pg_dump -Fc`` of the database at SQLAlchemy ``url`` into ``target``."""
    _run_pg("pg_dump", ["-Fc", "--no-owner", "-f", str(target)], url)


def pg_restore(url: str, dump: Path) -> None:
    """``pg_restore`` of ``dump`` into the database at ``url`` (its tables replaced)."""
    _run_pg("pg_restore", ["--clean", "--if-exists", "--no-owner", str(dump)], url)


def git_commit() -> str | None:
    """The source tree's commit, when it is a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except OSError:
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def load_manifest(backup_dir: Path, backup_id: str) -> BackupManifest:
    """The manifest of backup ``backup_id`` (``latest``: the newest)."""
    if backup_id == "latest":
        backups = list_backups(backup_dir)
        if not backups:
            raise BackupError(f"no backups in {backup_dir}")
        return backups[-1]
    path = backup_dir / backup_id / MANIFEST
    if not path.is_file():
        raise BackupError(f"no backup {backup_id} in {backup_dir}")
    try:
        manifest = BackupManifest.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise BackupTamperedError(f"backup {backup_id}: manifest.json is unreadable") from exc
    if manifest.backup_id != backup_id:
        raise BackupTamperedError(f"backup {backup_id}: manifest names {manifest.backup_id}")
    return manifest


def list_backups(backup_dir: Path) -> list[BackupManifest]:
    """Every backup in ``backup_dir``, oldest first."""
    if not backup_dir.is_dir():
        return []
    ids = sorted(p.name for p in backup_dir.iterdir() if (p / MANIFEST).is_file())
    return [load_manifest(backup_dir, i) for i in ids]


def stored_path(backup_dir: Path, entry: BackupFile) -> Path:
    """Where the bytes of ``entry`` are in the backup that stores them."""
    return backup_dir / entry.stored_in / "files" / entry.path


def verify_backup(backup_dir: Path, backup_id: str) -> BackupManifest:
    """Check every file ``backup_id`` restores (its bases' included) against the manifest.

    Raises:
        BackupTamperedError: A file is missing or its size or sha256 differs.
    """
    manifest = load_manifest(backup_dir, backup_id)
    for entry in manifest.files:
        path = stored_path(backup_dir, entry)
        if not path.is_file():
            raise BackupTamperedError(
                f"backup {manifest.backup_id}: {entry.path} is missing from {entry.stored_in}"
            )
        if path.stat().st_size != entry.size_bytes or sha256_file(path) != entry.sha256:
            raise BackupTamperedError(
                f"backup {manifest.backup_id}: {entry.path} in {entry.stored_in} does not "
                "match its sha256: refused"
            )
    return manifest


def new_backup_id(kind: str, now: datetime) -> str:
    """Sortable id: ``20260101T120000.123456Z-full``."""
    return f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{kind}"


def restore_target(settings: Settings, logical: str) -> Path:
    """Where the file at logical path ``logical`` goes under ``settings``."""
    root, _, rel = logical.partition("/")
    roots = {
        "data": settings.data_dir,
        "keystore": settings.keystore_dir,
        "identity-key": settings.identity_key_file,
        "database": sqlite_path(settings),
    }
    base = roots.get(root)
    if base is None or (rel and (".." in Path(rel).parts or Path(rel).is_absolute())):
        raise BackupTamperedError(f"backup file {logical!r} has no place to restore to")
    return base / rel if rel else base


def _occupied(settings: Settings, manifest: BackupManifest) -> list[Path]:
    """A non-empty data directory, and any file outside it the restore would overwrite."""
    data = settings.data_dir
    busy = [data] if data.is_dir() and any(data.iterdir()) else []
    for entry in manifest.files:
        if entry.kind != "postgres" and not entry.path.startswith("data/"):
            target = restore_target(settings, entry.path)
            busy += [target] if target.exists() else []
    return busy


def restore_backup(
    settings: Settings, backup_dir: Path, backup_id: str, *, force: bool = False
) -> BackupManifest:
    """Verify backup ``backup_id``, then put every file back where ``settings`` wants it.

    Raises:
        BackupError: The data directory is not empty (and not ``force``).
        BackupTamperedError: The backup does not verify.
    """
    manifest = verify_backup(backup_dir, backup_id)
    busy = _occupied(settings, manifest)
    if busy and not force:
        raise BackupError(
            f"{busy[0]} is not empty: restore into an empty data directory, or pass --force "
            "to overwrite"
        )
    for entry in manifest.files:
        source = stored_path(backup_dir, entry)
        if entry.kind == "postgres":
            pg_restore(settings.database_url, source)
            continue
        target = restore_target(settings, entry.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        tmp = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o600 if entry.kind == "secret" else entry.mode)
        tmp.replace(target)
    return manifest


def _stage(
    settings: Settings, staging: Path, include_secrets: bool
) -> tuple[list[tuple[str, FileKind, Path, int]], list[str]]:
    """Copy every file into ``staging`` (databases consistently); the excluded secrets."""
    staged: list[tuple[str, FileKind, Path, int]] = []
    excluded: list[str] = []
    for logical, path, kind in discover(settings):
        if kind == "secret" and not include_secrets:
            excluded.append(logical)
            continue
        target = staging / logical
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "sqlite":
            copy_sqlite(path, target)
        else:
            shutil.copyfile(path, target)
        staged.append((logical, kind, target, stat.S_IMODE(path.stat().st_mode)))
    if sqlite_path(settings) is None:
        target = staging / "postgres" / "database.dump"
        target.parent.mkdir(parents=True, exist_ok=True)
        pg_dump(settings.database_url, target)
        staged.append(("postgres/database.dump", "postgres", target, 0o600))
    return staged, excluded


def create_backup(
    settings: Settings,
    backup_dir: Path,
    *,
    incremental: bool = False,
    base_id: str = "latest",
    include_secrets: bool = False,
    chain_id: int | None = None,
    head_block: int | None = None,
) -> BackupManifest:
    """Back up everything under ``settings`` into a new directory of ``backup_dir``.

    An incremental backup (on ``base_id``, default the newest) stores only the files whose
    sha256 differs from the base's; its manifest still lists every file.
    """
    if not settings.data_dir.is_dir():
        raise BackupError(f"no data directory at {settings.data_dir}: nothing to back up")
    if _inside(backup_dir, settings.data_dir):
        raise BackupError(f"backup directory {backup_dir} must not be inside the data directory")
    base = verify_backup(backup_dir, base_id) if incremental else None
    previous = {f.path: f for f in base.files} if base else {}
    now = datetime.now(UTC)
    backup_id = new_backup_id("incremental" if base else "full", now)
    staging = backup_dir / f".{backup_id}.partial"
    files_dir = staging / "files"
    files_dir.mkdir(parents=True)
    try:
        staged, excluded = _stage(settings, files_dir, include_secrets)
        entries: list[BackupFile] = []
        for logical, kind, path, mode in staged:
            digest, size = sha256_file(path), path.stat().st_size
            old = previous.get(logical)
            stored_in = backup_id
            if old is not None and old.sha256 == digest and old.size_bytes == size:
                stored_in = old.stored_in
                path.unlink()
            entries.append(
                BackupFile(
                    path=logical,
                    kind=kind,
                    sha256=digest,
                    size_bytes=size,
                    mode=mode,
                    stored_in=stored_in,
                )
            )
        manifest = BackupManifest(
            backup_id=backup_id,
            kind="incremental" if base else "full",
            base=base.backup_id if base else None,
            created_at=now,
            git_commit=git_commit(),
            chain_id=chain_id,
            head_block=head_block,
            database="sqlite" if sqlite_path(settings) else "postgresql",
            include_secrets=include_secrets,
            excluded_secrets=excluded,
            files=entries,
        )
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
        staging.rename(backup_dir / backup_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


class AnchorCheck(BaseModel):
    """The restored oracle store's batches against the chain's ``MeterOracle``."""

    store_batches: int = Field(description="Batches in the restored store (ids 1..n).")
    chain_next_batch_id: int
    missing_batch_ids: list[int] = Field(
        description="Batches anchored on chain after the backup: not in the store."
    )
    pending_batches: int = Field(description="Batches in the store its relay still anchors.")

    @property
    def ok(self) -> bool:
        """The oracle resumes without a gap or a duplicate batch id."""
        return not self.missing_batch_ids

    def describe(self) -> str:
        """One line for the CLI."""
        head = (
            f"oracle store: {self.store_batches} batches, {self.pending_batches} still to "
            f"anchor; chain nextBatchId {self.chain_next_batch_id}"
        )
        if self.ok:
            return f"{head}: consistent"
        ids = self.missing_batch_ids
        return (
            f"{head}: batches {ids[0]}..{ids[-1]} were anchored after this backup and are "
            "not in the store (restore a later backup, or re-ingest those readings)"
        )


def anchor_check(ctx: LedgerContext) -> AnchorCheck:
    """Compare the oracle store under ``ctx.settings`` with the chain's ``nextBatchId``."""
    engine = make_engine(ctx.settings)
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT COUNT(*), MAX(id) FROM oracle_batches")).one()
    except OperationalError as exc:
        raise BackupError(f"no oracle store in {ctx.settings.database_url}") from exc
    finally:
        engine.dispose()
    count, last = int(stored[0]), int(stored[1] or 0)
    if count != last:
        raise BackupError(f"oracle store has {count} batches but its last id is {last}")
    contract = ctx.w3.eth.contract(
        address=Web3.to_checksum_address(ctx.manifest.address("MeterOracle")),
        abi=ctx.store.get("MeterOracle").abi,
    )
    next_id = int(contract.functions.nextBatchId().call())
    return AnchorCheck(
        store_batches=count,
        chain_next_batch_id=next_id,
        missing_batch_ids=list(range(count + 1, next_id)),
        pending_batches=max(0, count - (next_id - 1)),
    )
