"""``gridledger verifier``: review applications, certificates and change requests."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from web3.types import TxReceipt

from ledger import cli_support as cli
from ledger.identity import IdentityVault
from node.registry.participant import Verifier

app = typer.Typer(help="The VERIFIER's review of market nodes.", no_args_is_help=True)

WalletOpt = Annotated[str, cli.wallet_option("Wallet holding the VERIFIER role.")]
QualOpt = Annotated[
    str | None, typer.Option("--qualification", help="Review this licence type's certificate.")
]
ChangeOpt = Annotated[bool, typer.Option("--change", help="Review the pending change request.")]
ReasonOpt = Annotated[
    str, typer.Option("--reason", help="Why the identity data is read (logged with the read).")
]


def _verifier(wallet: str) -> Verifier:
    ctx = cli.make_context()
    account = cli.signer(ctx, wallet)
    return Verifier(ctx, account, IdentityVault.from_settings(ctx.settings))


def _done(verb: str, receipt: TxReceipt) -> None:
    cli.console.print(f"{verb} in tx {cli.tx_hash(receipt)}")


@app.command("pending")
def pending(
    wallet: WalletOpt = "verifier",
    offset: Annotated[int, typer.Option(min=0)] = 0,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    as_json: cli.JsonOpt = False,
) -> None:
    """List applications, change requests and certificates awaiting review."""
    items = _verifier(wallet).pending(offset, limit)
    if as_json:
        cli.print_json(items)
        return
    if not items:
        cli.console.print("nothing awaits review")
        return
    table = Table("what", "node", "detail")
    for item in items:
        table.add_row(item.what, item.node, item.detail)
    cli.console.print(table)


@app.command("show")
def show(
    node: cli.AddressArg,
    reason: ReasonOpt,
    wallet: WalletOpt = "verifier",
    as_json: cli.JsonOpt = False,
) -> None:
    """Decrypt NODE's identity bundle and check it against the on-chain hashes (the read
    is logged in the identity access log with --reason)."""
    info, bundle = _verifier(wallet).show(node, reason)
    if as_json:
        cli.print_json({"node": info, "bundle": bundle})
        return
    cli.console.print(
        f"node {info.node}: {info.status.name.lower()}, {info.kind.name.lower()} "
        f"{info.side.name.lower()}, region {info.region}, {info.capacity_kw} kW"
    )
    cli.console.print("identity bundle (hash and entity hash match the chain):")
    for field, value in bundle.model_dump(exclude={"salt"}).items():
        cli.console.print(f"  {field}: {value}")


@app.command("approve")
def approve(
    node: cli.AddressArg,
    wallet: WalletOpt = "verifier",
    qualification: QualOpt = None,
    change: ChangeOpt = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Logged with the read of the identity bundle."),
    ] = None,
) -> None:
    """Approve NODE's application (after checking its bundle), a certificate or a change."""
    v = _verifier(wallet)
    if qualification is not None:
        _done(f"approved {qualification} of {node}", v.approve_qualification(node, qualification))
    elif change:
        _done(
            f"approved the change request of {node}",
            v.approve_change(node, reason or "change review"),
        )
    else:
        _done(f"approved {node}", v.approve(node, reason or "application review"))


@app.command("set-name")
def set_name(
    node: cli.AddressArg,
    name: Annotated[str, typer.Argument(help="Public display name (1-64 bytes).")],
    wallet: WalletOpt = "verifier",
) -> None:
    """Set (or correct) NODE's public display name."""
    _done(f"named {node} {name!r}", _verifier(wallet).set_display_name(node, name))


@app.command("reject")
def reject(
    node: cli.AddressArg,
    reason: Annotated[str, typer.Option(help="Reason code, e.g. DOCS_INCOMPLETE.")],
    wallet: WalletOpt = "verifier",
    qualification: QualOpt = None,
    change: ChangeOpt = False,
) -> None:
    """Reject NODE's application, a certificate or a change, with a reason code."""
    v = _verifier(wallet)
    if qualification is not None:
        receipt = v.reject_qualification(node, qualification, reason)
        _done(f"rejected {qualification} of {node} ({reason})", receipt)
    elif change:
        _done(f"rejected the change request of {node} ({reason})", v.reject_change(node, reason))
    else:
        _done(f"rejected {node} ({reason})", v.reject(node, reason))
