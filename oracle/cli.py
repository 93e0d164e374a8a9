"""``gridledger oracle``: the meter and dispatch oracle's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli_support import console, make_context, print_json
from ledger.clients.access import MarketAccessClient
from ledger.keystore import resolve_password

app = typer.Typer(help="The meter and dispatch oracle.", no_args_is_help=True)


@app.command("info")
def info(
    wallet: Annotated[str, typer.Option(help="The oracle's relaying wallet.")] = "meter-oracle",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the oracle's chain, key and whether that key holds METER_ORACLE."""
    ctx = make_context()
    account = ctx.account(wallet, lambda: resolve_password(ctx.settings))
    access = ctx.client(MarketAccessClient, account)
    data = {
        "rpc_url": ctx.settings.rpc_url,
        "chain_id": ctx.w3.eth.chain_id,
        "wallet": wallet,
        "address": account.address,
        "has_meter_oracle_role": access.has_role("METER_ORACLE", account.address),
        "market_access": access.address,
    }
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"{key:>22}: {value}")
