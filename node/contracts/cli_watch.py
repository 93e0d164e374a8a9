"""``gridledger contract review|watch|notifications``: OPERATOR review of changes inside gate
closure, the deviation keeper, and a party's notification feed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_utils.crypto import keccak

from ledger.bilateral.typed import Amendment, Termination
from ledger.cli_support import (
    JsonOpt,
    ReadWalletOpt,
    console,
    make_context,
    print_json,
    print_tx,
    signer,
    wallet_option,
)
from ledger.clients.bilateral import BilateralContractsClient, ChangeKind
from ledger.clients.trading import TradingMarketClient
from ledger.context import LedgerContext
from node.contracts.keeper import watch
from node.contracts.notify import notifications

review_app = typer.Typer(
    help="OPERATOR review of co-signed changes held inside gate closure.", no_args_is_help=True
)
OperatorOpt = Annotated[str, wallet_option("The OPERATOR's wallet.")]
NoArg = Annotated[int, typer.Argument(help="Contract number.", min=1)]


def change_file(path: Path) -> tuple[dict[str, Any], Amendment | Termination]:
    """A co-signed amendment or termination file: its JSON and its message."""
    data = json.loads(path.read_text())
    if "amendment" in data:
        return data, Amendment.model_validate(data["amendment"])
    return data, Termination.model_validate(data["termination"])


def _clients(
    wallet: str | None,
) -> tuple[LedgerContext, BilateralContractsClient, TradingMarketClient]:
    ctx = make_context()
    account = signer(ctx, wallet)
    return (
        ctx,
        ctx.client(BilateralContractsClient, account),
        ctx.client(TradingMarketClient, account),
    )


@review_app.command("list")
def review_list(json_out: JsonOpt = False, wallet: ReadWalletOpt = None) -> None:
    """The changes waiting for review."""
    _ctx, client, _market = _clients(wallet)
    held = [
        (no, p)
        for no in range(1, client.contract_count() + 1)
        if (p := client.pending_change(no)).kind != ChangeKind.NONE
    ]
    if json_out:
        print_json([{"contract_no": no} | p.model_dump(mode="json") for no, p in held])
        return
    for no, p in held:
        console.print(
            f"contract {no}: {p.kind.name.lower()} {p.sequence} ({p.digest}) held at {p.held_at}, "
            f"period {p.period_id} inside gate closure"
        )
    if not held:
        console.print("no change waits for review")


@review_app.command("approve")
def review_approve(
    file: Annotated[Path, typer.Argument(help="The held co-signed amendment/termination file.")],
    wallet: OperatorOpt = "operator",
) -> None:
    """Approve a held change: it is applied."""
    _ctx, client, _market = _clients(wallet)
    _data, message = change_file(file)
    if isinstance(message, Amendment):
        receipt = client.approve_amendment(message)
    else:
        receipt = client.approve_termination(message)
    print_tx(f"approved the change of contract {message.contract_no}", receipt)


@review_app.command("reject")
def review_reject(
    no: NoArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (its hash is recorded).")],
    wallet: OperatorOpt = "operator",
) -> None:
    """Reject a held change: it is dropped."""
    _ctx, client, _market = _clients(wallet)
    reason_hash = "0x" + keccak(reason.encode()).hex()
    print_tx(f"rejected the change of contract {no}", client.reject_change(no, reason_hash))


def register(app: typer.Typer) -> None:
    """Add ``review``, ``watch`` and ``notifications`` to ``gridledger contract``."""
    app.add_typer(review_app, name="review")

    @app.command("watch")
    def watch_cmd(
        wallet: Annotated[str, wallet_option("Any funded wallet (the check is permissionless).")],
        interval: Annotated[
            float, typer.Option("--interval", help="Seconds between rounds.")
        ] = 30.0,
        rounds: Annotated[int, typer.Option("--rounds", help="Rounds (0: until Ctrl-C).")] = 0,
    ) -> None:
        """Keeper: record deviation anomalies on chain (flagDeviation) as trades dispatch."""
        _ctx, client, market = _clients(wallet)

        def report(flagged: list[tuple[int, int]]) -> None:
            for no, period in flagged:
                console.print(f"contract {no} period {period}: deviation recorded")

        total = watch(client, market, interval, rounds, report)
        console.print(f"{total} anomalies recorded")

    @app.command("notifications")
    def notifications_cmd(
        wallet: Annotated[str, wallet_option("The party's wallet.")],
        json_out: JsonOpt = False,
    ) -> None:
        """The party's feed: anomalies, reviews, upcoming milestones."""
        ctx, client, market = _clients(wallet)
        now = int(ctx.w3.eth.get_block("latest")["timestamp"])
        rows = notifications(client, market, client.sender.address, now)
        if json_out:
            print_json(rows)
            return
        for n in rows:
            console.print(
                f"{n.at}  contract {n.contract_no}  {n.kind:15} period {n.period_id}  {n.detail}"
            )
