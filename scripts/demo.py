"""``gridledger demo``: the main job: one market day of the Jibei market, end to end.

Chain up, build, deploy, then a whole delivery day of a seeded scenario through the real
contracts and services (see :mod:`scripts.market_day`), then the gateway's index, a
summary, and the regulator's explorer until Ctrl-C (``--no-serve`` exits instead).

The demo signs with THROWAWAY keys derived from the public demo mnemonic
(``ledger.settings.DEMO_MNEMONIC``) and keeps its own chain and database under
``<data dir>/demo``, reset at every run; never reuse those keys for anything real.

With ``GRIDLEDGER_RPC_URL`` set (e.g. ``eval "$(gridledger consortium env)"``) the demo
uses that chain instead: it starts and resets no anvil, deploys a fresh suite there, and,
when the chain's clock cannot be moved (a proof-of-authority consortium), runs the day in
real time on a compact schedule (a few intervals of seconds) with a small market of honest
nodes (``--nodes``).
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger import compiler
from ledger.apikeys import add_key
from ledger.cli_support import console, print_json
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.engines.local import LocalChain
from ledger.keystore import DEMO_ROLE_WALLETS, demo_account
from ledger.scenario import Scenario, generate
from ledger.settings import Settings, get_settings
from ledger.tls import ca_file, init_tls, tls_dir, uvicorn_ssl_kwargs
from ledger.web3factory import make_web3
from ledger.webauth import Role
from scripts.market_day import (
    ChainClock,
    DaySchedule,
    DaySummary,
    MarketDay,
    compact_scenario,
)

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


#: Nodes of the market on a chain whose clock cannot be moved (each transaction waits for
#: a block there: a small market keeps the day to minutes).
REAL_TIME_NODES = 6
#: Transactions sent at once (of different nodes) on such a chain.
REAL_TIME_WORKERS = 8


def external_chain_settings(settings: Settings) -> Settings:
    """The demo's settings for the chain at ``GRIDLEDGER_RPC_URL``: proof-of-authority
    headers (extraData longer than 32 bytes) switch on ``poa``; a chain that is not a
    development chain gets a 1 wei tip (a tip-less transaction is sealed only by the node it
    was sent to) unless one is set."""
    w3 = make_web3(settings.model_copy(update={"poa": False}))
    genesis = w3.provider.make_request("eth_getBlockByNumber", ["0x0", False])  # type: ignore[arg-type]
    extra = str((genesis.get("result") or {}).get("extraData") or "0x")
    update: dict[str, object] = {}
    if len(extra) > 2 + 2 * 32:
        update["poa"] = True
    if not ChainClock.detect(w3) and settings.priority_fee_wei == 0:
        update["priority_fee_wei"] = 1
    return settings.model_copy(update=update)


def real_time_schedule(
    clock: ChainClock, scenario: Scenario, *, interval_s: int, intervals: int
) -> DaySchedule:
    """A compact schedule whose posting and taking window fits the market's transactions:
    nodes post side by side (a block's listings each, and a bid), then takes go one after
    the other (sellers take the retailers' bids; buyers approve and take about twice per
    block), each mined about one and a half block periods after it is sent."""
    blocks = min(4, intervals)
    sellers = sum(1 for p in scenario.participants if p.side == "seller")
    buyers = len(scenario.participants) - sellers
    retailers = sum(1 for p in scenario.participants if p.kind == "retailer")
    txs = (blocks + 1) + min(4, sellers) * retailers + 3 * buyers * blocks
    trading_s = max(30, math.ceil(1.5 * clock.block_period_s() * txs) + 15)
    return DaySchedule.compact(
        interval_s=interval_s, intervals=intervals, blocks=blocks, trading_s=trading_s
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


def run_demo(
    settings: Settings,
    preset: str,
    seed: int,
    *,
    nodes: int | None = None,
    interval_s: int = 15,
    intervals: int = 4,
) -> tuple[DaySummary, int, str]:
    """Everything but serving: returns the day's summary, events indexed, manifest path.

    Without ``GRIDLEDGER_RPC_URL`` the demo's own anvil is (re)started fresh; with it, that
    chain is used as it is. ``nodes`` keeps that many honest nodes of the preset (default:
    all on a development chain, ``REAL_TIME_NODES`` on a real-time one); ``interval_s`` and
    ``intervals`` shape the real-time day.
    """
    say = console.print
    external = settings.rpc_url_override is not None
    if external:
        settings = external_chain_settings(settings)
        # The demo owns <data dir>/demo: its manifest and databases start empty each run
        # (a local chain it started earlier, in chain/, is left alone).
        for path in settings.data_dir.glob("*"):
            if path.is_dir() and path.name != "chain":
                shutil.rmtree(path)
            elif not path.is_dir():
                path.unlink()
    else:
        chain = LocalChain(settings)
        chain.down()
        # The demo owns <data dir>/demo: chain state, manifest, databases start empty each run.
        shutil.rmtree(settings.data_dir, ignore_errors=True)
        # mixed: a block per transaction (the demo's one-at-a-time steps stay quick) plus
        # the interval blocks that keep the chain from stalling (docs/peak.md).
        status = chain.up(mining="mixed")
        say(f"chain: anvil at {status.rpc_url}, chain id {status.chain_id} (fresh demo state)")
    build = compiler.build(settings)
    state = "compiled" if build.compiled else "up to date"
    say(f"contracts: solc {build.solc_long_version}, {state}")
    ctx = LedgerContext(settings)
    clock = ChainClock(ctx.w3)
    if external:
        version = ChainClock.client_version(ctx.w3) or "unknown client"
        say(
            f"chain: {version} at {settings.rpc_url}, chain id {ctx.w3.eth.chain_id} "
            f"(external: not started or reset by the demo; "
            f"{'time-lapse' if clock.warps else 'real time'}"
            f"{', proof-of-authority headers' if settings.poa else ''})"
        )
    outcome = deploy_suite(ctx, demo_account(DEMO_ROLE_WALLETS["admin"]), fresh=external)
    say(f"deployed: {len(outcome.manifest.contracts)} contracts; manifest {outcome.manifest_path}")
    scenario = generate(preset, seed)
    if nodes is None and not clock.warps:
        nodes = REAL_TIME_NODES
    if nodes is not None:
        scenario = compact_scenario(scenario, nodes)
    say(
        f"scenario {scenario.preset} seed {seed}: {len(scenario.participants)} participants, "
        f"{scenario.meter_count} metering points, "
        f"{sum(p.violation is not None for p in scenario.participants)} injected violators"
    )
    if clock.warps:
        schedule, workers = DaySchedule(), 1
    else:
        schedule = real_time_schedule(clock, scenario, interval_s=interval_s, intervals=intervals)
        workers = REAL_TIME_WORKERS
        say(
            f"real time: {schedule.intervals} intervals of {schedule.interval_s} s, posting and "
            f"taking window {schedule.trading_s} s (the chain's clock cannot be moved)"
        )
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("market day", total=None)

        def tell(message: str) -> None:
            progress.console.print(f"  {message}")
            progress.update(task, description=message[:70])

        day = MarketDay(ctx, scenario, tell, schedule=schedule, clock=clock, workers=workers)
        summary = day.run()
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
            "auction orders / trades / settled",
            f"{summary.auction_orders} / {summary.auction_trades} / "
            f"{summary.auction_trades_settled}",
        ),
        (
            "auction energy / uniform price",
            f"{summary.auction_traded_wh / 1e6:,.3f} MWh / "
            f"{summary.auction_price_fen_per_mwh / 100:,.2f} CNY/MWh",
        ),
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
        (
            "tampered meters flagged / injected",
            f"{len(summary.tamper.flagged)} / {len(summary.tamper.injected)} "
            f"({summary.tamper.feeders} feeder meters)",
        ),
        ("green certificates issued", str(summary.certificates_issued)),
        (
            "bilateral contracts / period trades",
            f"{summary.contracts_registered} / {summary.contract_trades} "
            f"({summary.contract_traded_wh / 1e6:,.3f} MWh)",
        ),
        (
            "retail bills anchored / paid",
            f"{summary.retail_bills} bills, {summary.retail_billed_fen / 100:,.2f} / "
            f"{summary.retail_paid_fen / 100:,.2f} CNY",
        ),
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
    insecure_http: Annotated[
        bool,
        typer.Option(
            "--insecure-http",
            help="Serve the explorer over plain HTTP (local development only; default HTTPS).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    summary_out: Annotated[
        Path | None, typer.Option(help="Also write the summary as JSON to this file.")
    ] = None,
    nodes: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Keep this many honest nodes of the preset (default: all; "
            f"{REAL_TIME_NODES} on a real-time chain).",
        ),
    ] = None,
    interval: Annotated[
        int, typer.Option(min=5, help="Real-time chain: seconds per delivery interval.")
    ] = 15,
    intervals: Annotated[
        int,
        typer.Option(min=1, max=96, help="Real-time chain: delivery intervals (a divisor of 96)."),
    ] = 4,
) -> None:
    """One market day of the Jibei market, end to end; then the explorer.

    With GRIDLEDGER_RPC_URL set (e.g. a consortium member) it runs on that chain."""
    if 96 % intervals:
        raise typer.BadParameter("must divide 96", param_hint="--intervals")
    settings = demo_settings(get_settings())
    console.print("[yellow]demo mode: THROWAWAY keys from the public demo mnemonic[/]")
    owns_chain = settings.rpc_url_override is None
    # Stop what the demo started (its anvil runs in its own session, so the terminal's
    # Ctrl-C does not reach it) on every way out: done, failed, Ctrl-C or SIGTERM.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        started = time.monotonic()
        summary, events, manifest = run_demo(
            settings, preset, seed, nodes=nodes, interval_s=interval, intervals=intervals
        )
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
            _serve(demo_api_keys(settings), port, insecure_http=insecure_http)
    finally:
        if owns_chain and LocalChain(settings).down():
            console.print(f"chain stopped (state kept in {LocalChain(settings).state_file})")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def demo_api_keys(settings: Settings) -> Settings:
    """DEMO ONLY: an auditor and a regulator key for the served gateway, printed here
    (a real deployment issues keys with `gridledger gateway keys add ROLE`)."""
    path = settings.data_dir / "gateway-api-keys.json"
    for role in (Role.auditor, Role.regulator):
        key = add_key(path, role)
        typer.echo(f"demo {role.value} API key (X-API-Key header): {key}")
    return settings.model_copy(update={"gateway_api_keys_file": path})


def _serve(settings: Settings, port: int, *, insecure_http: bool) -> None:
    """The explorer over HTTPS with the demo data dir's consortium CA (made on first use;
    the oracle of the day used it too), or plain HTTP with ``--insecure-http``."""
    import uvicorn

    from gateway.app import create_app

    ssl: dict[str, Any] = {}
    scheme = "http"
    if not insecure_http:
        init_tls(tls_dir(settings))
        ssl = uvicorn_ssl_kwargs(settings, "gateway")
        scheme = "https"
        console.print(f"TLS: the explorer's certificate is signed by {ca_file(settings)}")
    console.print(f"explorer: {scheme}://127.0.0.1:{port}/  (Ctrl-C to stop)")
    # The gateway app has no lifespan work; "off" keeps Ctrl-C to one line (uvicorn's lifespan
    # task logs a CancelledError traceback when the loop is interrupted).
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        **ssl,
    )
