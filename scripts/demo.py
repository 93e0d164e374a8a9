"""``gridledger demo``: the main job, grown stage by stage as the market lands.

The demo signs with THROWAWAY keys derived from the public demo mnemonic
(``ledger.settings.DEMO_MNEMONIC``); never reuse them for anything real.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ledger import compiler
from ledger.chain import LocalChain
from ledger.cli_support import console
from ledger.context import LedgerContext
from ledger.deploy import DeployOutcome, deploy_suite
from ledger.keystore import DEMO_ROLE_WALLETS, demo_account
from ledger.settings import Settings, get_settings

app = typer.Typer(help="Run the market demo end to end.", invoke_without_command=True)


def demo_settings(base: Settings) -> Settings:
    """The demo's settings: the environment's, with THROWAWAY demo keys switched on."""
    return base.model_copy(update={"demo_keys": True})


def run_demo(settings: Settings, report: Callable[[str], None]) -> DeployOutcome:
    """Start the chain, build, deploy; return the deployment."""
    report("starting the local chain")
    status = LocalChain(settings).up()
    report(f"chain at {status.rpc_url} (block {status.block_number})")
    report("compiling contracts")
    build = compiler.build(settings)
    report(f"solc {build.solc_long_version}: {'compiled' if build.compiled else 'up to date'}")
    report("deploying the suite")
    ctx = LedgerContext(settings)
    return deploy_suite(ctx, demo_account(DEMO_ROLE_WALLETS["admin"]))


@app.callback()
def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Keep serving the explorer after the run.")
    ] = True,
) -> None:
    """Chain up, build, deploy (later stages join as the market grows)."""
    settings = demo_settings(get_settings())
    console.print("[yellow]demo mode: THROWAWAY keys from the public demo mnemonic[/]")
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("foundation", total=5)

        def report(message: str) -> None:
            progress.console.print(f"  {message}")
            progress.advance(task)

        outcome = run_demo(settings, report)
    manifest = outcome.manifest
    console.print(
        ("deployed (reused the existing deployment)" if outcome.reused else "deployed")
        + f": {len(manifest.contracts)} contracts on chain {manifest.chain_id}"
    )
    console.print(f"manifest: {outcome.manifest_path}")
    console.print(f"rpc url:  {settings.rpc_url}")
    if serve:
        console.print(
            "the explorer is not part of the demo yet; the chain keeps running "
            "(`gridledger chain down` stops it)"
        )
