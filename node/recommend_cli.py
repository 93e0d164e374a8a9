"""``gridledger node recommend``: the optimiser on a JSON book file.

A Typer app with the one command ``recommend``; ``node/cli.py`` mounts it (for now it reads
the book from a file; the trading client will read it from chain).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledger.cli_support import console, print_json
from node.optimizer import Plan, Weights, load_book, recommend, save_plan

app = typer.Typer(help="Recommend which listings to take.", no_args_is_help=True)


@app.command("recommend")
def recommend_command(
    book: Annotated[
        Path, typer.Option("--book", exists=True, dir_okay=False, help="JSON list of offers.")
    ],
    target_wh: Annotated[int, typer.Option("--target-wh", min=1, help="Energy wanted, Wh.")],
    mode: Annotated[
        int, typer.Option("--mode", min=1, max=2, help="1: buyer takes sell listings; 2: seller.")
    ] = 1,
    w_price: Annotated[float, typer.Option("--w-price", min=0.0, help="Price weight.")] = 1.0,
    w_reputation: Annotated[
        float, typer.Option("--w-reputation", min=0.0, help="Reputation weight.")
    ] = 0.3,
    w_carbon: Annotated[
        float, typer.Option("--w-carbon", min=0.0, help="Carbon weight (mode 1).")
    ] = 0.2,
    allow_partial: Annotated[
        bool,
        typer.Option("--allow-partial", help="If the book is short, fill as much as possible."),
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write the plan file here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Choose the takes that fill --target-wh at the best weighted score (exact MILP)."""
    offers = load_book(book)
    plan = recommend(
        offers,
        target_wh,
        1 if mode == 1 else 2,
        Weights(price=w_price, reputation=w_reputation, carbon=w_carbon),
        allow_partial_fill=allow_partial,
    )
    if out is not None:
        save_plan(plan, out)
    if as_json:
        print_json(plan)
        return
    print_plan(plan)
    if out is not None:
        console.print(f"plan written to {out}")


def print_plan(plan: Plan) -> None:
    """The plan as a Rich table, each take's explanation and the skipped listings."""
    table = Table(
        "listing", "take Wh", "price fen/MWh", "transm. fen/MWh", "energy fen", "fee fen", "score"
    )
    for t in plan.takes:
        table.add_row(
            str(t.listing_id),
            f"{t.quantity_wh:,}",
            f"{t.price_fen_per_mwh:,}",
            f"{t.transmission_rate_fen_per_mwh:,}",
            f"{t.energy_fen:,}",
            f"{t.transmission_fee_fen:,}",
            f"{t.unit_score:.4f}",
        )
    console.print(table)
    for t in plan.takes:
        console.print(f"- {t.explanation}", highlight=False)
    for s in plan.skipped:
        console.print(f"- skip listing {s.listing_id}: {s.reason}", highlight=False)
    style = "green" if plan.complete else "yellow"
    console.print(f"[{style}]{plan.summary}[/]", highlight=False)
