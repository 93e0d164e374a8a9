"""``gridledger backup``: full and incremental backups of the off-chain state.

See :mod:`ledger.backup` for what a backup holds; every failure is a
:class:`~ledger.backup.BackupError` the main CLI prints as one line.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from ledger.backup import (
    BackupManifest,
    anchor_check,
    create_backup,
    list_backups,
    restore_backup,
    verify_backup,
)
from ledger.cli_support import console, make_context, print_json
from ledger.context import LedgerContext
from ledger.settings import Settings, get_settings
from ledger.web3factory import is_reachable, make_web3

app = typer.Typer(help="Back up and restore what the chain does not hold.", no_args_is_help=True)

DirOpt = Annotated[
    Path | None, typer.Option("--dir", help="Backup directory (default: GRIDLEDGER_BACKUP_DIR).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
IdArg = Annotated[str, typer.Argument(help="Backup id, or 'latest'.")]


def _chain_position(settings: Settings) -> tuple[int | None, int | None]:
    """(chain id, head block) when the chain answers; the backup never needs it."""
    with contextlib.suppress(Exception):
        w3 = make_web3(settings, check=False, timeout_s=3.0)
        if is_reachable(w3):
            return int(w3.eth.chain_id), int(w3.eth.block_number)
    return None, None


def _summary(m: BackupManifest) -> str:
    stored = m.stored_files
    size = sum(f.size_bytes for f in stored)
    base = f" on {m.base}" if m.base else ""
    return (
        f"{m.backup_id}: {m.kind}{base}, {len(m.files)} files ({len(stored)} stored, "
        f"{size} bytes), chain {m.chain_id} block {m.head_block}"
    )


@app.command("create")
def create(
    incremental: Annotated[
        bool, typer.Option("--incremental", help="Store only what changed since the base.")
    ] = False,
    base: Annotated[str, typer.Option(help="Base of an incremental backup.")] = "latest",
    include_secrets: Annotated[
        bool,
        typer.Option(
            "--include-secrets",
            help="Also back up the identity vault's AES key and TLS/p2p private keys.",
        ),
    ] = False,
    backup_dir: DirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Back up the database, manifests, keystores (encrypted) and configuration."""
    settings = get_settings()
    chain_id, head = _chain_position(settings)
    manifest = create_backup(
        settings,
        backup_dir or settings.backup_dir,
        incremental=incremental,
        base_id=base,
        include_secrets=include_secrets,
        chain_id=chain_id,
        head_block=head,
    )
    if as_json:
        print_json(manifest)
        return
    console.print(f"backup {_summary(manifest)}")
    if manifest.excluded_secrets:
        console.print(
            f"[yellow]not backed up (secrets, keep them safe elsewhere)[/]: "
            f"{', '.join(manifest.excluded_secrets)}"
        )


@app.command("list")
def list_cmd(backup_dir: DirOpt = None, as_json: JsonOpt = False) -> None:
    """Every backup, oldest first."""
    backups = list_backups(backup_dir or get_settings().backup_dir)
    if as_json:
        print_json(backups)
        return
    for m in backups:
        console.print(_summary(m))


@app.command("verify")
def verify(backup_id: IdArg = "latest", backup_dir: DirOpt = None) -> None:
    """Check every file of a backup (and of its bases) against the manifest's sha256."""
    manifest = verify_backup(backup_dir or get_settings().backup_dir, backup_id)
    console.print(f"OK: {_summary(manifest)}")


@app.command("restore")
def restore(
    backup_id: IdArg = "latest",
    backup_dir: DirOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a data directory that is not empty.")
    ] = False,
) -> None:
    """Restore a backup into an empty data directory (stop the services first)."""
    settings = get_settings()
    manifest = restore_backup(settings, backup_dir or settings.backup_dir, backup_id, force=force)
    console.print(f"restored {_summary(manifest)} into {settings.data_dir}")
    with contextlib.suppress(Exception):  # a hint only: the restore itself is done
        if _chain_position(settings)[0] is not None and settings.manifest_path.is_file():
            check = anchor_check(LedgerContext(settings))
            console.print(check.describe(), style=None if check.ok else "yellow")
    if manifest.excluded_secrets:
        console.print(
            "[yellow]secrets were not in the backup; put them back[/]: "
            f"{', '.join(manifest.excluded_secrets)}"
        )


@app.command("check")
def check(as_json: JsonOpt = False) -> None:
    """Compare the oracle store's batches with the chain's nextBatchId (after a restore);
    exits 1 when the chain holds batches the store lacks."""
    result = anchor_check(make_context())
    if as_json:
        print_json({**result.model_dump(), "ok": result.ok})
    else:
        console.print(result.describe())
    if not result.ok:
        raise typer.Exit(1)
