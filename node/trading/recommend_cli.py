"""``gridledger node recommend``: the optimiser over the open listings on chain, or offline
over a JSON book file (``--book``).

``register(app)`` adds the one command ``recommend`` to the ``node`` app (``node/cli.py``
mounts it); ``gridledger node take --plan FILE`` executes the plan it writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledger.cli_support import JsonOpt, ReadWalletOpt, console, make_context, print_json, signer
from ledger.errors import ValidationError
from ledger.units import fen_to_cny, rate_to_cny_per_mwh_text, wh_to_mwh_trimmed
from node.trading.optimizer import Mode, Plan, Weights, load_book, recommend, save_plan
from node.trading.trader import Trader


def recommend_cmd(
    target_wh: Annotated[int, typer.Option("--target-wh", min=1, help="Energy wanted, Wh.")],
    wallet: ReadWalletOpt = None,
    mode: Annotated[
        int, typer.Option(min=1, max=2, help="1: buyer takes sell listings; 2: seller.")
    ] = 1,
    period: Annotated[int | None, typer.Option(min=1, help="Only this period.")] = None,
    book: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Offline: a JSON book of offers."),
    ] = None,
    w_price: Annotated[float, typer.Option("--w-price", min=0.0, help="Price weight.")] = 1.0,
    w_reputation: Annotated[
        float, typer.Option("--w-reputation", min=0.0, help="Reputation weight.")
    ] = 0.3,
    w_carbon: Annotated[
        float, typer.Option("--w-carbon", min=0.0, help="Carbon weight (mode 1).")
    ] = 0.2,
    allow_partial: Annotated[
        bool, typer.Option("--allow-partial", help="If the book is short, fill what it can.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write the plan file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recommend takes over the open listings on chain (or an offline --book): the exact
    MILP that fills --target-wh at the best weighted score."""
    m: Mode = 1 if mode == 1 else 2
    weights = Weights(price=w_price, reputation=w_reputation, carbon=w_carbon)
    if book is not None:
        plan = recommend(load_book(book), target_wh, m, weights, allow_partial_fill=allow_partial)
    else:
        if wallet is None:
            raise ValidationError("give --wallet (the taker) or an offline --book")
        ctx = make_context()
        plan = Trader(ctx, signer(ctx, wallet)).recommend(
            target_wh, m, period_id=period, weights=weights, allow_partial_fill=allow_partial
        )
    if out is not None:
        save_plan(plan, out)
    if as_json:
        print_json(plan)
        return
    print_plan(plan)
    if out is not None:
        console.print(f"plan written to {out}; execute it with: gridledger node take --plan")


def print_plan(plan: Plan) -> None:
    """The plan as a table, each take's explanation and the skipped listings."""
    table = Table("listing", "take MWh", "CNY/MWh", "transm. CNY/MWh", "energy CNY", "fee CNY")
    for t in plan.takes:
        table.add_row(
            str(t.listing_id),
            wh_to_mwh_trimmed(t.quantity_wh),
            fen_to_cny(t.price_fen_per_mwh),
            rate_to_cny_per_mwh_text(t.transmission_rate_fen_per_mwh),
            fen_to_cny(t.energy_fen),
            fen_to_cny(t.transmission_fee_fen),
        )
    console.print(table)
    for t in plan.takes:
        console.print(f"  {t.explanation}")
    for s in plan.skipped:
        console.print(f"  skip listing {s.listing_id}: {s.reason}")
    console.print(plan.summary)


def register(app: typer.Typer) -> None:
    """Add ``recommend`` to the ``node`` app."""
    app.command("recommend")(recommend_cmd)
