"""``gridledger portal serve``: the participant portal of one organisation; ``portal keys``:
the API keys (with scopes) of its participant API."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli_support import console, make_context, print_json, prompt_password, wallet_option
from ledger.context import LedgerContext
from ledger.keystore import resolve_password
from ledger.tls import InsecureOpt, uvicorn_ssl_kwargs
from node.portal.keys import Scope, issue_key, keys_path, read_keys, revoke_key

app = typer.Typer(
    help="The participant portal (web pages of one organisation).", no_args_is_help=True
)
keys_app = typer.Typer(
    help="API keys of the portal's participant API (/api/v1), each with scopes.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


@app.callback()
def main() -> None:
    """The participant portal: ``serve`` it on the organisation's own machine."""


def _unlock(ctx: LedgerContext, wallet: str) -> None:
    """Prove the organisation: its keystore opens with the password given (env var,
    password file or prompt); managing API keys that sign for it needs the same."""
    ctx.keystore.load(wallet, resolve_password(ctx.settings, prompt_password))


@app.command("serve")
def serve(
    wallet: Annotated[str, wallet_option("The organisation's keystore (unlocked at log-in).")],
    host: Annotated[str, typer.Option(help="Listen address (keep it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8800,
    idle_timeout_s: Annotated[
        float, typer.Option("--idle-timeout-s", min=30, help="Idle sessions are logged out.")
    ] = 900.0,
    api: Annotated[
        bool,
        typer.Option(
            "--api",
            help="Also serve the participant API (/api/v1, keys of `portal keys`): asks the "
            "keystore password now and keeps the key unlocked while the process runs.",
        ),
    ] = False,
    insecure_http: InsecureOpt = False,
) -> None:
    """Serve the portal of WALLET over HTTPS (certificate ``portal`` of ``tls init``) on
    HOST:PORT; log in with the keystore's password."""
    import uvicorn

    from node.portal.app import PortalConfig, create_app

    ctx = make_context()
    ctx.keystore.info(wallet)  # a missing keystore is one error line now, not at log-in
    tls_kwargs = uvicorn_ssl_kwargs(ctx.settings, "portal", insecure_http=insecure_http)
    api_account = (
        ctx.keystore.load(wallet, resolve_password(ctx.settings, prompt_password)) if api else None
    )
    config = PortalConfig(wallet=wallet, idle_timeout_s=idle_timeout_s,
                          secure_cookies=not insecure_http)  # fmt: skip
    scheme = "http" if insecure_http else "https"
    console.print(f"portal of {wallet} on {scheme}://{host}:{port}/")
    if api_account is not None:
        console.print(f"participant API on {scheme}://{host}:{port}/api/v1/docs")
    app_ = create_app(ctx, config, api_account=api_account)
    uvicorn.run(app_, host=host, port=port, log_level="warning", **tls_kwargs)


@keys_app.command("issue")
def keys_issue(
    wallet: Annotated[str, wallet_option("The organisation's keystore (its password is asked).")],
    scope: Annotated[
        list[Scope],
        typer.Option("--scope", "-s", help="What the key may do; repeat for several scopes."),
    ],
    label: Annotated[str, typer.Option(help="A note for `keys list`.")] = "",
) -> None:
    """Issue a new API key for WALLET's participant API; the key is printed once (only its
    hash is kept)."""
    ctx = make_context()
    _unlock(ctx, wallet)
    key, record = issue_key(keys_path(ctx.settings.data_dir, wallet), scope, label)
    console.print(f"key id {record.key_id}, scopes {','.join(record.scopes)}: keep the key")
    typer.echo(key)


@keys_app.command("list")
def keys_list(
    wallet: Annotated[str, wallet_option("The organisation's keystore (its password is asked).")],
) -> None:
    """WALLET's API keys by id, scopes, label and issue time (never the keys themselves)."""
    ctx = make_context()
    _unlock(ctx, wallet)
    print_json(list(read_keys(keys_path(ctx.settings.data_dir, wallet)).values()))


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key, or its id from `keys list`.")],
    wallet: Annotated[str, wallet_option("The organisation's keystore (its password is asked).")],
) -> None:
    """Revoke one of WALLET's API keys; a serving portal refuses it from its next request."""
    ctx = make_context()
    _unlock(ctx, wallet)
    record = revoke_key(keys_path(ctx.settings.data_dir, wallet), key)
    console.print(f"revoked key {record.key_id} ({','.join(record.scopes)})")
