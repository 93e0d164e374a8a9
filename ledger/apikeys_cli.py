"""``gridledger gateway keys`` and ``gridledger oracle keys``: add, revoke and list the API
keys of a web app's keys file (the app reads it at start: restart it after a change)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger import cli_support as cli
from ledger.apikeys import add_key, list_keys, revoke_key
from ledger.errors import ConfigError
from ledger.settings import get_settings
from ledger.webauth import Role

FileOpt = Annotated[
    Path | None,
    typer.Option("--file", help="The keys file (default: GRIDLEDGER_<APP>_API_KEYS_FILE)."),
]


def keys_app(app_name: str) -> typer.Typer:
    """The ``keys`` commands of ``app_name`` (``gateway`` or ``oracle``)."""
    setting = f"GRIDLEDGER_{app_name.upper()}_API_KEYS_FILE"
    app = typer.Typer(help=f"The {app_name}'s API keys ({setting}).", no_args_is_help=True)

    def _path(file: Path | None) -> Path:
        path = file or getattr(get_settings(), f"{app_name}_api_keys_file")
        if path is None:
            raise ConfigError(f"no keys file: set {setting} or pass --file")
        return Path(path)

    @app.command("add")
    def add(
        role: Annotated[Role, typer.Argument(help="The key's role.")], file: FileOpt = None
    ) -> None:
        """Issue a random key with ROLE (printed once; restart the app to use it)."""
        path = _path(file)
        key = add_key(path, role)
        typer.echo(f"{role.value} key (keep it secret, it is shown once): {key}")
        cli.console.print(f"written to {path}; restart the {app_name} to use it")

    @app.command("revoke")
    def revoke(
        key: Annotated[str, typer.Argument(help="The key or its id (see `list`).")],
        file: FileOpt = None,
    ) -> None:
        """Revoke a key (restart the app for it to take effect)."""
        path = _path(file)
        gone = revoke_key(path, key)
        cli.console.print(f"revoked {gone.role.value} key {gone.key_id}; restart the {app_name}")

    @app.command("list")
    def list_(file: FileOpt = None, as_json: cli.JsonOpt = False) -> None:
        """The keys by id (a hash prefix) and role."""
        infos = list_keys(_path(file))
        if as_json:
            cli.print_json(infos)
            return
        for info in infos:
            cli.console.print(f"{info.key_id}  {info.role.value}")
        if not infos:
            cli.console.print("no keys")

    return app
