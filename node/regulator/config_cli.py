"""The REGULATOR's market parameters: quotas, certificate weights, funds, reporter policy,
penalty account and reputation thresholds. ``register(app)`` adds them to ``regulator``.
(Regions, edges and stamp rates are ``gridledger tariff``; rulings ``gridledger surveil``.)
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import cli_support as cli
from ledger.clients.certificates import QuotaLedgerClient
from ledger.clients.reputation import ReputationLedgerClient
from ledger.clients.surveillance import SurveillanceDeskClient

WalletOpt = Annotated[str, cli.wallet_option("Wallet holding the REGULATOR role.")]
Bps = Annotated[int, typer.Argument(min=0, max=10_000, help="Basis points.")]


_client = cli.contract_client


def set_quota(
    period: Annotated[int, typer.Argument(min=1, help="The delivery period.")],
    weight_bps: Bps,
    deadline: Annotated[str, typer.Option("--deadline", help="ISO or unix time.")],
    fine_rate: Annotated[str, typer.Option("--fine-rate", help="Fine, CNY/MWh of shortfall.")],
    wallet: WalletOpt = "regulator",
) -> None:
    """PERIOD's renewable quota (share of consumption, bps), deadline and fine rate."""
    _, quota = _client(QuotaLedgerClient, wallet)
    receipt = quota.set_quota(
        period, weight_bps, cli.parse_time(deadline), cli.price_fen(fine_rate)
    )
    cli.print_tx(f"period {period}: quota {weight_bps} bps", receipt)


def type_weight(
    type_id: Annotated[int, typer.Argument(min=0, help="Certificate type id.")],
    weight_bps: Bps,
    wallet: WalletOpt = "regulator",
) -> None:
    """How much one Wh of certificate TYPE_ID covers (bps)."""
    _, quota = _client(QuotaLedgerClient, wallet)
    cli.print_tx(
        f"type {type_id} weight {weight_bps} bps", quota.set_type_weight(type_id, weight_bps)
    )


def fund_account(account: cli.AccountArg, wallet: WalletOpt = "regulator") -> None:
    """The renewable fund that receives quota fines."""
    ctx, quota = _client(QuotaLedgerClient, wallet)
    address = cli.account_address(ctx, account)
    cli.print_tx(f"fund account is {address}", quota.set_fund_account(address))


def penalty_account(account: cli.AccountArg, wallet: WalletOpt = "regulator") -> None:
    """The account that receives surveillance penalties."""
    ctx, desk = _client(SurveillanceDeskClient, wallet)
    address = cli.account_address(ctx, account)
    cli.print_tx(f"penalty account is {address}", desk.set_penalty_account(address))


def reporter_policy(
    dismissal_limit: Annotated[int, typer.Argument(min=0, help="Dismissed reports allowed.")],
    points: Annotated[int, typer.Argument(min=0, help="Reputation points taken beyond it.")],
    wallet: WalletOpt = "regulator",
) -> None:
    """How many dismissed reports a reporter may file before it loses POINTS per report."""
    _, desk = _client(SurveillanceDeskClient, wallet)
    receipt = desk.set_reporter_policy(dismissal_limit, points)
    cli.print_tx(f"reporter policy: {dismissal_limit} dismissals, {points} points", receipt)


def thresholds(
    warning: Annotated[int, typer.Argument(min=0, help="Warning score.")],
    removal: Annotated[int, typer.Argument(min=0, help="Removal score.")],
    reward: Annotated[int, typer.Argument(min=0, help="Reward score.")],
    wallet: WalletOpt = "regulator",
) -> None:
    """The reputation scores that warn, remove and reward a node."""
    _, ledger = _client(ReputationLedgerClient, wallet)
    receipt = ledger.set_thresholds(warning, removal, reward)
    cli.print_tx(f"thresholds warning {warning}, removal {removal}, reward {reward}", receipt)


def register(app: typer.Typer) -> None:
    """Add the parameter commands to the ``regulator`` app."""
    app.command("quota")(set_quota)
    app.command("type-weight")(type_weight)
    app.command("fund-account")(fund_account)
    app.command("penalty-account")(penalty_account)
    app.command("reporter-policy")(reporter_policy)
    app.command("thresholds")(thresholds)
