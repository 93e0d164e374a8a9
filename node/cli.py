"""``gridledger node``: the market participant's commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ledger.cli_support import console, make_context, print_json, prompt_password
from ledger.errors import KeystoreError
from ledger.keystore import resolve_password

app = typer.Typer(help="A market participant's client.", no_args_is_help=True)
wallet_app = typer.Typer(help="Encrypted keystores (Web3 Secret Storage).", no_args_is_help=True)
app.add_typer(wallet_app, name="wallet")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _new_password() -> str:
    password = str(typer.prompt("New keystore password", hide_input=True))
    if password != typer.prompt("Repeat password", hide_input=True):
        raise KeystoreError("the two passwords differ")
    return password


@wallet_app.command("create")
def wallet_create(name: str, as_json: JsonOpt = False) -> None:
    """Create wallet NAME: a new key in an encrypted keystore (mode 0600)."""
    ctx = make_context()
    password = resolve_password(ctx.settings, _new_password)
    info = ctx.keystore.create(name, password)
    if as_json:
        print_json(info)
        return
    console.print(f"created wallet {info.name}: {info.address}")
    console.print(f"keystore: {info.path}")


@wallet_app.command("list")
def wallet_list(as_json: JsonOpt = False) -> None:
    """List the wallets in the keystore directory."""
    ctx = make_context()
    wallets = ctx.keystore.list()
    if as_json:
        print_json(wallets)
        return
    if not wallets:
        console.print(f"no wallets in {ctx.keystore.directory}")
        return
    table = Table("name", "address", "keystore")
    for w in wallets:
        table.add_row(w.name, w.address, w.path)
    console.print(table)


@wallet_app.command("show")
def wallet_show(
    name: str,
    unlock: Annotated[
        bool, typer.Option("--unlock", help="Also check the password opens the keystore.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show wallet NAME's address (and check its password with --unlock)."""
    ctx = make_context()
    info = ctx.keystore.info(name)
    if unlock:
        account = ctx.keystore.load(name, resolve_password(ctx.settings, prompt_password))
        if account.address != info.address:
            raise KeystoreError(f"keystore {name} decrypts to another address")
    if as_json:
        print_json(info)
        return
    console.print(
        f"{info.name}: {info.address} ({info.path})" + (" - password ok" if unlock else "")
    )
