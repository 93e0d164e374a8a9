"""``gridledger``: the one command line of the project.

Areas of the shared core (``chain``, ``contracts``, ``deploy``) live here; the role apps
(``node``, ``oracle``, ``gateway``) and the demo register their own areas through the
``gridledger.areas`` entry-point group, so this module never imports them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import EntryPoint, entry_points
from typing import Annotated

import typer
import typer.main
from eth_account.signers.local import LocalAccount
from pydantic import ValidationError as PydanticValidationError
from rich.markup import escape
from rich.table import Table
from typer._click import exceptions as click_exceptions
from typer._click.core import Command, Context
from typer.core import TyperGroup
from web3.exceptions import Web3Exception

from ledger import compiler
from ledger.artifacts import ArtifactStore
from ledger.cli_support import (
    account_address,
    console,
    err_console,
    make_context,
    print_json,
    prompt_password,
    wallet_address,
)
from ledger.clients.access import ROLE_NAMES, MarketAccessClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.engines.local import LocalChain, LocalEngine
from ledger.errors import ConfigError, GridLedgerError
from ledger.manifest import load_manifest
from ledger.market_init import init_market
from ledger.settings import get_settings


class _LazyAreas(TyperGroup):
    """Loads a role app's area only when it is invoked (or when help lists every area).

    Importing every area at start-up (scikit-learn, scipy, FastAPI, ...) would make each
    command pay for all of them.
    """

    def list_commands(self, ctx: Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_area_entry_points()))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = _area_entry_points().get(cmd_name)
        if ep is None:
            return None
        loaded = typer.main.get_command(ep.load())
        loaded.name = cmd_name
        self.add_command(loaded, cmd_name)
        return loaded


def _area_entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group="gridledger.areas")}


app = typer.Typer(
    cls=_LazyAreas,
    name="gridledger",
    help="GridLedger: a permissioned Ethereum ledger for an electricity market.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
chain_app = typer.Typer(help="The local chain (anvil or Hardhat).", no_args_is_help=True)
contracts_app = typer.Typer(help="The Solidity build.", no_args_is_help=True)
deploy_app = typer.Typer(
    help="Deploy the contract suite (no subcommand) or manage its roles.",
    invoke_without_command=True,
)
app.add_typer(chain_app, name="chain")
app.add_typer(contracts_app, name="contracts")
app.add_typer(deploy_app, name="deploy")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@chain_app.command("up")
def chain_up(
    engine: Annotated[
        str | None, typer.Option(help="anvil (persistent, default) or hardhat (in memory).")
    ] = None,
    block_time: Annotated[
        int | None,
        typer.Option(
            "--block-time",
            min=1,
            help="anvil: seconds between interval blocks (default 1); hardhat: seconds "
            "per block (default automine).",
        ),
    ] = None,
    mining: Annotated[
        str | None,
        typer.Option(help="anvil: interval (default), mixed (automine + interval), auto."),
    ] = None,
) -> None:
    """Start the local chain in the background."""
    if engine not in (None, "anvil", "hardhat"):
        raise ConfigError(f"unknown engine {engine!r}: use anvil or hardhat")
    if mining not in (None, "mixed", "auto", "interval"):
        raise ConfigError(f"unknown mining mode {mining!r}: use mixed, auto or interval")
    chosen: LocalEngine | None = engine  # type: ignore[assignment]
    status = LocalChain(get_settings()).up(chosen, block_time, mining)  # type: ignore[arg-type]
    if status.already_running:
        console.print(f"chain already running at {status.rpc_url} (pid {status.pid})")
        return
    console.print(
        f"chain up: {status.engine} at {status.rpc_url}, chain id {status.chain_id}, "
        f"block {status.block_number}"
    )
    if status.persistent:
        console.print(f"state persists in {status.state_file}")
    else:
        console.print("[yellow]hardhat's node keeps state in memory: `down` loses it[/]")


@chain_app.command("down")
def chain_down() -> None:
    """Stop the local chain (anvil saves its state first)."""
    stopped = LocalChain(get_settings()).down()
    console.print("chain stopped" if stopped else "no chain was running")


@chain_app.command("status")
def chain_status(as_json: JsonOpt = False) -> None:
    """Say whether the chain runs, where, and at which block."""
    status = LocalChain(get_settings()).status()
    if as_json:
        print_json(status)
        return
    if not status.running:
        console.print(f"chain not running at {status.rpc_url}")
        raise typer.Exit(3)
    console.print(
        f"chain running: {status.engine or 'external'} at {status.rpc_url}, chain id "
        f"{status.chain_id}, block {status.block_number}"
        + (f", pid {status.pid}" if status.pid else "")
    )


@chain_app.command("reset")
def chain_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop the chain and delete its persisted state (every contract and balance)."""
    if not yes:
        typer.confirm("Delete the local chain's state?", abort=True)
    LocalChain(get_settings()).reset()
    console.print("chain reset: state deleted")


@chain_app.command("advance")
def chain_advance(
    seconds: Annotated[int, typer.Option("--seconds", min=1, help="How far to move the clock.")],
) -> None:
    """Local dev chains only: move the chain's clock forward and mine a block."""
    timestamp = LocalChain(get_settings()).advance(seconds)
    console.print(f"chain time now {timestamp} ({_utc(timestamp)})")


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@contracts_app.command("build")
def contracts_build(
    force: Annotated[bool, typer.Option("--force", help="Recompile even if unchanged.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Compile every contract under contracts/ with the pinned solc."""
    result = compiler.build(get_settings(), force=force)
    if as_json:
        print_json(result)
        return
    console.print(
        ("compiled" if result.compiled else "up to date")
        + f": solc {result.solc_long_version}, build {result.build_info_id}"
    )
    for warning in result.warnings:
        err_console.print(f"[yellow]{warning}[/]")
    for key, digest in result.artifact_hashes.items():
        if key.startswith("contracts/"):
            console.print(f"  {digest[:16]}  {key}")


@contracts_app.command("list")
def contracts_list(as_json: JsonOpt = False) -> None:
    """List the suite's compiled contracts and their artifact hashes."""
    artifacts = ArtifactStore.from_settings(get_settings()).suite()
    rows = [
        {"contract": a.contract_name, "source": a.source_name, "sha256": a.sha256}
        for a in artifacts
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("contract", "source", "sha256")
    for row in rows:
        table.add_row(row["contract"], row["source"], row["sha256"][:16])
    console.print(table)


WalletOpt = Annotated[
    str | None, typer.Option("--wallet", help="Keystore that signs (default: admin wallet).")
]


@deploy_app.callback()
def deploy(
    ctx: typer.Context,
    wallet: WalletOpt = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Deploy a new suite even if one is deployed.")
    ] = False,
) -> None:
    """Deploy the suite, grant configured roles and write the manifest."""
    if ctx.invoked_subcommand is not None:
        return
    lctx = make_context()
    admin = _admin(lctx, wallet)
    compiler.build(lctx.settings)
    outcome = deploy_suite(lctx, admin, fresh=fresh)
    manifest = outcome.manifest
    verb = "reused" if outcome.reused else "deployed"
    console.print(f"{verb}: {len(manifest.contracts)} contracts on chain {manifest.chain_id}")
    for name, contract in manifest.contracts.items():
        console.print(f"  {name:<24} {contract.address}")
    console.print(f"manifest: {outcome.manifest_path}")
    console.print(f"rpc: {lctx.settings.rpc_url}")


@deploy_app.command("show")
def deploy_show(as_json: JsonOpt = False) -> None:
    """Print the deployment manifest."""
    manifest = load_manifest(get_settings().manifest_path)
    if as_json:
        print_json(manifest)
        return
    console.print(f"chain {manifest.chain_id}, deployed from block {manifest.deploy_block}")
    for name, contract in manifest.contracts.items():
        console.print(f"  {name:<24} {contract.address}")


def _role(role: str) -> str:
    name = role.upper().replace("-", "_")
    if name not in (*ROLE_NAMES, "DEFAULT_ADMIN"):
        raise ConfigError(f"unknown role {role!r}: one of {', '.join(ROLE_NAMES)}")
    return name


def _admin(lctx: LedgerContext, wallet: str | None) -> LocalAccount:
    """The admin wallet's key; a missing wallet is refused before any password prompt."""
    name = wallet or lctx.settings.admin_wallet
    wallet_address(lctx, name)
    return lctx.account(name, prompt_password)


AccountArg = Annotated[str, typer.Argument(help="An address (0x...) or a wallet name.")]


@deploy_app.command("grant")
def deploy_grant(role: str, account: AccountArg, wallet: WalletOpt = None) -> None:
    """Grant ROLE to ACCOUNT (an address or a wallet name; signed by the admin wallet)."""
    lctx = make_context()
    name = _role(role)
    account = account_address(lctx, account)
    access = lctx.client(MarketAccessClient, _admin(lctx, wallet))
    receipt = access.grant_role(name, account)
    console.print(f"granted {role} to {account} in tx {receipt['transactionHash'].to_0x_hex()}")


@deploy_app.command("revoke")
def deploy_revoke(role: str, account: AccountArg, wallet: WalletOpt = None) -> None:
    """Revoke ROLE from ACCOUNT (an address or a wallet name)."""
    lctx = make_context()
    name = _role(role)
    account = account_address(lctx, account)
    access = lctx.client(MarketAccessClient, _admin(lctx, wallet))
    receipt = access.revoke_role(name, account)
    console.print(f"revoked {role} from {account} in tx {receipt['transactionHash'].to_0x_hex()}")


@app.command("init")
def init() -> None:
    """Create the institutions' wallets (admin, operator, verifier, regulator, dispatch,
    meter-oracle, credit-agency, clearing-bank), deploy, grant each its role by name and
    write <data dir>/roles.json. Safe to run again: existing wallets and grants are kept."""
    lctx = make_context()
    compiler.build(lctx.settings)
    outcome = init_market(lctx, prompt_password)
    for name in outcome.created_wallets:
        console.print(f"created wallet {name}: {outcome.addresses[name]}")
    verb = "deployed" if outcome.deployed else "reused"
    console.print(f"{verb}: manifest {outcome.manifest_path}")
    for grant in outcome.granted:
        console.print(f"granted {grant}")
    console.print(f"roles file: {outcome.roles_file}")


def _fail(message: str, code: int = 1) -> int:
    """Print ``error: <message>`` as one line on stderr and return ``code``."""
    one_line = " ".join(message.split())
    err_console.print(f"[red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)
    return code


def run(args: Sequence[str] | None = None) -> int:
    """Run the command line on ``args`` (default ``sys.argv``) and return the exit code.

    Every mistake becomes one ``error: ...`` line on stderr: the project's own errors, click's
    usage errors (unknown option, missing argument, bad number), and what the libraries raise
    on bad input (unreadable files, malformed JSON, a value the chain client refuses). Only
    ``GRIDLEDGER_DEBUG=1`` shows a traceback of an unexpected error.
    """
    try:
        code = app(
            args=list(args) if args is not None else None,
            prog_name="gridledger",
            standalone_mode=False,
        )
    except GridLedgerError as exc:
        return _fail(str(exc))
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code)
    except click_exceptions.ClickException as exc:
        return _fail(_click_message(exc), exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except (OSError, ValueError, LookupError, TypeError, Web3Exception) as exc:
        if os.environ.get("GRIDLEDGER_DEBUG"):
            raise
        return _fail(_library_message(exc))
    return code if isinstance(code, int) else 0


def _click_message(exc: click_exceptions.ClickException) -> str:
    message = exc.format_message()
    if isinstance(exc, click_exceptions.UsageError) and exc.ctx is not None:
        return f"{message} (see `{exc.ctx.command_path} --help`)"
    return message


def _library_message(exc: BaseException) -> str:
    """A library's exception as a readable line (its message, else its type)."""
    if isinstance(exc, PydanticValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'value'}: {e['msg']}"
            for e in exc.errors()[:3]
        )
        return f"invalid {exc.title}: {problems}"
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot read {exc.filename}: {exc.strerror}"
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def main() -> None:
    """Console-script entry point: errors become one line on stderr and exit code 1."""
    sys.exit(run())


if __name__ == "__main__":
    main()
