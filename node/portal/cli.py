"""``gridledger portal serve``: the participant portal of one organisation."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli_support import console, make_context, wallet_option

app = typer.Typer(
    help="The participant portal (web pages of one organisation).", no_args_is_help=True
)


@app.callback()
def main() -> None:
    """The participant portal: ``serve`` it on the organisation's own machine."""


@app.command("serve")
def serve(
    wallet: Annotated[str, wallet_option("The organisation's keystore (unlocked at log-in).")],
    host: Annotated[str, typer.Option(help="Listen address (keep it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8600,
    idle_timeout_s: Annotated[
        float, typer.Option("--idle-timeout-s", min=30, help="Idle sessions are logged out.")
    ] = 900.0,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Mark cookies Secure (behind HTTPS).")
    ] = False,
) -> None:
    """Serve the portal of WALLET on HOST:PORT (log in with the keystore's password)."""
    import uvicorn

    from node.portal.app import PortalConfig, create_app

    ctx = make_context()
    ctx.keystore.info(wallet)  # a missing keystore is one error line now, not at log-in
    config = PortalConfig(wallet=wallet, idle_timeout_s=idle_timeout_s,
                          secure_cookies=secure_cookies)  # fmt: skip
    console.print(f"portal of {wallet} on http://{host}:{port}/")
    uvicorn.run(create_app(ctx, config), host=host, port=port, log_level="warning")
