"""``gridledger gateway``: the indexer, explorer and history API."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import create_engine, text

from ledger.cli_support import console, make_context, print_json
from ledger.errors import ConfigError

app = typer.Typer(help="Event indexer, explorer and history API.", no_args_is_help=True)


@app.command("info")
def info(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the database the gateway uses and the chain and manifest it follows."""
    ctx = make_context()
    url = ctx.settings.database_url
    ctx.settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with create_engine(url).connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        raise ConfigError(f"cannot open database {url}: {exc}") from exc
    manifest = ctx.manifest
    data = {
        "database_url": url,
        "rpc_url": ctx.settings.rpc_url,
        "chain_id": manifest.chain_id,
        "deploy_block": manifest.deploy_block,
        "contracts": {k: v.address for k, v in manifest.contracts.items()},
    }
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"{key:>14}: {value}")
