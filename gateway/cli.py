"""``gridledger gateway``: the indexer, explorer and history API."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer
from sqlalchemy import create_engine, text

from gateway import contracts_archive
from gateway.db import engine_from_settings, upgrade
from ledger.apikeys_cli import keys_app
from ledger.cli_support import console, make_context, print_json
from ledger.db import masked_url
from ledger.errors import ConfigError
from ledger.tls import InsecureOpt, uvicorn_ssl_kwargs

app = typer.Typer(help="Event indexer, explorer and history API.", no_args_is_help=True)
app.add_typer(keys_app("gateway"), name="keys")
contracts_archive.register(app)


@app.command("info")
def info(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the database the gateway uses and the chain and manifest it follows."""
    ctx = make_context()
    url = ctx.settings.database_url
    ctx.settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        raise ConfigError(f"cannot open database {masked_url(url)}: {exc}") from exc
    finally:
        engine.dispose()
    manifest = ctx.manifest
    data = {
        "database_url": masked_url(url),
        "rpc_url": ctx.settings.rpc_url,
        "chain_id": manifest.chain_id,
        "deploy_block": manifest.deploy_block,
        "contracts": {k: v.address for k, v in manifest.contracts.items()},
    }
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"{key:>14}: {value}")


@app.command("index")
def index(
    once: Annotated[bool, typer.Option("--once", help="Catch up to the head, then exit.")] = False,
    poll_interval: Annotated[
        float | None, typer.Option(help="Seconds between polls (follow mode).")
    ] = None,
    confirmations: Annotated[int | None, typer.Option(help="Blocks to stay behind.")] = None,
    chunk_blocks: Annotated[int | None, typer.Option(help="Blocks per chunk.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Index every suite event into the database (follows the chain unless --once)."""
    from gateway.indexer import Indexer, retry_until_up

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    ctx = make_context()
    engine = engine_from_settings(ctx.settings)
    stop = threading.Event()

    def start() -> Indexer:
        upgrade(engine)
        return Indexer(ctx, engine, confirmations=confirmations, chunk_blocks=chunk_blocks)

    if once:
        indexer = start()
        stats = indexer.run_once()
        data = {
            "chunks": stats.chunks,
            "blocks": stats.blocks,
            "events": stats.events,
            "reorgs": stats.reorgs,
            "checkpoint": stats.checkpoint,
            "seconds": round(stats.seconds, 3),
            "events_per_s": round(stats.events_per_s, 1),
        }
        if as_json:
            print_json(data)
        else:
            console.print(
                f"indexed {stats.events} events in {stats.blocks} blocks "
                f"({stats.events_per_s:.0f} events/s); checkpoint {stats.checkpoint}"
            )
        return
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    db = masked_url(ctx.settings.database_url)
    console.print(f"following {ctx.settings.rpc_url} into {db}")
    interval = poll_interval or ctx.settings.gateway_poll_interval_s
    # follow mode outlives outages of the database and the RPC node, also at start
    follower = retry_until_up(start, stop, interval, ctx.settings.gateway_retry_max_s)
    if follower is not None:
        follower.follow(interval, stop)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8700,
    insecure_http: InsecureOpt = False,
) -> None:
    """Serve the explorer (/) and the history API (/api/v1, docs at /docs) over HTTPS."""
    import uvicorn

    from gateway.app import create_app

    ctx = make_context()
    tls_kwargs = uvicorn_ssl_kwargs(ctx.settings, "gateway", insecure_http=insecure_http)
    uvicorn.run(create_app(ctx.settings), host=host, port=port, log_level="info", **tls_kwargs)


@app.command("verify")
def verify_cmd(
    from_block: Annotated[int | None, typer.Option(help="First block to check.")] = None,
    to_block: Annotated[int | None, typer.Option(help="Last block to check.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-check the index against the chain; exits 1 on any difference."""
    from gateway.indexer import Indexer
    from gateway.verify import verify

    ctx = make_context()
    engine = engine_from_settings(ctx.settings)
    upgrade(engine)
    report = verify(Indexer(ctx, engine), from_block, to_block)
    if as_json:
        print_json(report)
    else:
        console.print(
            f"{'OK' if report.ok else 'MISMATCH'}: blocks {report.from_block}..{report.to_block}, "
            f"{report.chain_events} events on chain, {report.indexed_events} indexed; "
            f"missing {len(report.missing)}, unexpected {len(report.unexpected)}, "
            f"mismatched {len(report.mismatched)}, bad block hashes "
            f"{len(report.block_hash_mismatches)}"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("reproject")
def reproject() -> None:
    """Rebuild every domain table from the generic events table, and recount the
    overview's summaries (one transaction)."""
    from gateway import summary
    from gateway.projections import counted_tables, reproject_all

    ctx = make_context()
    engine = engine_from_settings(ctx.settings)
    upgrade(engine)
    with engine.begin() as conn:
        reproject_all(conn)
        summary.rebuild(conn, counted_tables())
    console.print("projections and summaries rebuilt from gw_events")
