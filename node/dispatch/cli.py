"""``gridledger dispatch``: the DISPATCH center's deviation rates and substitutes.

Writes are signed by ``--wallet`` (default ``dispatch``), which must hold DISPATCH.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import cli_support as cli
from ledger.clients.settlement import SettlementEngineClient
from ledger.context import LedgerContext
from ledger.units import fen_to_cny

app = typer.Typer(help="The DISPATCH center: deviation rates, substitutes.", no_args_is_help=True)

WalletOpt = Annotated[str, cli.wallet_option("Wallet holding the DISPATCH role.")]
Period = Annotated[int, typer.Argument(min=1, help="The delivery period.")]


def _engine(wallet: str | None) -> tuple[LedgerContext, SettlementEngineClient]:
    """The engine signing as ``wallet`` (``None``: a never-funded key that only reads)."""
    ctx = cli.make_context()
    return ctx, ctx.client(SettlementEngineClient, cli.signer(ctx, wallet))


@app.command("deviation-rates", context_settings=cli.NUMBER_ARGS)
def deviation_rates(
    period: Period,
    down: Annotated[str, typer.Option("--down", help="Ramp-down charge, CNY/MWh.")],
    up: Annotated[str, typer.Option("--up", help="Ramp-up charge, CNY/MWh.")],
    wallet: WalletOpt = "dispatch",
) -> None:
    """Set PERIOD's deviation rates (formulas 2 and 3); locked once settlement uses them."""
    _, engine = _engine(wallet)
    down_fen, up_fen = cli.price_fen(down), cli.price_fen(up)
    receipt = engine.set_deviation_rates(period, down_fen, up_fen)
    cli.print_tx(
        f"period {period}: down {fen_to_cny(down_fen)} CNY/MWh, up {fen_to_cny(up_fen)} CNY/MWh",
        receipt,
    )


@app.command("show-rates")
def show_rates(period: Period, as_json: cli.JsonOpt = False) -> None:
    """PERIOD's deviation rates."""
    _, engine = _engine(None)
    rates = engine.deviation_rates(period)
    if as_json:
        cli.print_json(rates)
        return
    cli.console.print(
        f"period {period}: down {fen_to_cny(rates.down_fen_per_mwh)} CNY/MWh, "
        f"up {fen_to_cny(rates.up_fen_per_mwh)} CNY/MWh" + (" (locked)" if rates.locked else "")
    )


@app.command("substitute")
def substitute(
    trade: Annotated[int, typer.Argument(min=1, help="The trade id.")],
    account: cli.AccountArg,
    wallet: WalletOpt = "dispatch",
) -> None:
    """Nominate ACCOUNT (a node's address or wallet name) to deliver for TRADE's seller."""
    ctx, engine = _engine(wallet)
    address = cli.account_address(ctx, account)
    cli.print_tx(f"trade {trade}: substitute {address}", engine.nominate_substitute(trade, address))
