"""``gridledger desk``: the trading center's service desk (complaints and requests, the
knowledge base, announcements; docs/desk.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger import cli_support as cli
from ledger import tls as cli_tls
from node.desk.errors import DeskForbiddenError
from node.desk.service import Desk
from node.desk.states import Actor, DeskRole
from node.desk.store import ComplaintOut, Links

app = typer.Typer(
    help="The service desk: complaints, knowledge base, announcements.", no_args_is_help=True
)
kb_app = typer.Typer(help="The knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the desk database (default: a SQLite "
        "file desk/desk.db in the data directory).",
    ),
]
IdArg = Annotated[int, typer.Argument(min=1, max=2**62, help="The complaint's number.")]
OptId = Annotated[int | None, typer.Option(min=0, help="A linked id.")]


def _desk(db: str | None) -> Desk:
    return Desk(cli.make_context().settings, db)


def _acting(db: str | None, wallet: str) -> tuple[Desk, Actor]:
    """The desk and the wallet as an actor (its role from its roles on chain)."""
    desk = _desk(db)
    return desk, desk.actor(cli.signer(desk.ctx, wallet))


#: A filing's fields the complaint's own lines already show.
_SHOWN = ("body", "title", "category", "kind")


def _line(c: ComplaintOut) -> str:
    flag = " OVERDUE" if c.overdue else ""
    who = f" -> {c.assignee}" if c.assignee else ""
    return f"#{c.id} [{c.state}{flag}] {c.category}/{c.kind} {c.title} (by {c.filer}{who})"


@app.command("file")
def file(
    category: Annotated[str, typer.Argument(help="The category (see docs/desk.md).")],
    title: Annotated[str, typer.Argument(help="A one-line summary.")],
    wallet: cli.WalletOpt,
    body: Annotated[str, typer.Option(help="What happened.")] = "",
    kind: Annotated[str, typer.Option(help="complaint or request.")] = "complaint",
    trade_id: OptId = None,
    contract_id: OptId = None,
    bill: Annotated[str | None, typer.Option(help="A linked bill (hash or number).")] = None,
    meter: Annotated[str | None, typer.Option(help="A linked meter id.")] = None,
    attach: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="A file to attach.")
    ] = None,
    db: DbOpt = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """File a complaint or request as WALLET."""
    desk, actor = _acting(db, wallet)
    links = Links(trade_id=trade_id, contract_id=contract_id, bill=bill, meter=meter)
    filed = desk.store.file(actor, category, title, body or title, kind=kind, links=links)
    if attach is not None:
        desk.store.attach(actor, filed.id, attach.name, attach.read_bytes())
    if as_json:
        cli.print_json(filed)
    else:
        cli.console.print(f"filed {_line(filed)}; due {cli.short_time(filed.due_at)}", markup=False)


@app.command("list")
def list_(
    wallet: cli.WalletOpt,
    state: Annotated[str | None, typer.Option(help="new, in_progress, resolved, closed.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones.")] = False,
    db: DbOpt = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """Complaints WALLET may see (staff: all; a participant: its own), newest first."""
    desk, actor = _acting(db, wallet)
    if state is not None and state not in ("new", "in_progress", "resolved", "closed"):
        raise typer.BadParameter(f"unknown state {state!r}", param_hint="--state")
    found = desk.store.complaints(actor, state=state, category=category, overdue=overdue)
    if as_json:
        cli.print_json(found)
        return
    for c in found:
        cli.console.print(_line(c), markup=False)


@app.command("show")
def show(
    complaint_id: IdArg, wallet: cli.WalletOpt, db: DbOpt = None, as_json: cli.JsonOpt = False
) -> None:
    """A complaint with its tracking (every change, who and when) and attachments."""
    desk, actor = _acting(db, wallet)
    detail = desk.store.show(actor, complaint_id)
    if as_json:
        cli.print_json(detail)
        return
    cli.console.print(_line(detail), markup=False)
    cli.console.print(detail.body, markup=False)
    for ch in detail.changes:
        moved = (
            f"{ch.from_state} -> {ch.to_state}"
            if ch.from_state and ch.from_state != ch.to_state
            else ch.to_state
        )
        shown = {k: v for k, v in ch.data.items() if v not in (None, "") and k not in _SHOWN}
        if "due_at" in shown:
            shown["due_at"] = cli.short_time(int(shown["due_at"]))
        extra = " " + ", ".join(f"{k}: {v}" for k, v in sorted(shown.items())) if shown else ""
        cli.console.print(
            f"  change #{ch.id} {cli.short_time(ch.at)} {ch.action} {moved} by "
            f"{ch.actor} ({ch.actor_role}){extra}",
            markup=False,
        )
    for a in detail.attachments:
        cli.console.print(
            f"  attachment {a.id} {a.name} {a.size} B sha256 {a.sha256}", markup=False
        )


@app.command("assign")
def assign(
    complaint_id: IdArg, assignee: cli.AddressArg, wallet: cli.WalletOpt, db: DbOpt = None
) -> None:
    """The operator assigns a complaint to ASSIGNEE."""
    desk, actor = _acting(db, wallet)
    cli.console.print(_line(desk.store.assign(actor, complaint_id, assignee)), markup=False)


@app.command("move")
def move(
    complaint_id: IdArg,
    state: Annotated[str, typer.Argument(help="in_progress, resolved or closed.")],
    wallet: cli.WalletOpt,
    note: Annotated[str, typer.Option(help="Why (kept in the tracking).")] = "",
    db: DbOpt = None,
) -> None:
    """Move a complaint (new -> in_progress -> resolved -> closed; resolved may reopen)."""
    desk, actor = _acting(db, wallet)
    cli.console.print(_line(desk.store.move(actor, complaint_id, state, note)), markup=False)


@app.command("rate")
def rate(
    complaint_id: IdArg,
    rating: Annotated[int, typer.Argument(min=1, max=5, help="1 (poor) .. 5 (excellent).")],
    wallet: cli.WalletOpt,
    comment: Annotated[str, typer.Option(help="A comment on the resolution.")] = "",
    db: DbOpt = None,
) -> None:
    """The filer rates the resolution of its complaint."""
    desk, actor = _acting(db, wallet)
    c = desk.store.rate(actor, complaint_id, rating, comment)
    cli.console.print(f"rated #{c.id}: {c.rating}/5", markup=False)


@app.command("anchor")
def anchor(wallet: cli.WalletOpt, db: DbOpt = None, as_json: cli.JsonOpt = False) -> None:
    """The OPERATOR anchors the changes since the last batch on chain (DeskAnchor)."""
    from node.desk.anchoring import anchor as anchor_batch

    desk = _desk(db)
    account = cli.signer(desk.ctx, wallet)
    if desk.role_of(account.address) != DeskRole.operator:
        raise DeskForbiddenError(f"{wallet} ({account.address}) does not hold OPERATOR")
    done = anchor_batch(desk.store, desk.anchor_client(account))
    if as_json:
        cli.print_json(done)
        return
    cli.console.print(
        f"anchored batch {done.batch}: changes #{done.first_change}.."
        f"#{done.first_change + done.count - 1} root {done.root} in tx "
        f"{done.tx_hash}",
        markup=False,
    )


@app.command("verify")
def verify(db: DbOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Re-hash the desk database against the anchored batches; exit 1 naming the first
    edited record."""
    from node.desk.anchoring import check
    from node.desk.anchoring import verify as verify_db

    desk = _desk(db)
    report = verify_db(desk.store, desk.anchor_client())
    if as_json:
        cli.print_json(report)
    check(report)
    if not as_json:
        cli.console.print(
            f"desk database intact: {report.changes} changes, "
            f"{report.anchored_changes} anchored in {report.batches} batches"
        )


@kb_app.command("add")
def kb_add(
    title: Annotated[str, typer.Argument(help="The article's title.")],
    wallet: cli.WalletOpt,
    body: Annotated[str, typer.Option(help="The article's text.")] = "",
    tags: Annotated[str, typer.Option(help="Comma-separated tags.")] = "",
    db: DbOpt = None,
) -> None:
    """Staff (operator or regulator) add a knowledge-base article."""
    desk, actor = _acting(db, wallet)
    article = desk.kb.add_article(actor, title, body or title, tags.split(","))
    cli.console.print(f"article {article.id}: {article.title}", markup=False)


@kb_app.command("search")
def kb_search(
    query: Annotated[str, typer.Argument(help="Words to find (all of them).")],
    db: DbOpt = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """Full-text search of the knowledge base, best match first."""
    found = _desk(db).kb.search(query)
    if as_json:
        cli.print_json(found)
        return
    if not found:
        cli.console.print("no article matches")
    for a in found:
        cli.console.print(f"{a.id}: {a.title} [{', '.join(a.tags)}]", markup=False)


@app.command("announce")
def announce(
    title: Annotated[str, typer.Argument(help="The announcement's title.")],
    wallet: cli.WalletOpt,
    body: Annotated[str, typer.Option(help="Its text.")] = "",
    db: DbOpt = None,
) -> None:
    """The operator or the regulator announces (shown in the feed)."""
    desk, actor = _acting(db, wallet)
    a = desk.kb.announce(actor, title, body or title)
    cli.console.print(f"announcement {a.id} by {a.author_role}: {a.title}", markup=False)


@app.command("feed")
def feed(db: DbOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Announcements with the surveillance desk's on-chain ones, newest first."""
    items, chain = _desk(db).feed()
    if as_json:
        cli.print_json({"chain_included": chain, "items": [i.model_dump() for i in items]})
        return
    if not chain:
        cli.err_console.print("the chain is unavailable: on-chain announcements left out")
    for i in items:
        cli.console.print(f"{cli.short_time(i.at)} [{i.source}] {i.title}: {i.body}", markup=False)


@app.command("serve")
def serve(
    keys: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Staff API keys {key: role}.")
    ] = None,
    host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8900,
    db: DbOpt = None,
    insecure_http: cli_tls.InsecureOpt = False,
) -> None:
    """Serve the desk's HTTP API (TLS with the gateway's certificate of ``tls init``)."""
    import uvicorn

    from ledger.webauth import ApiKeys
    from node.desk.api import create_app

    desk = _desk(db)
    api_keys = ApiKeys.load(keys, setting="--keys")
    tls_kwargs = cli_tls.uvicorn_ssl_kwargs(desk.settings, "gateway", insecure_http=insecure_http)
    scheme = "http" if insecure_http else "https"
    cli.console.print(f"service desk on {scheme}://{host}:{port}/docs")
    uvicorn.run(create_app(desk, api_keys), host=host, port=port, log_level="warning", **tls_kwargs)
