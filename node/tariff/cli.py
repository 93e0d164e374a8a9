"""``gridledger tariff``: postage-stamp transmission tariffs (regions, edges, rates, routes).

Writes are the REGULATOR's (``--wallet regulator``); anyone reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from ledger import cli_support as cli
from ledger.clients.tariff import TransmissionTariffClient
from ledger.context import LedgerContext
from ledger.units import fen_to_cny, rate_to_cny_per_mwh_text, wh_to_mwh_trimmed

app = typer.Typer(
    help="Postage-stamp transmission tariffs: regions, edges, stamp rates, cheapest routes.",
    no_args_is_help=True,
)

WalletOpt = Annotated[str, cli.wallet_option("Keystore that signs (it must hold REGULATOR).")]
Region = Annotated[int, typer.Argument(min=0, max=31, help="Region id, 0..31.")]


def _client(wallet: str | None) -> tuple[LedgerContext, TransmissionTariffClient]:
    """The tariff client signing as ``wallet``; reads (``None``) need no key, so they use
    a random, never-funded account that only makes ``eth_call``s."""
    ctx = cli.make_context()
    account = cli.signer(ctx, wallet)
    return ctx, ctx.client(TransmissionTariffClient, account)


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


@app.command("regions")
def regions(as_json: cli.JsonOpt = False) -> None:
    """List the regions: neighbours, the stamp rate in effect now and any pending rate."""
    _, tariff = _client(None)
    infos = tariff.regions()
    if as_json:
        cli.print_json(infos)
        return
    if not infos:
        cli.console.print("no regions defined")
        return
    table = Table("id", "name", "neighbours", "rate CNY/MWh", "pending CNY/MWh", "pending from")
    for r in infos:
        table.add_row(
            str(r.id),
            r.name,
            ",".join(str(n) for n in r.neighbours) or "-",
            rate_to_cny_per_mwh_text(r.rate_fen_per_mwh) if r.has_rate else "none",
            rate_to_cny_per_mwh_text(r.pending_rate_fen_per_mwh) if r.pending_from else "-",
            _when(r.pending_from),
        )
    cli.console.print(table)


@app.command("define-region")
def define_region(region: Region, name: str, wallet: WalletOpt = "regulator") -> None:
    """Define REGION named NAME (1..32 bytes of UTF-8), or rename it."""
    _, tariff = _client(wallet)
    receipt = tariff.define_region(region, name)
    cli.console.print(f"region {region} is {name!r} (tx {cli.tx_hash(receipt)})")


@app.command("set-edge")
def set_edge(
    region_a: Region,
    region_b: Region,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the edge instead.")] = False,
    wallet: WalletOpt = "regulator",
) -> None:
    """Connect (or with --remove disconnect) two regions; edges are undirected."""
    _, tariff = _client(wallet)
    receipt = tariff.set_edge(region_a, region_b, not remove)
    verb = "disconnected" if remove else "connected"
    cli.console.print(f"regions {region_a} and {region_b} {verb} (tx {cli.tx_hash(receipt)})")


@app.command("set-rate")
def set_rate(
    region: Region,
    rate_fen_per_mwh: Annotated[int, typer.Argument(min=0, help="Stamp rate, fen/MWh.")],
    effective_from: Annotated[
        int,
        typer.Option(
            "--from", min=0, help="Unix time it takes effect (default: the mining block's)."
        ),
    ] = 0,
    in_seconds: Annotated[
        int | None, typer.Option("--in", min=0, help="Take effect this many seconds from now.")
    ] = None,
    wallet: WalletOpt = "regulator",
) -> None:
    """Schedule REGION's stamp rate (replaces a pending, not yet effective one)."""
    ctx, tariff = _client(wallet)
    if in_seconds is not None:
        effective_from = int(ctx.w3.eth.get_block("latest")["timestamp"]) + in_seconds
    receipt = tariff.schedule_stamp_rate(region, rate_fen_per_mwh, effective_from)
    [event] = tariff.events(receipt, "StampRateScheduled")
    args = event["args"]
    replaced = (
        f", replacing pending {rate_to_cny_per_mwh_text(args['replacedRateFenPerMwh'])} CNY/MWh "
        f"from {_when(args['replacedFrom'])}"
        if args["replacedPending"]
        else ""
    )
    cli.console.print(
        f"region {region}: {rate_to_cny_per_mwh_text(rate_fen_per_mwh)} CNY/MWh "
        f"from {_when(args['effectiveFrom'])}"
        f"{replaced} (tx {cli.tx_hash(receipt)})"
    )


@app.command("route")
def route(
    from_region: Region,
    to_region: Region,
    energy_wh: Annotated[
        int | None, typer.Option("--energy-wh", min=0, help="Also compute formula 1's fee.")
    ] = None,
    at: Annotated[
        int | None, typer.Option("--at", min=0, help="Use the rates in effect at this time.")
    ] = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """The cheapest route FROM_REGION -> TO_REGION, its stamp sum and (optionally) the fee."""
    _, tariff = _client(None)
    found = tariff.cheapest_route(from_region, to_region, at)
    result: dict[str, object] = found.model_dump()
    if energy_wh is not None:
        # The contract's own rounding rule, on the route it just found.
        result["energy_wh"] = energy_wh
        fee_fen = int(
            tariff.contract.functions.feeFen(energy_wh, found.sum_rate_fen_per_mwh).call()
        )
        result["fee_fen"] = fee_fen
    if as_json:
        cli.print_json(result)
        return
    cli.console.print(
        "route "
        + " -> ".join(str(r) for r in found.route)
        + f": {rate_to_cny_per_mwh_text(found.sum_rate_fen_per_mwh)} CNY/MWh"
    )
    if energy_wh is not None:
        cli.console.print(f"fee for {wh_to_mwh_trimmed(energy_wh)} MWh: {fen_to_cny(fee_fen)} CNY")
