"""``gridledger bank``: the clearing bank mints and burns the settlement token."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli_support import console, make_context, prompt_password
from ledger.units import cny_to_fen, fen_to_cny
from node.registry.participant import Bank

app = typer.Typer(help="The CLEARING_BANK's mints and burns of CNY tokens.", no_args_is_help=True)

WalletOpt = Annotated[
    str, typer.Option("--wallet", "-w", help="Wallet holding the CLEARING_BANK role.")
]
RefOpt = Annotated[
    str, typer.Option("--ref", help="Bank reference (<= 32 ASCII characters, single use).")
]
AmountArg = Annotated[str, typer.Argument(help="Amount in CNY, e.g. 1000 or 1000.25.")]


def _bank(wallet: str) -> Bank:
    ctx = make_context()
    return Bank(ctx, ctx.account(wallet, prompt_password))


@app.command("mint")
def mint(to: str, amount: AmountArg, ref: RefOpt, wallet: WalletOpt = "clearing-bank") -> None:
    """Mint AMOUNT CNY to TO against an off-chain deposit."""
    fen = cny_to_fen(amount)
    bank = _bank(wallet)
    receipt = bank.mint(to, fen, ref)
    balance = bank.token.balance_of(to)
    console.print(
        f"minted {fen_to_cny(fen)} CNY to {to} (ref {ref}); balance {fen_to_cny(balance)} CNY "
        f"in tx {receipt['transactionHash'].to_0x_hex()}"
    )


@app.command("burn")
def burn(holder: str, amount: AmountArg, ref: RefOpt, wallet: WalletOpt = "clearing-bank") -> None:
    """Burn AMOUNT CNY of HOLDER (who approved the bank) against an off-chain withdrawal."""
    fen = cny_to_fen(amount)
    bank = _bank(wallet)
    receipt = bank.burn(holder, fen, ref)
    balance = bank.token.balance_of(holder)
    console.print(
        f"burned {fen_to_cny(fen)} CNY of {holder} (ref {ref}); balance {fen_to_cny(balance)} "
        f"CNY in tx {receipt['transactionHash'].to_0x_hex()}"
    )
