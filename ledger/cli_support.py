"""Shared pieces of the ``gridledger`` command line (Rich consoles, context, JSON, options)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel
from rich.console import Console
from web3.types import TxReceipt

from ledger.addresses import checksum_address
from ledger.clients.base import ContractClient
from ledger.context import LedgerContext
from ledger.display import short_time as short_time  # commands format times from here
from ledger.errors import KeystoreError, ValidationError
from ledger.keystore import demo_account, demo_wallet_index
from ledger.settings import get_settings
from ledger.units import cny_to_fen

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


# ---------------------------------------------------------------- shared options and checks
#
# Every area uses these instead of re-declaring its own: one wallet option, one address check
# (a bad address is one ``error:`` line, not a traceback), one ``--json`` flag, one parser of
# CNY amounts. Arguments that may be negative numbers (``-10``) need ``NUMBER_ARGS`` as the
# command's ``context_settings`` so the parser takes them as values, not as options.


def wallet_option(help: str = "The signing wallet (keystore).") -> Any:
    """``--wallet/-w NAME``: the keystore that signs (``help`` says which role it needs)."""
    return typer.Option("--wallet", "-w", help=help)


#: The signing wallet (required).
WalletOpt = Annotated[str, wallet_option()]
#: A wallet for reads that may also run without one (a never-funded key then reads).
ReadWalletOpt = Annotated[
    str | None, wallet_option("The wallet whose view to show (default: none).")
]
#: ``--json``: print JSON (the chain's units) instead of a table.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
#: Context settings of a command whose arguments may be negative numbers.
NUMBER_ARGS: dict[str, Any] = {"ignore_unknown_options": True}


def _address_callback(value: str | None) -> str | None:
    """A checked address; a name that is a wallet (keystore, or demo wallet in demo mode)
    stands for its address, anything else gets the address check's one-line error."""
    if value is None:
        return None
    if not value.startswith(("0x", "0X")):
        try:
            return wallet_address(make_context(), value)
        except KeystoreError:
            pass
    return checksum_address(value)


def address_argument(help: str = "An account address (0x...) or a wallet name.") -> Any:
    """A positional address, checked (and checksummed) while the command line is parsed."""
    return typer.Argument(help=help, callback=_address_callback, metavar="ADDRESS")


def address_option(name: str, help: str = "An account address (0x...) or a wallet name.") -> Any:
    """``--name ADDRESS``, checked (and checksummed) while the command line is parsed."""
    return typer.Option(name, help=help, callback=_address_callback, metavar="ADDRESS")


#: A positional address (checked).
AddressArg = Annotated[str, address_argument()]


def positive_fen(text: str, what: str = "amount") -> int:
    """A CNY amount (``"1234.56"``) in fen, refused unless positive."""
    if text.strip().startswith("-"):
        raise ValidationError(f"{what} must be positive: {text}")
    fen = cny_to_fen(text)
    if fen <= 0:
        raise ValidationError(f"{what} must be positive: {text}")
    return fen


def amount_argument(help: str = "Amount in CNY, e.g. 1000 or 1000.25.") -> Any:
    """A positional CNY amount (use with ``context_settings=NUMBER_ARGS``)."""
    return typer.Argument(help=help, metavar="CNY")


#: A positional CNY amount; convert it with :func:`positive_fen`.
AmountArg = Annotated[str, amount_argument()]


def price_fen(text: str) -> int:
    """A price in CNY/MWh as fen/MWh (positive)."""
    return positive_fen(text, "the price")


def signer(ctx: LedgerContext, wallet: str | None) -> LocalAccount:
    """``wallet``'s account (asking for its password), or a never-funded key that only reads."""
    if wallet is None:
        reader: LocalAccount = Account.create()
        return reader
    return ctx.account(wallet, prompt_password)


C = TypeVar("C", bound=ContractClient)


def contract_client(cls: type[C], wallet: str | None) -> tuple[LedgerContext, C]:
    """A fresh context and ``cls`` signing as ``wallet`` (``None``: a never-funded key
    that only reads)."""
    ctx = make_context()
    return ctx, ctx.client(cls, signer(ctx, wallet))


def tx_hash(receipt: TxReceipt) -> str:
    """A receipt's transaction hash as 0x-hex."""
    return str(receipt["transactionHash"].to_0x_hex())


def parse_time(value: str) -> int:
    """A unix time, or an ISO date/datetime (UTC unless it carries an offset)."""
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"not a date (YYYY-MM-DD) or unix time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def print_tx(verb: str, receipt: TxReceipt) -> None:
    """``<verb> in tx 0x... (gas N)`` on the console."""
    console.print(f"{verb} in tx {tx_hash(receipt)} (gas {receipt['gasUsed']})")


def optional_time(value: str | None) -> int:
    """:func:`parse_time`, or 0 (none) for an empty value."""
    return parse_time(value) if value else 0


def wallet_address(ctx: LedgerContext, wallet: str) -> str:
    """The address of wallet ``wallet`` without its password (a missing wallet is one
    ``error:`` line): a demo wallet in demo mode, else the keystore's ``address`` field."""
    if ctx.settings.demo_keys:
        try:
            return str(demo_account(demo_wallet_index(wallet)).address)
        except KeystoreError:
            pass
    return ctx.keystore.info(wallet).address


def account_address(ctx: LedgerContext, text: str) -> str:
    """An account given as an address (``0x...``, checked) or as a wallet name."""
    if text.startswith(("0x", "0X")):
        return checksum_address(text)
    return wallet_address(ctx, text)


def account_argument(help: str = "An address (0x...) or a wallet name.") -> Any:
    """A positional account: an address or a wallet name (resolve with
    :func:`account_address`)."""
    return typer.Argument(help=help, metavar="ACCOUNT")


#: A positional account (address or wallet name); resolve it with :func:`account_address`.
AccountArg = Annotated[str, account_argument()]
