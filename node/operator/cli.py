"""``gridledger operator``: the OPERATOR's configuration of the market.

Periods and settlement opening, the grid/balancing/remainder accounts, required licences,
the bond table, exposure, inactivity and rating windows, FTR sales and the oracle's node
status source. Every write is signed by ``--wallet`` (default ``operator``), which must hold
OPERATOR; accounts are addresses or wallet names.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import cli_support as cli
from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.registry import NodeKind, NodeRegistryClient, code, parse_credit_level
from ledger.clients.registry import parse_enum as parse_kind
from ledger.clients.reputation import ReputationLedgerClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.surveillance import SurveillanceDeskClient
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.trading import TradingMarketClient
from ledger.context import LedgerContext
from ledger.units import mwh_to_wh
from node.settlement import defaults_cli
from node.trading.cli import open_period

app = typer.Typer(help="The OPERATOR's set-up of the market.", no_args_is_help=True)

WalletOpt = Annotated[str, cli.wallet_option("Wallet holding the OPERATOR role.")]
Region = Annotated[int, typer.Argument(min=0, max=31, help="Region id, 0..31.")]
Seconds = Annotated[int, typer.Argument(min=0, help="Seconds.")]


def _chain_now(ctx: LedgerContext) -> int:
    """The time the next block will carry (the latest block's may lag the clock)."""
    latest = int(ctx.w3.eth.get_block("latest")["timestamp"])
    try:
        return max(latest, int(ctx.w3.eth.get_block("pending")["timestamp"]))
    except ValueError:
        return latest


_client = cli.contract_client


app.command("open-period")(open_period)
defaults_cli.register_operator(app)  # fund-replenish, fund-rate, closure-grace


@app.command("open-next-period")
def open_next_period(
    delivery_in: Annotated[
        int, typer.Option("--delivery-in", min=1, help="Delivery starts this many seconds on.")
    ],
    taking_closes_before: Annotated[
        int, typer.Option(min=0, help="Taking closes this many seconds before delivery.")
    ] = 3600,
    interval_s: Annotated[int, typer.Option(min=1)] = 900,
    intervals: Annotated[int, typer.Option(min=1, max=65535)] = 96,
    align: Annotated[
        bool,
        typer.Option(
            help="Move delivery up to the next interval boundary (meters read aligned "
            "intervals, so the oracle takes readings only of an aligned period)."
        ),
    ] = False,
    wallet: WalletOpt = "operator",
) -> None:
    """Open a period relative to the chain's clock: posting and taking open now."""
    ctx, market = _client(TradingMarketClient, wallet)
    now = _chain_now(ctx)
    start = now + delivery_in
    if align:
        start = -(-start // interval_s) * interval_s
    receipt = market.open_period(
        start, now, now, start - taking_closes_before, interval_s=interval_s, intervals=intervals
    )
    period = market.opened_period_id(receipt)
    cli.console.print(
        f"opened period {period}: delivery {cli.short_time(start)} UTC, "
        f"{intervals} x {interval_s} s (tx {cli.tx_hash(receipt)})"
    )


@app.command("open-settlement")
def open_settlement(
    period: Annotated[int, typer.Argument(min=1, help="The delivery period.")],
    at: Annotated[
        str | None, typer.Option("--at", help="ISO or unix time (default: --in 0, i.e. now).")
    ] = None,
    in_seconds: Annotated[
        int, typer.Option("--in", min=0, help="Open this many seconds after the chain's now.")
    ] = 0,
    wallet: WalletOpt = "operator",
) -> None:
    """Schedule when PERIOD's settlement opens (dispatch results must be in by then)."""
    ctx, results = _client(DispatchResultsClient, wallet)
    now = _chain_now(ctx)
    opens_at = cli.parse_time(at) if at else now + max(in_seconds, 1)
    receipt = results.set_settlement_opens_at(period, opens_at)
    cli.console.print(
        f"settlement of period {period} opens at {cli.short_time(opens_at)} UTC ({opens_at}) "
        f"(tx {cli.tx_hash(receipt)})"
    )


@app.command("grid-account")
def grid_account(region: Region, account: cli.AccountArg, wallet: WalletOpt = "operator") -> None:
    """The grid company account paid REGION's share of transmission fees."""
    ctx, engine = _client(SettlementEngineClient, wallet)
    address = cli.account_address(ctx, account)
    cli.print_tx(
        f"region {region} grid account is {address}", engine.set_grid_account(region, address)
    )


@app.command("balancing-account")
def balancing_account(account: cli.AccountArg, wallet: WalletOpt = "operator") -> None:
    """The balancing account (pays ramp-up and receives ramp-down deviation charges)."""
    ctx, engine = _client(SettlementEngineClient, wallet)
    address = cli.account_address(ctx, account)
    cli.print_tx(f"balancing account is {address}", engine.set_balancing_account(address))


@app.command("remainder-account")
def remainder_account(account: cli.AccountArg, wallet: WalletOpt = "operator") -> None:
    """The account that receives fee rounding remainders."""
    ctx, engine = _client(SettlementEngineClient, wallet)
    address = cli.account_address(ctx, account)
    cli.print_tx(f"remainder account is {address}", engine.set_remainder_account(address))


@app.command("accounts")
def accounts(as_json: cli.JsonOpt = False) -> None:
    """Show the settlement accounts (grid accounts of the defined regions)."""
    _, engine = _client(SettlementEngineClient, None)
    _, tariff = _client(TransmissionTariffClient, None)
    grid = {r.id: engine.grid_account_of(r.id) for r in tariff.regions()}
    data = {
        "balancing": engine.balancing_account(),
        "remainder": engine.remainder_account(),
        "grid": grid,
    }
    if as_json:
        cli.print_json(data)
        return
    cli.console.print(f"balancing {data['balancing']}\nremainder {data['remainder']}")
    for region, address in grid.items():
        cli.console.print(f"grid, region {region}: {address}")


@app.command("require-licence")
def require_licence(
    kind: Annotated[str, typer.Argument(help="Node kind, e.g. wind, coal, retailer.")],
    licence: Annotated[str, typer.Argument(help="Licence type code, e.g. GEN_LICENCE.")],
    drop: Annotated[bool, typer.Option("--drop", help="No longer require it.")] = False,
    wallet: WalletOpt = "operator",
) -> None:
    """Require (or with --drop stop requiring) LICENCE of every node of KIND."""
    _, registry = _client(NodeRegistryClient, wallet)
    node_kind: NodeKind = parse_kind(NodeKind, kind)
    receipt = registry.set_required_qualification(node_kind, code(licence), not drop)
    verb = "no longer requires" if drop else "requires"
    cli.print_tx(f"{node_kind.name.lower()} {verb} {licence}", receipt)


@app.command("bond-requirement", context_settings=cli.NUMBER_ARGS)
def bond_requirement(
    level: Annotated[str, typer.Argument(help="Credit level AAA..C.")],
    amount: cli.AmountArg,
    wallet: WalletOpt = "operator",
) -> None:
    """Set the bond required at credit LEVEL (CNY)."""
    _, registry = _client(NodeRegistryClient, wallet)
    receipt = registry.set_bond_requirement(parse_credit_level(level), cli.positive_fen(amount))
    cli.print_tx(f"bond at {level.upper()} is {amount} CNY", receipt)


@app.command("default-credit-level")
def default_credit_level(
    level: Annotated[str, typer.Argument(help="Credit level AAA..C.")],
    wallet: WalletOpt = "operator",
) -> None:
    """The credit level of unrated nodes."""
    _, registry = _client(NodeRegistryClient, wallet)
    receipt = registry.set_default_credit_level(parse_credit_level(level))
    cli.print_tx(f"unrated nodes count as {level.upper()}", receipt)


@app.command("inactivity-period")
def inactivity_period(seconds: Seconds, wallet: WalletOpt = "operator") -> None:
    """How long a node may be inactive before `reclaim`."""
    _, registry = _client(NodeRegistryClient, wallet)
    cli.print_tx(f"inactivity period {seconds} s", registry.set_inactivity_period(seconds))


@app.command("reclaim")
def reclaim(node: cli.AddressArg, wallet: WalletOpt = "operator") -> None:
    """Reclaim an inactive NODE's registration (its bond is returned)."""
    _, registry = _client(NodeRegistryClient, wallet)
    cli.print_tx(f"reclaimed {node}", registry.reclaim(node))


@app.command("exposure-bps")
def exposure_bps(
    bps: Annotated[int, typer.Argument(min=0, max=10_000, help="Basis points of value.")],
    wallet: WalletOpt = "operator",
) -> None:
    """The share of a trade's value reserved from the seller's bond."""
    _, market = _client(TradingMarketClient, wallet)
    cli.print_tx(f"seller exposure {bps} bps", market.set_exposure_bps(bps))


@app.command("rating-window")
def rating_window(seconds: Seconds, wallet: WalletOpt = "operator") -> None:
    """How long after a trade its counterparties may rate it."""
    _, ledger = _client(ReputationLedgerClient, wallet)
    cli.print_tx(f"rating window {seconds} s", ledger.set_rating_window(seconds))


@app.command("top-up-grace")
def top_up_grace(seconds: Seconds, wallet: WalletOpt = "operator") -> None:
    """How long a node has to top its bond up after a downgrade."""
    _, ledger = _client(ReputationLedgerClient, wallet)
    cli.print_tx(f"top-up grace {seconds} s", ledger.set_top_up_grace(seconds))


@app.command("ruling-period")
def ruling_period(seconds: Seconds, wallet: WalletOpt = "operator") -> None:
    """How long the regulator has to rule on a violation report (OPERATOR or REGULATOR)."""
    _, desk = _client(SurveillanceDeskClient, wallet)
    cli.print_tx(f"ruling period {seconds} s", desk.set_ruling_period(seconds))


@app.command("sell-ftr", context_settings=cli.NUMBER_ARGS)
def sell_ftr(
    from_region: Region,
    to_region: Region,
    period: Annotated[int, typer.Argument(min=1, help="The delivery period.")],
    capacity_mwh: Annotated[str, typer.Option("--capacity-mwh", help="Capacity in MWh.")],
    rate: Annotated[str, typer.Option("--rate", help="Compensation rate, CNY/MWh.")],
    price: Annotated[str, typer.Option("--price", help="Price of the right, CNY.")],
    wallet: WalletOpt = "operator",
) -> None:
    """Offer a financial transmission right FROM_REGION -> TO_REGION for PERIOD."""
    _, engine = _client(SettlementEngineClient, wallet)
    receipt = engine.sell_ftr(
        from_region,
        to_region,
        period,
        mwh_to_wh(capacity_mwh),
        cli.price_fen(rate),
        cli.positive_fen(price, "the price"),
    )
    cli.print_tx(f"FTR {engine.offered_ftr_id(receipt)} offered", receipt)


@app.command("node-status-source")
def node_status_source(source: cli.AddressArg, wallet: WalletOpt = "operator") -> None:
    """The contract the meter oracle asks whether a node is active (normally NodeRegistry)."""
    _, oracle = _client(MeterOracleClient, wallet)
    cli.print_tx(f"node status source is {source}", oracle.set_node_status_source(source))
