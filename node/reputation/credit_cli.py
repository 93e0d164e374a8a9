"""``gridledger credit``: the external credit agency's side of mechanism 5.

``export`` writes every node's trading, settlement and rating history for the agency;
``post-level`` (CREDIT_AGENCY) posts a composite level with an effective time; ``apply``,
``enforce`` and ``clear`` (anyone) apply a due level, enforce a missed top-up deadline and
lift the block once the bond is topped up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from eth_account import Account

from ledger.cli_support import (
    AddressArg,
    console,
    make_context,
    optional_time,
    print_tx,
    signer,
    wallet_option,
)
from ledger.clients.registry import parse_credit_level
from ledger.errors import ValidationError
from ledger.units import fen_to_cny
from node.reputation.api import CreditDesk, export_csv, export_for_agency

app = typer.Typer(
    help="Credit agency: export histories, post credit levels, top-ups.", no_args_is_help=True
)

WalletOpt = Annotated[str, wallet_option("Signing wallet.")]


def _desk(wallet: str) -> CreditDesk:
    ctx = make_context()
    return CreditDesk(ctx, signer(ctx, wallet))


@app.command("export")
def export(
    out: Annotated[Path | None, typer.Option(help="Write here (default: stdout).")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="json (every trade) or csv (summary).")
    ] = "json",
    node: Annotated[list[str] | None, typer.Option(help="Only these nodes (repeat).")] = None,
) -> None:
    """Every node's trading, settlement and rating history for the credit agency."""
    if fmt not in ("json", "csv"):
        raise ValidationError(f"--format is json or csv, not {fmt!r}")
    ctx = make_context()
    data = export_for_agency(ctx, node or None, account=Account.create())
    text = export_csv(data) if fmt == "csv" else data.model_dump_json(indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        console.print(f"wrote {len(data.nodes)} nodes to {out}")


@app.command("post-level")
def post_level(
    node: AddressArg,
    level: Annotated[str, typer.Argument(help="AAA, AA, A, BBB, BB, B, CCC, CC or C.")],
    effective: Annotated[
        str | None, typer.Option(help="Effective time (ISO or unix; default: now).")
    ] = None,
    wallet: WalletOpt = "credit-agency",
) -> None:
    """Post NODE's composite credit LEVEL (CREDIT_AGENCY), effective now or later."""
    desk = _desk(wallet)
    receipt = desk.post_level(node, parse_credit_level(level), optional_time(effective))
    applied = desk.ledger.events(receipt, "CreditLevelApplied")
    topup = desk.ledger.events(receipt, "TopUpRequired")
    if topup:
        a = topup[0]["args"]
        when = datetime.fromtimestamp(a["deadline"], tz=UTC).isoformat()
        verb = (
            f"posted {level}; bond {fen_to_cny(a['bondFen'])} CNY is short of "
            f"{fen_to_cny(a['requiredBondFen'])} CNY: top up by {when}"
        )
    elif applied:
        verb = f"posted and applied {level} (registry level {applied[0]['args']['effectiveLevel']})"
    else:
        verb = f"posted {level}, effective {effective}"
    print_tx(verb, receipt)


@app.command("apply")
def apply(node: AddressArg, wallet: WalletOpt = "credit-agency") -> None:
    """Apply NODE's posted level once effective (anyone)."""
    print_tx(f"applied the posted level of {node}", _desk(wallet).apply(node))


@app.command("enforce")
def enforce(node: AddressArg, wallet: WalletOpt = "credit-agency") -> None:
    """After NODE's top-up deadline: set the level, block trading if still short (anyone)."""
    desk = _desk(wallet)
    receipt = desk.enforce(node)
    (ev,) = desk.ledger.events(receipt, "TopUpEnforced")
    state = "blocked (BOND_TOPUP)" if ev["args"]["blocked"] else "bond covers it"
    print_tx(f"enforced the top-up deadline of {node}: {state}", receipt)


@app.command("clear")
def clear(node: AddressArg, wallet: WalletOpt = "credit-agency") -> None:
    """NODE's bond covers its requirement again: apply the level / lift the block (anyone)."""
    print_tx(f"cleared the top-up of {node}", _desk(wallet).clear(node))
