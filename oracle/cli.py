"""``gridledger oracle``: the meter and dispatch oracle's commands."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ledger.apikeys_cli import keys_app
from ledger.cli_support import (
    account_address,
    address_argument,
    console,
    make_context,
    print_json,
    signer,
)
from ledger.clients.access import MarketAccessClient
from ledger.clients.oracle import MeteredEnergy, MeterOracleClient, PeriodInfo
from ledger.context import LedgerContext
from ledger.db import make_engine, session_factory
from ledger.errors import ChainError
from ledger.keystore import resolve_password
from ledger.tls import InsecureOpt, uvicorn_ssl_kwargs
from oracle.dispatch import MemoryTradeSource
from oracle.errors import OracleError
from oracle.meter_cli import meter_app
from oracle.proofs import ProofCheck
from oracle.relay import OracleLock
from oracle.service import OracleService
from oracle.store import create_tables
from oracle.tamper_cli import tamper_app

app = typer.Typer(help="The meter and dispatch oracle.", no_args_is_help=True)
review_app = typer.Typer(help="Review flagged readings (VERIFIER).", no_args_is_help=True)
period_app = typer.Typer(help="Delivery periods.", no_args_is_help=True)
app.add_typer(meter_app, name="meter")
app.add_typer(review_app, name="review")
review_app.add_typer(tamper_app, name="tamper")
app.add_typer(period_app, name="period")
app.add_typer(keys_app("oracle"), name="keys")

WalletOpt = Annotated[str | None, typer.Option(help="Wallet to sign with.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _service(ctx: LedgerContext, wallet: str | None = None, **kw: object) -> OracleService:
    account = ctx.account(
        wallet or ctx.settings.oracle_wallet, lambda: resolve_password(ctx.settings)
    )
    engine = make_engine(ctx.settings)
    create_tables(engine)
    return OracleService(ctx, sessions=session_factory(engine), account=account, **kw)  # type: ignore[arg-type]


class ClockSource(StrEnum):
    """What the oracle takes as "now" (reading ages, batch and period deadlines)."""

    wall = "wall"
    chain = "chain"


def chain_clock(ctx: LedgerContext) -> Callable[[], float]:
    """The latest block's timestamp as the oracle's clock: on a local dev chain whose clock
    ``gridledger chain advance`` moves, readings and periods follow the chain's time."""
    return lambda: float(ctx.w3.eth.get_block("latest")["timestamp"])


def _describe(service: OracleService) -> str:
    describe = getattr(service.calendar, "describe", None)
    return str(describe()) if callable(describe) else type(service.calendar).__name__


@app.command("info")
def info(
    wallet: Annotated[str, typer.Option(help="The oracle's relaying wallet.")] = "meter-oracle",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the oracle's chain, key and whether that key holds METER_ORACLE."""
    ctx = make_context()
    account = ctx.account(wallet, lambda: resolve_password(ctx.settings))
    access = ctx.client(MarketAccessClient, account)
    data = {
        "rpc_url": ctx.settings.rpc_url,
        "chain_id": ctx.w3.eth.chain_id,
        "wallet": wallet,
        "address": account.address,
        "has_meter_oracle_role": access.has_role("METER_ORACLE", account.address),
        "market_access": access.address,
    }
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"{key:>22}: {value}")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind host (default: setting).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: setting).")] = None,
    trades_file: Annotated[
        Path | None,
        typer.Option(help="JSON list of trades for /dispatch/trades (default: TradingMarket)."),
    ] = None,
    wallet: WalletOpt = None,
    insecure_http: InsecureOpt = False,
    clock: Annotated[
        ClockSource,
        typer.Option(
            help="'wall': the host's clock; 'chain': the latest block's time (a local dev "
            "chain moved with `gridledger chain advance`)."
        ),
    ] = ClockSource.wall,
) -> None:
    """Run the oracle API (HTTPS with the `gridledger tls init` certificates) with its
    batching/relaying worker (one process per key)."""
    import uvicorn

    from oracle.app import create_app

    ctx = make_context()
    tls_kwargs = uvicorn_ssl_kwargs(ctx.settings, "oracle", insecure_http=insecure_http)
    trades = MemoryTradeSource.from_file(trades_file) if trades_file else None
    now = chain_clock(ctx) if clock is ClockSource.chain else time.time
    service = _service(ctx, wallet, trades=trades, clock=now)
    console.print(f"clock: {clock.value}")
    console.print(f"delivery periods: {_describe(service)}")
    console.print(service.startup.describe())
    with OracleLock(ctx.settings.data_dir / "oracle", service.account.address):
        service.relay.run_once()  # resume whatever a previous run left in the outbox
        app_ = create_app(
            ctx,
            sessions=service.sessions,
            account=service.account,
            service=service,
            background_interval_s=min(ctx.settings.oracle_batch_interval_s, 5.0),
        )
        uvicorn.run(
            app_,
            host=host or ctx.settings.oracle_host,
            port=port or ctx.settings.oracle_port,
            **tls_kwargs,
        )


@app.command("prove")
def prove(
    node: Annotated[str, address_argument("Node address.")],
    period: Annotated[
        int, typer.Argument(help="Delivery period (the trading period id with TradingMarket).")
    ],
    as_json: JsonOpt = False,
    on_chain: Annotated[bool, typer.Option(help="Also call verifyReading/verifyNodeTotal.")] = True,
) -> None:
    """Rebuild a node's metered total from the signed readings and verify it on chain."""
    ctx = make_context()
    service = _service(ctx)
    proof = service.node_proof(node, period)
    start, end = service.period_bounds(period)
    problems = ProofCheck(service.meter_oracle, service.chain_id).check(proof, on_chain=on_chain)
    if as_json:
        print_json(
            {
                "proof": proof.model_dump(mode="json", by_alias=True),
                "periodStart": start,
                "periodEnd": end,
                "problems": problems,
            }
        )
    else:
        console.print(f"period {period}: delivery [{start}, {end}) ({_describe(service)})")
        console.print(
            f"node {proof.node} period {proof.period}: import {proof.import_wh} Wh, export "
            f"{proof.export_wh} Wh, net {proof.net_wh} Wh from {proof.reading_count} readings"
        )
        for item in proof.readings:
            r = item.reading
            console.print(
                f"  seq {r.sequence} meter {r.meter_id[:18]}… t={r.interval_start} "
                f"+{r.import_wh}/-{r.export_wh} Wh batch {item.batch_id} "
                f"proof [{', '.join(p[:10] for p in item.batch_proof)}]"
            )
        console.print(f"  totals root {proof.totals_root}, proof {len(proof.totals_proof)} hashes")
    if problems:
        for p in problems:
            console.print(f"[red]FAILED[/] {p}")
        raise typer.Exit(1)
    console.print("[green]verified[/]: every reading is meter-signed and anchored; total matches")


@review_app.command("pending")
def review_pending(limit: int = 100, as_json: JsonOpt = False) -> None:
    """Flagged readings held out of settlement."""
    rows = _service(make_context()).pending_review(limit)
    if as_json:
        print_json([r.model_dump(mode="json", by_alias=True) for r in rows])
        return
    for r in rows:
        console.print(
            f"{r.reading_id:>8}  {r.meter_id[:18]}…  node {r.node}  t={r.interval_start}  "
            f"+{r.import_wh}/-{r.export_wh} Wh  flags {','.join(r.flags)}"
        )


def _review(reading_id: int, decision: str, wallet: str, note: str) -> None:
    ctx = make_context()
    verifier = ctx.account(wallet, lambda: resolve_password(ctx.settings))
    status = _service(ctx).review(reading_id, decision, verifier.address, note)
    console.print(f"reading {reading_id}: {status}")


@review_app.command("clear")
def review_clear(
    reading_id: int,
    note: str = "",
    wallet: Annotated[str, typer.Option(help="VERIFIER wallet.")] = "verifier",
) -> None:
    """Clear a flagged reading: it counts toward settlement."""
    _review(reading_id, "clear", wallet, note)


@review_app.command("reject")
def review_reject(
    reading_id: int,
    note: str = "",
    wallet: Annotated[str, typer.Option(help="VERIFIER wallet.")] = "verifier",
) -> None:
    """Reject a flagged reading: it stays anchored but never counts."""
    _review(reading_id, "reject", wallet, note)


@period_app.command("close")
def period_close(
    period: int,
    force: Annotated[bool, typer.Option(help="Close before the late-reading window ends.")] = False,
) -> None:
    """Post a delivery period's node totals root and queue every node's submitNodeTotal
    (the worker does this when due). PERIOD is the trading period id with TradingMarket."""
    ctx = make_context()
    service = _service(ctx)
    with OracleLock(ctx.settings.data_dir / "oracle", service.account.address):
        try:
            record = service.close_period(period, force=force)
        except OracleError as exc:
            raise typer.BadParameter(str(exc)) from exc
        service.relay.run_once()
    console.print(
        f"period {period}: {record.node_count} nodes, {record.reading_count} readings, "
        f"root {record.totals_root}; node totals submitted behind it"
    )


def _period_state(
    oracle: MeterOracleClient, period: int, nodes: list[str]
) -> tuple[PeriodInfo, dict[str, MeteredEnergy]]:
    return oracle.period_of(period), {n: oracle.metered_energy_of(n, period) for n in nodes}


@period_app.command("show")
def period_show(
    period: Annotated[int, typer.Argument(min=1, help="The delivery period (trading period id).")],
    nodes: Annotated[
        list[str] | None,
        typer.Argument(help="Nodes (addresses or wallet names) whose recorded totals to show."),
    ] = None,
    wait: Annotated[
        int,
        typer.Option(
            min=0,
            help="Wait up to this many seconds until the period is posted and every NODE's "
            "total is recorded on chain (error when it is not by then).",
        ),
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """A delivery period's posted totals root and NODEs' metered totals, as on chain
    (what settlement reads)."""
    ctx = make_context()
    addresses = [account_address(ctx, n) for n in nodes or []]
    oracle = ctx.client(MeterOracleClient, signer(ctx, None))
    deadline = time.monotonic() + wait
    posted, totals = _period_state(oracle, period, addresses)
    while not (posted.posted_at and all(t.recorded for t in totals.values())):
        if time.monotonic() >= deadline:
            if wait:
                raise ChainError(
                    f"period {period}: not posted with every total recorded after {wait} s "
                    "(is the oracle serving, and its late-reading window over?)"
                )
            break
        time.sleep(1.0)
        posted, totals = _period_state(oracle, period, addresses)
    root = "0x" + posted.totals_root.hex()
    if as_json:
        print_json(
            {
                "period": {**posted._asdict(), "totals_root": root},
                "totals": {n: t._asdict() for n, t in totals.items()},
            }
        )
        return
    if posted.posted_at:
        console.print(
            f"period {period}: posted at {posted.posted_at}, {posted.node_count} nodes, "
            f"{posted.reading_count} readings, totals root {root}"
        )
    else:
        console.print(f"period {period}: not posted yet")
    for node, total in totals.items():
        console.print(
            f"  {node}: import {total.import_wh} Wh, export {total.export_wh} Wh, "
            f"net {total.net_wh} Wh"
            if total.recorded
            else f"  {node}: no total recorded yet"
        )
