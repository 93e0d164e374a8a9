"""``gridledger notify check|run|list|channels``: a participant's notification centre.

``check`` runs one pass (derive the reminders, record the new ones once, send queued
e-mail), ``run`` repeats it every ``--interval`` seconds, ``list`` shows the recorded
reminders, ``channels`` shows or sets the channels per kind and the e-mail address. The
participant is given as an address or a wallet name (no password: the checks only read).
See docs/notifications.md.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli_support import JsonOpt, account_address, console, make_context, print_json
from ledger.context import LedgerContext
from ledger.errors import ValidationError
from node.notify.centre import PassResult, check, load_issues
from node.notify.reminders import KINDS
from node.notify.store import Channels, NotifyStore

app = typer.Typer(
    help="Notification centre: reminders in the portal and by e-mail, sent once.",
    no_args_is_help=True,
)

#: The participant (an address or a wallet name; no password: the checks only read). The
#: parameter is ``party`` everywhere, as other address-or-wallet parameters are.
PartyOpt = Annotated[
    str,
    typer.Option("--wallet", "-w", help="The participant: a wallet name or an address (0x...)."),
]
IssuesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--issues",
        help="Retail issue file(s) or a directory of them: the consumer's bills (repeatable).",
    ),
]


def _open(party: str) -> tuple[LedgerContext, str, NotifyStore]:
    ctx = make_context()
    return ctx, account_address(ctx, party), NotifyStore.in_dir(ctx.settings.data_dir)


def _report(result: PassResult) -> None:
    for r in result.new:
        console.print(f"{r.at}  {r.kind:9} {r.title}: {r.detail}")
    line = f"{len(result.new)} new reminders; e-mail sent {result.sent}"
    if result.failed:
        line += f", {result.failed} queued for retry ({result.error})"
    console.print(line)


@app.command("check")
def check_cmd(party: PartyOpt, issues: IssuesOpt = None, json_out: JsonOpt = False) -> None:
    """One pass: record the new reminders (each once) and send queued e-mail."""
    ctx, me, store = _open(party)
    try:
        result = check(ctx, me, store, issues=load_issues(issues or []))
    finally:
        store.close()
    if json_out:
        print_json(result)
        return
    _report(result)


@app.command("run")
def run_cmd(
    party: PartyOpt,
    issues: IssuesOpt = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between passes.")
    ] = 60.0,
    rounds: Annotated[int, typer.Option("--rounds", min=0, help="Passes (0: until Ctrl-C).")] = 0,
) -> None:
    """Keep checking: a pass every INTERVAL seconds (e-mail that failed is retried)."""
    ctx, me, store = _open(party)
    batches = load_issues(issues or [])
    done = 0
    try:
        while True:
            _report(check(ctx, me, store, issues=batches))
            done += 1
            if rounds and done >= rounds:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        store.close()


@app.command("list")
def list_cmd(
    party: PartyOpt,
    all_: Annotated[
        bool, typer.Option("--all", help="Also reminders whose portal channel is off.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """The recorded reminders, newest first (unread marked *)."""
    _ctx, me, store = _open(party)
    try:
        rows = store.inbox(me, include_hidden=all_)
    finally:
        store.close()
    if json_out:
        print_json(rows)
        return
    for r in rows:
        mark = " " if r.read_at else "*"
        console.print(f"{mark} {r.at}  {r.kind:9} {r.title}: {r.detail}")
    if not rows:
        console.print("no reminders")


def _switch(value: str | None, current: bool, name: str) -> bool:
    if value is None:
        return current
    if value not in ("on", "off"):
        raise ValidationError(f"--{name} takes on or off, not {value!r}")
    return value == "on"


@app.command("channels")
def channels_cmd(
    party: PartyOpt,
    kind: Annotated[
        str | None, typer.Argument(help=f"The kind to set: {', '.join(KINDS)} (or all).")
    ] = None,
    portal: Annotated[str | None, typer.Option("--portal", help="on or off.")] = None,
    mail: Annotated[str | None, typer.Option("--mail", help="on or off.")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="E-mail address ('' removes it).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the channels per kind, or set KIND's (--portal/--mail on|off) and the address."""
    _ctx, me, store = _open(party)
    try:
        if kind is not None and kind != "all" and kind not in KINDS:
            raise ValidationError(f"unknown kind {kind!r}: one of {', '.join(KINDS)} or all")
        if kind is None and (portal is not None or mail is not None):
            raise ValidationError("name the kind to set (or all)")
        if address is not None:
            if address and "@" not in address:
                raise ValidationError(f"not an e-mail address: {address!r}")
            store.set_address(me, address or None)
        current = store.channels(me)
        for k in KINDS if kind == "all" else (kind,) if kind else ():
            c = current[k]
            store.set_channels(
                me,
                Channels(
                    kind=k,
                    portal=_switch(portal, c.portal, "portal"),
                    mail=_switch(mail, c.mail, "mail"),
                ),
            )
        rows, email = store.channels(me), store.address(me)
    finally:
        store.close()
    if json_out:
        print_json({"address": email, "channels": list(rows.values())})
        return
    console.print(f"e-mail address: {email or 'none (no e-mail is sent)'}")
    for c in rows.values():
        console.print(
            f"{c.kind:9} portal {'on' if c.portal else 'off'}, e-mail {'on' if c.mail else 'off'}"
        )
