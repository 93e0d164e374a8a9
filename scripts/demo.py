"""``gridledger demo``: the main job: one market day of the Jibei market, end to end.

Chain up, build, deploy, then a whole delivery day of a seeded scenario through the real
contracts and services (see :mod:`scripts.market_day`), then the gateway's index, a
summary, and the regulator's explorer until Ctrl-C (``--no-serve`` exits instead).

The demo signs with THROWAWAY keys derived from the public demo mnemonic
(``ledger.settings.DEMO_MNEMONIC``) and keeps its own chain and database under
``<data dir>/demo``, reset at every run; never reuse those keys for anything real.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger import compiler
from ledger.chain import LocalChain
from ledger.cli_support import console, print_json
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.keystore import DEMO_ROLE_WALLETS, demo_account
from ledger.settings import Settings, get_settings
from scripts.market_day import DaySummary, MarketDay
from scripts.scenario import generate

app = typer.Typer(help="Run the market demo end to end.", invoke_without_command=True)


def demo_settings(base: Settings) -> Settings:
    """The demo's settings: THROWAWAY demo keys, its own data dir under ``<data dir>/demo``."""
    return base.model_copy(
        update={
            "demo_keys": True,
            "data_dir": base.data_dir / "demo",
            "database_url_override": None,
            "oracle_max_age_s": max(base.oracle_max_age_s, 3600),
        }
    )


def index_gateway(settings: Settings) -> int:
    """Index every event of the demo chain into the gateway's database; events indexed."""
    from gateway.db import engine_from_settings, upgrade
    from gateway.indexer import Indexer

    ctx = LedgerContext(settings)
    engine = engine_from_settings(settings)
    upgrade(engine)
    stats = Indexer(ctx, engine, confirmations=0).run_once()
    return int(stats.events)


def run_demo(settings: Settings, preset: str, seed: int) -> tuple[DaySummary, int, str]:
    """Everything but serving: returns the day's summary, events indexed, manifest path."""
    say = console.print
    chain = LocalChain(settings)
    chain.down()
    # The demo owns <data dir>/demo: chain state, manifest, databases start empty each run.
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    status = chain.up()
    say(f"chain: anvil at {status.rpc_url}, chain id {status.chain_id} (fresh demo state)")
    build = compiler.build(settings)
    state = "compiled" if build.compiled else "up to date"
    say(f"contracts: solc {build.solc_long_version}, {state}")
    ctx = LedgerContext(settings)
    outcome = deploy_suite(ctx, demo_account(DEMO_ROLE_WALLETS["admin"]))
    say(f"deployed: {len(outcome.manifest.contracts)} contracts; manifest {outcome.manifest_path}")
    scenario = generate(preset, seed)
    say(
        f"scenario {preset} seed {seed}: {len(scenario.participants)} participants, "
        f"{scenario.meter_count} metering points, "
        f"{sum(p.violation is not None for p in scenario.participants)} injected violators"
    )
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("market day", total=None)

        def tell(message: str) -> None:
            progress.console.print(f"  {message}")
            progress.update(task, description=message[:70])

        summary = MarketDay(ctx, scenario, tell).run()
    events = index_gateway(settings)
    return summary, events, outcome.manifest_path


def print_summary(summary: DaySummary, events: int) -> None:
    table = Table(title="market day summary", show_header=False)
    rows = [
        ("participants / meters", f"{summary.participants} / {summary.meters}"),
        ("listings (cancelled)", f"{summary.listings} ({summary.listings_cancelled})"),
        ("trades / settled", f"{summary.trades} / {summary.trades_settled}"),
        ("energy traded", f"{summary.traded_wh / 1e6:,.3f} MWh"),
        (
            "energy executed / curtailed",
            f"{summary.executed_wh / 1e6:,.3f} / {summary.curtailed_wh / 1e6:,.3f} MWh",
        ),
        (
            "meter readings accepted (flagged)",
            f"{summary.readings_accepted} ({summary.readings_flagged})",
        ),
        ("deviations settled (nodes)", str(summary.deviation_nodes)),
        ("mutual ratings", str(summary.ratings)),
        ("violations reported / ruled", str(summary.violations_reported)),
        ("green certificates issued", str(summary.certificates_issued)),
        ("total supply", f"{summary.total_supply_fen / 100:,.2f} CNY"),
        ("wallets + contracts", f"{summary.accounted_fen / 100:,.2f} CNY"),
        ("money conserved", "yes" if summary.conserved else "NO"),
        ("events indexed by the gateway", str(events)),
        ("stages skipped", ", ".join(summary.skipped) or "none"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


@app.callback()
def demo(
    preset: Annotated[
        str, typer.Option(help="Scenario preset: jibei-mini or jibei.")
    ] = "jibei-mini",
    seed: Annotated[int, typer.Option(help="Scenario seed.")] = 1,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Keep serving the explorer after the run.")
    ] = True,
    port: Annotated[int, typer.Option(help="Explorer port.")] = 8700,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    summary_out: Annotated[
        Path | None, typer.Option(help="Also write the summary as JSON to this file.")
    ] = None,
) -> None:
    """One market day of the Jibei market, end to end; then the explorer."""
    settings = demo_settings(get_settings())
    console.print("[yellow]demo mode: THROWAWAY keys from the public demo mnemonic[/]")
    started = time.monotonic()
    summary, events, manifest = run_demo(settings, preset, seed)
    result = {"summary": summary.model_dump(), "events_indexed": events, "manifest": manifest}
    if summary_out is not None:
        summary_out.write_text(json.dumps(result, indent=2))
    if as_json:
        print_json(result)
    else:
        print_summary(summary, events)
    console.print(f"manifest: {manifest}")
    console.print(f"rpc url:  {settings.rpc_url}")
    console.print(f"finished in {time.monotonic() - started:.0f} s")
    if not summary.conserved:
        raise typer.Exit(1)
    if serve:
        import uvicorn

        from gateway.app import create_app

        console.print(f"explorer: http://127.0.0.1:{port}/  (Ctrl-C to stop)")
        uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
