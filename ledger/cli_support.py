"""Shared pieces of the ``gridledger`` command line (Rich consoles, context, JSON)."""

from __future__ import annotations

import json
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

from ledger.context import LedgerContext
from ledger.settings import get_settings

console = Console()
err_console = Console(stderr=True)


def make_context() -> LedgerContext:
    """A fresh :class:`LedgerContext` from the environment's settings."""
    return LedgerContext(get_settings())


def prompt_password() -> str:
    """Ask for a keystore password on the terminal."""
    return str(typer.prompt("Keystore password", hide_input=True))


def print_json(data: Any) -> None:
    """Print ``data`` (pydantic models included) as indented JSON on stdout."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
