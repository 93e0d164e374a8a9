"""``gridledger node statement`` and ``gridledger node settle``.

``register(app)`` adds the commands to the ``node`` Typer app. The statement is a table on
the terminal, and optionally a CSV file (``--csv``) and a printable HTML bill (``--html``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledger import cli_support as cli
from ledger.errors import ValidationError
from ledger.units import fen_to_cny, wh_to_mwh_text
from node.settlement import defaults_cli
from node.settlement.statements import Settler, StatementBuilder, statement_csv, statement_html

WalletOpt = Annotated[str | None, cli.wallet_option("The node's wallet (keystore).")]


def statement(
    period: Annotated[int, typer.Option("--period", "-p", help="Delivery period id.")],
    node: Annotated[
        str | None, cli.address_argument("Node address (default: the wallet's).")
    ] = None,
    wallet: WalletOpt = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the CSV here.")] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Write the printable HTML bill here.")
    ] = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """A node's settlement statement for a delivery period (from the chain, to the fen)."""
    ctx = cli.make_context()
    if node is None and wallet is None:
        raise ValidationError("give a node address or --wallet")
    account = cli.signer(ctx, wallet)
    address = node or account.address
    built = StatementBuilder(ctx, account).build(address, period)
    if csv_file is not None:
        csv_file.write_text(statement_csv(built))
    if html_file is not None:
        html_file.write_text(statement_html(built, node_name=wallet))
    if as_json:
        cli.print_json(built)
        return
    head = Table(title=f"Statement: {built.node}, period {built.period}")
    for col in ("", "import MWh", "export MWh", "net MWh"):
        head.add_column(col, justify="right")
    head.add_row(
        "contracted",
        wh_to_mwh_text(built.contracted_import_wh),
        wh_to_mwh_text(built.contracted_export_wh),
        wh_to_mwh_text(built.contracted_import_wh - built.contracted_export_wh),
    )
    head.add_row(
        "executed",
        wh_to_mwh_text(built.executed_import_wh),
        wh_to_mwh_text(built.executed_export_wh),
        wh_to_mwh_text(built.executed_import_wh - built.executed_export_wh),
    )
    if built.metered:
        head.add_row(
            "metered",
            wh_to_mwh_text(built.metered_import_wh),
            wh_to_mwh_text(built.metered_export_wh),
            wh_to_mwh_text(built.metered_net_wh),
        )
    else:
        head.add_row("metered", "missing", "missing", "missing")
    cli.console.print(head)
    table = Table(title="Charges (-) and credits (+), CNY")
    for col in ("item", "trade", "MWh", "CNY/MWh", "CNY", "detail"):
        table.add_column(col, justify="left" if col in ("item", "detail") else "right")
    for line in built.lines:
        table.add_row(
            line.item,
            "" if line.trade_id is None else str(line.trade_id),
            wh_to_mwh_text(line.energy_wh),
            fen_to_cny(line.rate_fen_per_mwh),
            fen_to_cny(line.amount_fen),
            line.detail,
        )
    table.add_row("net", "", "", "", fen_to_cny(built.net_fen), "")
    cli.console.print(table)
    cli.console.print(
        f"prepaid {fen_to_cny(built.prepaid_fen)}, refunded {fen_to_cny(built.refunded_fen)}, "
        f"withdrawable {fen_to_cny(built.credit_held_fen)}, debt {fen_to_cny(built.debt_fen)} CNY"
    )
    if built.unsettled_trades:
        cli.console.print(f"{built.unsettled_trades} trade(s) not settled yet")
    if not built.metered:
        cli.console.print("meter data missing: flagged, nothing is estimated")


def settle(
    trade_ids: Annotated[list[int] | None, typer.Argument(help="Trade ids to settle.")] = None,
    period: Annotated[
        int | None, typer.Option("--period", "-p", help="Settle every open trade of the period.")
    ] = None,
    deviation: Annotated[
        list[str] | None,
        typer.Option("--deviation", help="Also settle this node's deviation (needs --period)."),
    ] = None,
    wallet: Annotated[str, cli.wallet_option("Wallet paying the gas.")] = "",
) -> None:
    """Settle trades (anyone may); with --period every open trade of the period in batches."""
    if not wallet:
        raise ValidationError("give --wallet (settlement is a transaction)")
    ctx = cli.make_context()
    settler = Settler(ctx, cli.signer(ctx, wallet))
    for trade_id in trade_ids or []:
        receipt = settler.settle(trade_id)
        cli.console.print(f"trade {trade_id} settled (tx {cli.tx_hash(receipt)})")
    if period is not None:
        receipts = settler.settle_period(period)
        settled = sum(len(settler.engine.events(r, "TradeSettled")) for r in receipts)
        flagged = {
            str(e["args"]["node"])
            for r in receipts
            for e in settler.engine.events(r, "MeterDataFlagged")
        }
        cli.console.print(f"period {period}: {settled} trade(s) settled")
        for node in sorted(flagged):
            cli.console.print(f"flagged {node}: meter data missing")
        for node in deviation or []:
            receipt = settler.settle_deviation(cli.account_address(ctx, node), period)
            (ev,) = settler.engine.events(receipt, "DeviationSettled")
            sign = "pays" if ev["args"]["rampUp"] else "receives"
            cli.console.print(
                f"deviation of {node}: {ev['args']['deviationWh']} Wh, {sign} "
                f"{fen_to_cny(ev['args']['amountFen'])} CNY"
            )
    elif deviation:
        raise ValidationError("--deviation needs --period")


def register(app: typer.Typer) -> None:
    """Add ``statement``, ``settle`` and the closure / default fund commands
    (``node/settlement/defaults_cli.py``) to the ``node`` app."""
    app.command("statement")(statement)
    app.command("settle")(settle)
    defaults_cli.register(app)
