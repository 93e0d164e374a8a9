"""``gridledger node rate|reputation``: rate a counterparty after a settled trade and show a
node's reputation and credit. ``register(app)`` adds the commands to the ``node`` app."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ledger.cli_support import (
    JsonOpt,
    address_argument,
    console,
    make_context,
    print_json,
    print_tx,
    short_time,
    signer,
    wallet_option,
)
from ledger.units import fen_to_cny
from node.reputation.api import ReputationDesk


def rate(
    trade_id: Annotated[int, typer.Argument(min=1, help="The settled trade.")],
    score: Annotated[int, typer.Argument(min=1, max=5, help="1 (bad) .. 5 (excellent).")],
    wallet: Annotated[str, wallet_option("The rating party.")],
    reason: Annotated[
        str | None, typer.Option(help="Optional reason code, e.g. LATE_DELIVERY.")
    ] = None,
) -> None:
    """Rate the other party of settled trade TRADE_ID (once, within the rating window)."""
    ctx = make_context()
    desk = ReputationDesk(ctx, signer(ctx, wallet))
    receipt = desk.rate(trade_id, score, reason)
    (ev,) = desk.ledger.events(receipt, "RatingSubmitted")
    updated = {
        e["args"]["node"]: e["args"]["reputation"]
        for e in desk.ledger.events(receipt, "ReputationUpdated")
    }
    ratee = ev["args"]["ratee"]
    print_tx(
        f"rated {ratee} {score}/5 for trade #{trade_id}; its reputation is now "
        f"{updated.get(ratee, '?')}",
        receipt,
    )


def reputation(
    node: Annotated[str | None, address_argument("Node address.")] = None,
    wallet: Annotated[str | None, wallet_option("Show this wallet's node.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a node's reputation (0..1000), ratings, credit level, bond and deadlines."""
    ctx = make_context()
    account = signer(ctx, wallet or None)
    if node is None and wallet is None:
        raise typer.BadParameter("give a node address or --wallet")
    view = ReputationDesk(ctx, account).view(node)
    if as_json:
        print_json(view)
        return
    table = Table("field", "value")
    table.add_row("node", view.node)
    table.add_row("reputation", f"{view.reputation} / 1000" + (" (WARNED)" if view.warned else ""))
    table.add_row("ratings / counted trades", f"{view.rating_count} / {view.trade_count}")
    table.add_row("penalty points (decaying)", str(view.penalty_points))
    table.add_row("credit level (registry)", view.registry_level)
    table.add_row("agency level", view.agency_level or "unrated")
    table.add_row("reward (one notch)", "yes" if view.rewarded else "no")
    if view.pending_level:
        table.add_row(
            "posted level", f"{view.pending_level} from {short_time(view.pending_effective_at)}"
        )
    table.add_row(
        "bond / required CNY",
        f"{fen_to_cny(view.bond_fen)} / {fen_to_cny(view.required_bond_fen)}",
    )
    if view.top_up_deadline:
        table.add_row("top-up deadline", short_time(view.top_up_deadline))
    if view.blocked:
        table.add_row("trading", "BLOCKED (BOND_TOPUP)")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``rate`` and ``reputation`` to the ``node`` app."""
    app.command("rate")(rate)
    app.command("reputation")(reputation)
