"""``gridledger bank``: the clearing bank mints and burns the settlement token."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import cli_support as cli
from ledger.units import fen_to_cny
from node.registry.participant import Bank

app = typer.Typer(help="The CLEARING_BANK's mints and burns of CNY tokens.", no_args_is_help=True)

WalletOpt = Annotated[str, cli.wallet_option("Wallet holding the CLEARING_BANK role.")]
RefOpt = Annotated[
    str, typer.Option("--ref", help="Bank reference (<= 32 ASCII characters, single use).")
]


def _bank(wallet: str) -> Bank:
    ctx = cli.make_context()
    return Bank(ctx, cli.signer(ctx, wallet))


def _move(wallet: str, account: str, amount: str, ref: str, mint: bool) -> None:
    fen = cli.positive_fen(amount)
    bank = _bank(wallet)
    receipt = bank.mint(account, fen, ref) if mint else bank.burn(account, fen, ref)
    balance = bank.token.balance_of(account)
    done = f"minted {fen_to_cny(fen)} CNY to" if mint else f"burned {fen_to_cny(fen)} CNY of"
    cli.console.print(
        f"{done} {account} (ref {ref}); balance {fen_to_cny(balance)} CNY "
        f"in tx {cli.tx_hash(receipt)}"
    )


@app.command("mint", context_settings=cli.NUMBER_ARGS)
def mint(
    to: cli.AddressArg, amount: cli.AmountArg, ref: RefOpt, wallet: WalletOpt = "clearing-bank"
) -> None:
    """Mint AMOUNT CNY to TO against an off-chain deposit."""
    _move(wallet, to, amount, ref, mint=True)


@app.command("burn", context_settings=cli.NUMBER_ARGS)
def burn(
    holder: cli.AddressArg, amount: cli.AmountArg, ref: RefOpt, wallet: WalletOpt = "clearing-bank"
) -> None:
    """Burn AMOUNT CNY of HOLDER (who approved the bank) against an off-chain withdrawal."""
    _move(wallet, holder, amount, ref, mint=False)
