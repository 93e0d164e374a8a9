"""``gridledger dispatch``: the DISPATCH center's deviation rates, substitutes and signed
execution results (``report``, relayed by the oracle).

Writes are signed by ``--wallet`` (default ``dispatch``), which must hold DISPATCH.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import cli_support as cli
from ledger.clients.oracle import DispatchResultsClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.trading import TradingMarketClient
from ledger.context import LedgerContext
from ledger.tls import InsecureOpt, http_client
from ledger.units import fen_to_cny, mwh_to_wh, wh_to_mwh_trimmed
from node.dispatch import report as reports

app = typer.Typer(
    help="The DISPATCH center: deviation rates, substitutes, execution results.",
    no_args_is_help=True,
)

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


@app.command("report")
def report(
    trade: Annotated[int, typer.Argument(min=1, help="The trade id.")],
    energy: Annotated[
        str, typer.Option("--executed-mwh", help="Energy executed, MWh (the rest is curtailed).")
    ],
    reason: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Reason code (default: 0 in full, else 1 congestion)."),
    ] = None,
    oracle_url: Annotated[
        str | None, typer.Option(help="The oracle API (default: the oracle settings').")
    ] = None,
    insecure_http: InsecureOpt = False,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait until it is on chain (0: do not wait).")
    ] = 60.0,
    wallet: WalletOpt = "dispatch",
) -> None:
    """Sign TRADE's execution result with the DISPATCH key and hand it to the oracle, which
    relays it on chain (before the period's settlement opens)."""
    executed_wh = mwh_to_wh(energy)
    ctx = cli.make_context()
    account = cli.signer(ctx, wallet)
    results = ctx.client(DispatchResultsClient, account)
    result = reports.dispatch_result(
        ctx.client(TradingMarketClient, account).trade(trade), executed_wh, reason
    )
    signature = reports.sign(account, results, result)
    body = reports.submission(int(ctx.w3.eth.chain_id), results.address, result, signature)
    url = oracle_url or reports.oracle_url(ctx.settings)
    with http_client(
        ctx.settings, url, client_name="dispatch", insecure_http=insecure_http
    ) as http:
        reports.submit(http, body)
    _, period, executed, curtailed, code = result
    said = (
        f"trade {trade} (period {period}): executed {wh_to_mwh_trimmed(executed)} MWh, "
        f"curtailed {wh_to_mwh_trimmed(curtailed)} MWh, reason {code}, signed by {account.address}"
    )
    if not wait:
        cli.console.print(f"{said}; handed to the oracle")
        return
    reports.wait_recorded(results, trade, wait)
    cli.console.print(f"{said}; recorded on chain")
