"""``gridledger regulator``: remove nodes and ban entities."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import cli_support as cli
from ledger.identity_audit import AccessLog, AccessLogTamperedError
from ledger.settings import get_settings
from node.regulator import config_cli
from node.regulator.api import Regulator

app = typer.Typer(help="The REGULATOR: removals, bans and market parameters.", no_args_is_help=True)

WalletOpt = Annotated[str, cli.wallet_option("Wallet holding the REGULATOR role.")]
ReasonOpt = Annotated[str, typer.Option(help="Reason code, e.g. REPEATED_VIOLATION.")]


def _regulator(wallet: str) -> Regulator:
    ctx = cli.make_context()
    return Regulator(ctx, cli.signer(ctx, wallet))


@app.command("remove")
def remove(node: cli.AddressArg, reason: ReasonOpt, wallet: WalletOpt = "regulator") -> None:
    """Remove NODE; its bond stays held for pending penalties."""
    receipt = _regulator(wallet).remove(node, reason)
    cli.console.print(f"removed {node} ({reason}) in tx {cli.tx_hash(receipt)}")


@app.command("ban")
def ban(node: cli.AddressArg, reason: ReasonOpt, wallet: WalletOpt = "regulator") -> None:
    """Ban NODE's legal entity permanently (removing its enrolled node)."""
    receipt = _regulator(wallet).ban(node, reason)
    cli.console.print(f"banned the entity of {node} ({reason}) in tx {cli.tx_hash(receipt)}")


@app.command("return-bond")
def return_bond(node: cli.AddressArg, wallet: WalletOpt = "regulator") -> None:
    """Return the bond held since NODE's removal (no open obligations left)."""
    receipt = _regulator(wallet).return_held_bond(node)
    cli.console.print(f"returned the held bond of {node} in tx {cli.tx_hash(receipt)}")


@app.command("audit-log")
def audit_log(
    verify: Annotated[
        bool, typer.Option("--verify", help="Re-hash the chain; exit 1 when it is broken.")
    ] = False,
    after: Annotated[int, typer.Option(min=0, help="Only entries after this number.")] = 0,
    as_json: cli.JsonOpt = False,
) -> None:
    """List the identity access log (every read of decrypted identity data)."""
    log = AccessLog.from_settings(get_settings())
    if verify:
        check = log.verify()
        if not check.ok:
            raise AccessLogTamperedError(f"identity access log is broken: {check.problem}")
        if as_json:
            cli.print_json(check)
        else:
            cli.console.print(
                f"identity access log intact: {check.entries} entries, head "
                f"#{check.head_seq} {check.head_hash}"
            )
        return
    entries = log.entries(after)
    if as_json:
        cli.print_json(entries)
        return
    for e in entries:
        cli.console.print(
            f"#{e.seq} {e.at} {e.role} {e.reader} read {e.address} record "
            f"{e.record_id or '-'} ({e.outcome}): {e.reason}",
            markup=False,
        )


config_cli.register(app)
