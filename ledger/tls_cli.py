"""``gridledger tls``: the consortium CA and the services' certificates."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli_support import console
from ledger.settings import get_settings
from ledger.tls import init_tls, tls_dir

app = typer.Typer(help="TLS between consortium members.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """TLS between consortium members (a group, even with one command)."""


@app.command("init")
def init(
    hostname: Annotated[
        list[str] | None,
        typer.Option("--hostname", help="Extra DNS name or IP of the servers (repeatable)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-issue everything, CA included.")
    ] = False,
) -> None:
    """Create the consortium CA, server certificates (oracle, gateway, portal) and client
    certificates (dispatch, meter); files that exist are kept."""
    result = init_tls(tls_dir(get_settings()), hostnames=hostname or [], force=force)
    console.print(
        f"TLS in {result.directory}: created {', '.join(result.created) or 'nothing'}; "
        f"kept {', '.join(result.kept) or 'nothing'}"
    )
