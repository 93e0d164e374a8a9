"""Closure of undispatched trades and the default fund on the command line.

``gridledger node close-undispatched TRADE_ID`` (anyone, once the trade's closure deadline
passed), ``gridledger node fund`` (the fund's state, and a node's contribution and
assessment), ``gridledger node fund-contribute`` / ``fund-pay-assessment`` (a node pays its
admission contribution or its share of an allocated loss), ``gridledger node fund-require
NODE`` (anyone: block an admitted node until it contributes), ``gridledger node
fund-claim-recovery`` (a member's share of a defaulter's repayment) and ``fund-refund``
(a member that left gets its contribution back); for the OPERATOR,
``gridledger operator fund-replenish CNY``, ``fund-rate BPS`` and ``closure-grace SECONDS``.
See docs/defaults.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from web3.types import TxReceipt

from ledger import cli_support as cli
from ledger.clients.defaults import DefaultFundClient, TradeCloserClient
from ledger.clients.token import SettlementTokenClient
from ledger.errors import ValidationError
from ledger.units import fen_to_cny

NodeArg = Annotated[
    str | None, cli.address_argument("Node address or wallet (default: the wallet's).")
]
OperatorWallet = Annotated[str, cli.wallet_option("Wallet holding the OPERATOR role.")]


def _node(node: str | None, fund: DefaultFundClient) -> str:
    return node if node is not None else str(fund.sender.address)


def _paying(wallet: str) -> tuple[DefaultFundClient, SettlementTokenClient]:
    """The fund and the token, signing as ``wallet`` (which pays)."""
    if not wallet:
        raise ValidationError("give --wallet (the payer)")
    ctx = cli.make_context()
    account = cli.signer(ctx, wallet)
    return ctx.client(DefaultFundClient, account), ctx.client(SettlementTokenClient, account)


def close_undispatched(
    trade_id: Annotated[int, typer.Argument(min=1, help="The trade without a dispatch result.")],
    wallet: Annotated[str, cli.wallet_option("Wallet paying the gas (anyone).")],
) -> None:
    """Close a trade that has no dispatch result once its deadline passed: the buyer's
    escrow is refunded in full, obligations released (outcome: not dispatched)."""
    _ctx, closer = cli.contract_client(TradeCloserClient, wallet)
    receipt = closer.close_undispatched(trade_id)
    (ev,) = closer.events(receipt, "TradeClosedUndispatched")
    cli.print_tx(
        f"trade {trade_id} closed undispatched, buyer refunded "
        f"{fen_to_cny(ev['args']['refundFen'])} CNY",
        receipt,
    )


def fund(node: NodeArg = None, wallet: cli.ReadWalletOpt = None) -> None:
    """The default fund: holdings, unfunded shortfall, members' base; with a node (or a
    wallet) its contribution and assessment."""
    _ctx, client = cli.contract_client(DefaultFundClient, wallet)
    cli.console.print(
        f"default fund {fen_to_cny(client.fund_fen())} CNY, unfunded "
        f"{fen_to_cny(client.unfunded_fen())} CNY, members' base "
        f"{fen_to_cny(client.total_base_fen())} CNY, contribution rate "
        f"{client.contribution_bps()} bps of the required bond"
    )
    if node is None and wallet is None:
        return
    address = _node(node, client)
    member = client.member_of(address)
    status = (
        f"member, base {fen_to_cny(member.base_fen)} CNY"
        if member.base_fen
        else f"not a member (contribution {fen_to_cny(client.contribution_fen_of(address))} CNY)"
    )
    cli.console.print(
        f"{address}: {status}, assessment {fen_to_cny(client.assessment_of(address))} CNY, "
        f"recovery due {fen_to_cny(client.recovery_of(address))} CNY"
    )


def _pay_for(
    node: str | None,
    wallet: str,
    amount_of: Callable[[DefaultFundClient, str], int],
    pay: Callable[[DefaultFundClient, str], TxReceipt],
) -> tuple[str, int, TxReceipt]:
    """``wallet`` approves the fund for ``amount_of(node)`` and pays it: (node, amount,
    receipt)."""
    client, token = _paying(wallet)
    address = _node(node, client)
    amount = amount_of(client, address)
    token.approve(client.address, amount)
    return address, amount, pay(client, address)


def fund_contribute(
    node: NodeArg = None, wallet: Annotated[str, cli.wallet_option("Wallet that pays.")] = ""
) -> None:
    """Pay a node's admission contribution to the default fund (required bond x rate)."""
    address, amount, receipt = _pay_for(
        node, wallet, DefaultFundClient.contribution_fen_of, DefaultFundClient.contribute
    )
    cli.print_tx(f"{address} contributed {fen_to_cny(amount)} CNY", receipt)


def fund_pay_assessment(
    node: NodeArg = None, wallet: Annotated[str, cli.wallet_option("Wallet that pays.")] = ""
) -> None:
    """Pay a member's assessment (its share of a loss allocated pro rata)."""
    address, amount, receipt = _pay_for(
        node, wallet, DefaultFundClient.assessment_of, DefaultFundClient.pay_assessment
    )
    cli.print_tx(f"{address} paid its assessment of {fen_to_cny(amount)} CNY", receipt)


def fund_require(
    node: Annotated[str, cli.address_argument("The admitted node that has not contributed.")],
    wallet: Annotated[str, cli.wallet_option("Wallet paying the gas (anyone).")],
) -> None:
    """Block an admitted node's trading until it pays its fund contribution."""
    _ctx, client = cli.contract_client(DefaultFundClient, wallet)
    cli.print_tx(f"{node} blocked until it contributes", client.require_contribution(node))


AnyoneWallet = Annotated[str, cli.wallet_option("Wallet paying the gas (anyone).")]


def _member_call(
    node: str | None,
    wallet: str,
    call: Callable[[DefaultFundClient, str], TxReceipt],
    event: str,
) -> tuple[str, dict[str, int], TxReceipt]:
    """``wallet`` calls ``call`` for ``node`` (default: the wallet's): (node, the event's
    amounts, receipt)."""
    if not wallet:
        raise ValidationError("give --wallet (pays the gas)")
    _ctx, client = cli.contract_client(DefaultFundClient, wallet)
    address = _node(node, client)
    receipt = call(client, address)
    (ev,) = client.events(receipt, event)
    return address, {k: v for k, v in ev["args"].items() if isinstance(v, int)}, receipt


def fund_claim_recovery(node: NodeArg = None, wallet: AnyoneWallet = "") -> None:
    """Pay a member its share of defaulters' repayments (up to the assessments it paid)."""
    address, ev, receipt = _member_call(
        node, wallet, DefaultFundClient.claim_recovery, "RecoveryClaimed"
    )
    cli.print_tx(f"{address} recovered {fen_to_cny(ev['amountFen'])} CNY", receipt)


def fund_refund(node: NodeArg = None, wallet: AnyoneWallet = "") -> None:
    """Refund the contribution of a member that left the registry (exited or removed),
    owing nothing; it stops being a member."""
    address, ev, receipt = _member_call(
        node, wallet, DefaultFundClient.refund_contribution, "ContributionRefunded"
    )
    cli.print_tx(
        f"{address} refunded {fen_to_cny(ev['refundFen'])} CNY of its "
        f"{fen_to_cny(ev['baseFen'])} CNY contribution",
        receipt,
    )


def fund_replenish(amount: cli.AmountArg, wallet: OperatorWallet = "operator") -> None:
    """Add CNY to the default fund (OPERATOR); it first pays any unfunded shortfall."""
    amount_fen = cli.positive_fen(amount)
    client, token = _paying(wallet)
    token.approve(client.address, amount_fen)
    cli.print_tx(
        f"fund replenished with {fen_to_cny(amount_fen)} CNY", client.replenish(amount_fen)
    )


def fund_rate(
    bps: Annotated[int, typer.Argument(min=0, max=10_000, help="Bps of the required bond.")],
    wallet: OperatorWallet = "operator",
) -> None:
    """The admission contribution rate, in bps of the node's required bond (OPERATOR)."""
    _ctx, client = cli.contract_client(DefaultFundClient, wallet)
    cli.print_tx(f"contribution rate is {bps} bps", client.set_contribution_bps(bps))


def closure_grace(
    seconds: Annotated[int, typer.Argument(min=0, help="Seconds.")],
    wallet: OperatorWallet = "operator",
) -> None:
    """The grace after max(delivery end, settlement opening) before an undispatched trade
    may be closed (OPERATOR)."""
    _ctx, closer = cli.contract_client(TradeCloserClient, wallet)
    cli.print_tx(f"closure grace is {seconds} s", closer.set_closure_grace(seconds))


def register(app: typer.Typer) -> None:
    """Add the node's commands (closure, fund) to the ``node`` app."""
    app.command("close-undispatched")(close_undispatched)
    app.command("fund")(fund)
    app.command("fund-contribute")(fund_contribute)
    app.command("fund-pay-assessment")(fund_pay_assessment)
    app.command("fund-require")(fund_require)
    app.command("fund-claim-recovery")(fund_claim_recovery)
    app.command("fund-refund")(fund_refund)


def register_operator(app: typer.Typer) -> None:
    """Add the OPERATOR's commands (replenishment, rate, closure grace)."""
    app.command("fund-replenish", context_settings=cli.NUMBER_ARGS)(fund_replenish)
    app.command("fund-rate")(fund_rate)
    app.command("closure-grace")(closure_grace)
