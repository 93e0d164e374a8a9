"""``gridledger scenario``: generate a seeded scenario (:mod:`ledger.scenario`), print its mix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli_support import console, print_json
from ledger.scenario import generate, summarize

app = typer.Typer(help="Seeded market scenarios of the Jibei grid.", no_args_is_help=True)


@app.command("generate")
def generate_cmd(
    preset: Annotated[
        str, typer.Option(help="jibei-mini (about 60 nodes) or jibei.")
    ] = "jibei-mini",
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same scenario.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Write the scenario JSON here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate a scenario and print its mix."""
    scenario = generate(preset, seed)
    if out is not None:
        out.write_text(scenario.model_dump_json())
    summary = summarize(scenario)
    if as_json:
        print_json(summary)
        return
    for key, value in summary.items():
        console.print(f"{key:>24}: {value}")
    if out is not None:
        console.print(f"written to {out}")
