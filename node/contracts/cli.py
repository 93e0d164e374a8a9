"""``gridledger contract ...``: bilateral contracts from negotiation to archive.

Negotiation steps travel as envelope files (``propose``/``counter``/``accept``/``reject``
write one, ``receive`` checks and stores the counterparty's); each party's desk keeps its
signed messages in ``<data_dir>/contracts/<address>.db``. Then both ``sign`` the accepted
terms and either ``register``s them. Amendments and terminations are files both parties
``cosign`` before one submits them. ``verify`` checks a bundle with no network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_utils.crypto import keccak
from rich.table import Table

from ledger.bilateral.archive import build_bundle, document_of
from ledger.bilateral.bundle import Bundle, verify_bundle
from ledger.bilateral.templates import TEMPLATES, template_by_key
from ledger.bilateral.typed import Amendment, check_signed_by
from ledger.cli_support import (
    JsonOpt,
    ReadWalletOpt,
    address_option,
    console,
    make_context,
    print_json,
    print_tx,
    signer,
    wallet_option,
)
from ledger.clients.bilateral import AnomalyKind, BilateralContractsClient
from ledger.clients.trading import TradingMarketClient
from ledger.errors import ValidationError
from ledger.units import wh_to_mwh_trimmed
from node.contracts.cli_watch import change_file
from node.contracts.cli_watch import register as register_watch
from node.contracts.desk import ContractDesk, Envelope
from node.contracts.store import MessageStore, default_url
from node.contracts.tracking import contracts_of, execution

app = typer.Typer(help="Bilateral contracts: negotiate, sign, register, track, archive.")
register_watch(app)

WalletOpt = Annotated[str, wallet_option("The party's wallet (keystore).")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="File to write.")]
FieldsOpt = Annotated[Path, typer.Option("--fields", help="JSON file of the template fields.")]
TemplateOpt = Annotated[
    str, typer.Option("--template", help="Template kind[@version], e.g. wholesale.")
]
NoteOpt = Annotated[str, typer.Option("--note", help="A note signed with the step.")]
NoArg = Annotated[int, typer.Argument(help="Contract number.", min=1)]
NidArg = Annotated[str, typer.Argument(help="Negotiation id (0x...).")]


def _desk(wallet: str) -> ContractDesk:
    ctx = make_context()
    account = signer(ctx, wallet)
    store = MessageStore(default_url(ctx.settings.data_dir, account.address))
    return ContractDesk(ctx, account, store)


def _reader(wallet: str | None) -> BilateralContractsClient:
    ctx = make_context()
    return ctx.client(BilateralContractsClient, signer(ctx, wallet))


def _fields(path: Path) -> dict[str, Any]:
    values = json.loads(path.read_text())
    if not isinstance(values, dict):
        raise ValidationError(f"{path}: the fields must be a JSON object")
    return values


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    console.print(f"wrote {path}")


def _send(envelope: Envelope, out: Path) -> None:
    _write(out, envelope.model_dump(mode="json"))
    step = envelope.step
    console.print(f"{step.kind} (step {step.step}) of negotiation {step.negotiation_id}")


@app.command()
def templates(json_out: JsonOpt = False, wallet: ReadWalletOpt = None) -> None:
    """The templates, their hashes and on-chain ids (0: not published)."""
    published = {t.template_hash: t.id for t in _reader(wallet).templates()}
    rows = [
        {
            "key": k,
            "title": t.title,
            "hash": t.template_hash(),
            "id": published.get(t.template_hash(), 0),
        }
        for k, t in sorted(TEMPLATES.items())
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("template", "title", "on-chain id", "hash")
    for r in rows:
        table.add_row(str(r["key"]), str(r["title"]), str(r["id"]), str(r["hash"]))
    console.print(table)


@app.command()
def publish(template: TemplateOpt, wallet: WalletOpt = "operator") -> None:
    """Publish a template's hash on chain (OPERATOR)."""
    ctx = make_context()
    client = ctx.client(BilateralContractsClient, signer(ctx, wallet))
    t = template_by_key(template)
    print_tx(f"published {t.key}", client.publish_template(t.kind, t.version, t.template_hash()))


@app.command()
def propose(
    template: TemplateOpt, fields: FieldsOpt, out: OutOpt, wallet: WalletOpt, note: NoteOpt = ""
) -> None:
    """Open a negotiation: a filled template, signed; the envelope goes to the counterparty."""
    _send(_desk(wallet).propose(template, _fields(fields), note), out)


@app.command()
def receive(
    envelope: Annotated[Path, typer.Argument(help="Envelope file.")], wallet: WalletOpt
) -> None:
    """Check and store the counterparty's step."""
    stored = _desk(wallet).receive(Envelope.model_validate_json(envelope.read_text()))
    console.print(f"stored {stored.message.kind} from {stored.signer}")  # type: ignore[union-attr]


@app.command()
def counter(
    nid: NidArg, fields: FieldsOpt, out: OutOpt, wallet: WalletOpt, note: NoteOpt = ""
) -> None:
    """Answer the last step with other fields."""
    _send(_desk(wallet).counter(nid, _fields(fields), note), out)


@app.command()
def accept(nid: NidArg, out: OutOpt, wallet: WalletOpt, note: NoteOpt = "") -> None:
    """Accept the last step's terms."""
    _send(_desk(wallet).accept(nid, note), out)


@app.command()
def reject(nid: NidArg, out: OutOpt, wallet: WalletOpt, note: NoteOpt = "") -> None:
    """Reject the last step (the negotiation closes)."""
    _send(_desk(wallet).reject(nid, note), out)


@app.command()
def negotiation(nid: NidArg, wallet: WalletOpt, json_out: JsonOpt = False) -> None:
    """A negotiation's stored steps, every signature re-checked."""
    desk = _desk(wallet)
    desk.store.verify(nid)
    steps = desk.store.steps(nid)
    if json_out:
        print_json([s.model_dump(mode="json") for s in steps])
        return
    for s in steps:
        console.print(f"{s.message.step} {s.message.kind:8} by {s.signer}  {s.message.note}")  # type: ignore[union-attr]


@app.command()
def sign(nid: NidArg, wallet: WalletOpt) -> None:
    """Co-sign the accepted terms; prints the signature for the registrant."""
    desk = _desk(wallet)
    agreement = desk.agreement(nid)
    signature = desk.sign_terms(nid)
    console.print(f"document {agreement.document.document_hash}")
    typer.echo(signature)


@app.command()
def register(
    nid: NidArg,
    seller_sig: Annotated[str, typer.Option("--seller-sig", help="Seller's signature (0x...).")],
    buyer_sig: Annotated[str, typer.Option("--buyer-sig", help="Buyer's signature (0x...).")],
    wallet: WalletOpt,
) -> None:
    """Register the accepted terms co-signed by both; prints the contract number."""
    no = _desk(wallet).register(nid, seller_sig, buyer_sig)
    console.print(f"registered contract {no}")


@app.command("list")
def list_(
    party: Annotated[str | None, address_option("--party", "Only this party's contracts.")] = None,
    json_out: JsonOpt = False,
    wallet: ReadWalletOpt = None,
) -> None:
    """Registered contracts."""
    client = _reader(wallet)
    rows = contracts_of(client, party) if party else client.contracts()
    if json_out:
        print_json(rows)
        return
    table = Table("no", "status", "seller", "buyer", "periods", "price fen/MWh")
    for c in rows:
        span = f"{c.first_period_id}..{c.last_period_id}"
        table.add_row(
            str(c.contract_no),
            c.status.name.lower(),
            c.seller,
            c.buyer,
            span,
            str(c.price_fen_per_mwh),
        )
    console.print(table)


@app.command()
def show(no: NoArg, json_out: JsonOpt = False, wallet: ReadWalletOpt = None) -> None:
    """A contract: its record, schedule with execution, and history."""
    ctx = make_context()
    desk_account = signer(ctx, wallet)
    client = ctx.client(BilateralContractsClient, desk_account)
    tracked = execution(client, ctx.client(TradingMarketClient, desk_account), no)
    if json_out:
        print_json(
            {
                "contract": client.contract_of(no).model_dump(mode="json"),
                "execution": tracked.model_dump(mode="json"),
            }
        )
        return
    c = client.contract_of(no)
    console.print(
        f"contract {no} ({c.status.name.lower()}): {c.seller} -> {c.buyer}, "
        f"document {c.document_hash}"
    )
    table = Table(
        "period", "contracted MWh", "executed MWh", "settled fen", "trade", "status", "anomaly"
    )
    for p in tracked.periods:
        table.add_row(
            str(p.period_id),
            wh_to_mwh_trimmed(p.contracted_wh),
            wh_to_mwh_trimmed(p.executed_wh),
            str(p.settled_fen),
            str(p.trade_id or "-"),
            p.trade_status,
            p.anomaly or "-",
        )
    console.print(table)
    console.print(f"completion {tracked.completion_bps / 100:.2f} %, anomalies {tracked.anomalies}")


@app.command()
def form(
    no: NoArg,
    period: Annotated[int, typer.Argument(help="Delivery period id.", min=1)],
    wallet: WalletOpt,
    approve: Annotated[
        bool, typer.Option("--approve", help="As the buyer, first approve the exact escrow.")
    ] = False,
) -> None:
    """Form a period's scheduled quantity as a trade (the buyer prepays its escrow)."""
    trade_id = _desk(wallet).form_period(no, period, approve=approve)
    console.print(f"contract {no} period {period}: trade {trade_id}")


@app.command()
def milestones(wallet: WalletOpt, json_out: JsonOpt = False) -> None:
    """What is due on the wallet's contracts: deliveries, payments, expiry, renewal."""
    desk = _desk(wallet)
    now = int(desk.ctx.w3.eth.get_block("latest")["timestamp"])
    rows = desk.milestones(now)
    if json_out:
        print_json(rows)
        return
    for m in rows:
        console.print(
            f"{m.at}  contract {m.contract_no}  {m.kind:12} period {m.period_id}  {m.detail}"
        )


@app.command()
def amendment(
    no: NoArg, template: TemplateOpt, fields: FieldsOpt, out: OutOpt, wallet: WalletOpt
) -> None:
    """Write (and sign) the next amendment of a contract with new fields."""
    desk = _desk(wallet)
    message, _document = desk.amendment(no, _fields(fields), template)
    _write(
        out,
        {
            "amendment": message.model_dump(mode="json"),
            "signatures": {desk.account.address: desk.sign_message(no, message)},
        },
    )


@app.command()
def termination(
    no: NoArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (its hash is signed).")],
    out: OutOpt,
    wallet: WalletOpt,
) -> None:
    """Write (and sign) a termination by mutual consent."""
    desk = _desk(wallet)
    message = desk.termination(no, reason)
    _write(
        out,
        {
            "termination": message.model_dump(mode="json"),
            "signatures": {desk.account.address: desk.sign_message(no, message)},
        },
    )


@app.command()
def cosign(
    file: Annotated[Path, typer.Argument(help="Amendment or termination file.")], wallet: WalletOpt
) -> None:
    """Add this party's signature to an amendment or termination file."""
    desk = _desk(wallet)
    data, message = change_file(file)
    data["signatures"][desk.account.address] = desk.sign_message(message.contract_no, message)
    _write(file, data)


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(help="Co-signed amendment or termination file.")],
    wallet: WalletOpt,
) -> None:
    """Submit a co-signed amendment or termination."""
    desk = _desk(wallet)
    data, message = change_file(file)
    c = desk.client.contract_of(message.contract_no)
    sigs = {k.lower(): v for k, v in data["signatures"].items()}
    seller_sig, buyer_sig = sigs.get(c.seller.lower(), ""), sigs.get(c.buyer.lower(), "")
    for party, sig in ((c.seller, seller_sig), (c.buyer, buyer_sig)):
        if sig:
            check_signed_by(desk.domain, message, sig, party)
    if isinstance(message, Amendment):
        receipt = desk.client.amend(message, seller_sig, buyer_sig)
        verb = "amended"
    else:
        receipt = desk.client.terminate(message, seller_sig, buyer_sig)
        verb = "terminated"
    if desk.client.events(receipt, "ChangeHeld"):
        verb = "held for OPERATOR review (inside gate closure) the change of"
    print_tx(f"{verb} contract {message.contract_no}", receipt)


@app.command("terminate-for-cause")
def terminate_for_cause(no: NoArg, wallet: WalletOpt) -> None:
    """End a contract whose party was removed or banned."""
    print_tx(f"terminated contract {no} for cause", _desk(wallet).client.terminate_for_cause(no))


@app.command()
def anomaly(
    no: NoArg,
    period: Annotated[int, typer.Argument(help="Delivery period id.", min=1)],
    kind: Annotated[str, typer.Option("--kind", help="deviation, fee-dispute or other.")],
    detail: Annotated[str, typer.Option("--detail", help="What happened (its hash is recorded).")],
    wallet: WalletOpt,
) -> None:
    """Record an anomaly against a contract (a party or the OPERATOR)."""
    desk = _desk(wallet)
    kinds = {
        "deviation": AnomalyKind.DEVIATION,
        "fee-dispute": AnomalyKind.FEE_DISPUTE,
        "other": AnomalyKind.OTHER,
    }
    if kind not in kinds:
        raise ValidationError(f"--kind must be one of {', '.join(kinds)}: {kind!r}")
    detail_hash = "0x" + keccak(detail.encode()).hex()
    print_tx(
        f"recorded {kind} on contract {no}",
        desk.client.record_anomaly(no, period, kinds[kind], detail_hash),
    )


@app.command()
def check(no: NoArg, wallet: WalletOpt) -> None:
    """Record on chain the anomalies tracking finds that are not recorded yet."""
    periods = _desk(wallet).record_anomalies(no)
    console.print(f"contract {no}: anomalies recorded in periods {periods or 'none'}")


@app.command()
def document(
    no: NoArg,
    template: TemplateOpt,
    fields: FieldsOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Writes OUT.html and OUT.pdf.")],
    wallet: ReadWalletOpt = None,
) -> None:
    """Render a contract's document from its fields (checked against the chain)."""
    doc = document_of(_reader(wallet), no, template, _fields(fields))
    out.with_suffix(".html").write_text(doc.html)
    out.with_suffix(".pdf").write_bytes(doc.pdf)
    console.print(f"document {doc.document_hash} (PDF {doc.pdf_hash})")


@app.command()
def bundle(
    no: NoArg, template: TemplateOpt, fields: FieldsOpt, out: OutOpt, wallet: ReadWalletOpt = None
) -> None:
    """Write a contract's offline verification bundle."""
    built = build_bundle(_reader(wallet), no, template, _fields(fields))
    out.write_text(built.model_dump_json(indent=2))
    console.print(f"wrote {out}")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="Bundle file.")], json_out: JsonOpt = False
) -> None:
    """Verify a bundle with no network (exit 1 on the first failing check)."""
    report = verify_bundle(Bundle.model_validate_json(file.read_text()))
    if json_out:
        print_json(report)
        return
    for line in report.checks:
        console.print(f"ok: {line}")
    console.print(f"contract {report.contract_no} verified")
