"""``gridledger portal serve``: the participant portal of one organisation."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli_support import console, make_context, wallet_option
from ledger.tls import InsecureOpt, uvicorn_ssl_kwargs

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
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8800,
    idle_timeout_s: Annotated[
        float, typer.Option("--idle-timeout-s", min=30, help="Idle sessions are logged out.")
    ] = 900.0,
    insecure_http: InsecureOpt = False,
) -> None:
    """Serve the portal of WALLET over HTTPS (certificate ``portal`` of ``tls init``) on
    HOST:PORT; log in with the keystore's password."""
    import uvicorn

    from node.portal.app import PortalConfig, create_app

    ctx = make_context()
    ctx.keystore.info(wallet)  # a missing keystore is one error line now, not at log-in
    tls_kwargs = uvicorn_ssl_kwargs(ctx.settings, "portal", insecure_http=insecure_http)
    config = PortalConfig(wallet=wallet, idle_timeout_s=idle_timeout_s,
                          secure_cookies=not insecure_http)  # fmt: skip
    scheme = "http" if insecure_http else "https"
    console.print(f"portal of {wallet} on {scheme}://{host}:{port}/")
    uvicorn.run(create_app(ctx, config), host=host, port=port, log_level="warning", **tls_kwargs)
