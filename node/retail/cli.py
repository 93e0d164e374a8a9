"""``gridledger retail ...``: retail packages, bindings, bills on chain, the retailer report.

A retailer ``publish``es a package file (``ledger.retail`` RetailPackage JSON; its node keeps
the file under ``<data_dir>/retail/packages/<hash>.json`` to hand to consumers) and
``withdraw``s it; a consumer checks a package file against the chain (``package-check``)
and ``bind``s itself to a package through its retail agency contract with an account file
(ConsumerAccount JSON: only its billing terms go on chain). The retailer ``issue-bills``
(bill JSON files of one month -> Merkle root anchored, issue file with each bill's proof
written); anyone ``pay``s a bill from the issue file; ``bill-check`` re-derives a bill
(``ledger.retail.bill``) and checks it against its anchored leaf. ``report`` is the
retailer's month. The offline bill engine (``node/retail/bill_cli.py``) is mounted as
``gridledger retail bill``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from ledger.cli_support import (
    JsonOpt,
    ReadWalletOpt,
    account_address,
    console,
    contract_client,
    make_context,
    parse_time,
    print_json,
    print_tx,
    signer,
    wallet_option,
)
from ledger.clients.retail import (
    AccountTerms,
    BillBatch,
    Package,
    PackageOffer,
    RetailBillsClient,
    RetailPackagesClient,
)
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.db import engine_for_url
from ledger.errors import ValidationError
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.bill import compute_bill
from ledger.retail.canonical import canonical_json, load_model
from ledger.retail.months import check_month
from ledger.retail.packages import RetailPackage
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import Readings, from_oracle_store, load_file
from ledger.units import fen_to_cny
from node.retail.bill_cli import bill_app
from node.retail.intervals import intervals_csv
from node.retail.issue import IssuedBatch, bill_ref, check_anchored, issue, read_bill
from node.retail.report import MODES, report_csv, retailer_report

app = typer.Typer(help="Retail: packages, bindings, anchored bills and their payment.")
app.add_typer(bill_app, name="bill")

WalletOpt = Annotated[str, wallet_option("The signing wallet (keystore).")]
IdArg = Annotated[int, typer.Argument(help="Package id.", min=1)]
MonthOpt = Annotated[int, typer.Option("--month", help="Billing month YYYYMM, e.g. 202612.")]
RetailerOpt = Annotated[str | None, typer.Option("--retailer", help="Only this retailer's.")]
IssueOpt = Annotated[
    Path, typer.Option("--issue", help="The issue file of the month (issue-bills --out).")
]


def _read_json(path: Path) -> str:
    return path.read_text()


_R = TypeVar("_R", Package, BillBatch)


def _of_retailer(ctx: LedgerContext, rows: list[_R], retailer: str | None) -> list[_R]:
    """``rows`` of ``retailer`` only (all without one)."""
    if not retailer:
        return rows
    who = account_address(ctx, retailer)
    return [r for r in rows if r.retailer == who]


def _save_package(data_dir: Path, package: RetailPackage, package_hash: str) -> Path:
    """The retailer's node keeps the package JSON (the hash's preimage) for its consumers."""
    path = data_dir / "retail" / "packages" / f"{package_hash}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical_json(package))
    return path


@app.command()
def publish(
    package_file: Annotated[Path, typer.Argument(help="RetailPackage JSON file.")],
    wallet: WalletOpt,
) -> None:
    """Publish a package (an Active retailer; the package's retailer is the wallet)."""
    ctx, client = contract_client(RetailPackagesClient, wallet)
    package = load_model(RetailPackage, _read_json(package_file), str(package_file))
    if package.retailer != client.sender.address:
        raise ValidationError(
            f"the package's retailer is {package.retailer}, the wallet is {client.sender.address}"
        )
    offer = PackageOffer.of(package)
    receipt = client.publish(offer)
    kept = _save_package(ctx.settings.data_dir, package, offer.package_hash)
    print_tx(f"published package {client.published_id(receipt)} ({offer.package_hash})", receipt)
    console.print(f"kept {kept}")


@app.command()
def withdraw(package_id: IdArg, wallet: WalletOpt) -> None:
    """Withdraw a package (its retailer)."""
    _, client = contract_client(RetailPackagesClient, wallet)
    print_tx(f"withdrew package {package_id}", client.withdraw(package_id))


@app.command()
def packages(
    retailer: RetailerOpt = None,
    json_out: JsonOpt = False,
    wallet: ReadWalletOpt = None,
) -> None:
    """Published packages."""
    ctx, client = contract_client(RetailPackagesClient, wallet)
    rows = _of_retailer(ctx, client.packages(), retailer)
    if json_out:
        print_json(rows)
        return
    table = Table("id", "retailer", "class", "pricing", "two-part", "CNY/MWh", "hash", "offered")
    for p in rows:
        table.add_row(
            str(p.id),
            p.retailer,
            p.consumer_class.value,
            p.pricing_kind,
            "yes" if p.two_part else "no",
            f"{fen_to_cny(p.headline_price_fen_per_mwh)}",
            p.package_hash[:18] + "...",
            "no" if p.withdrawn_at else "yes",
        )
    console.print(table)


@app.command("package-check")
def package_check(
    package_file: Annotated[Path, typer.Argument(help="RetailPackage JSON file.")],
    wallet: ReadWalletOpt = None,
) -> None:
    """Check a package file a retailer handed over against the hash published on chain."""
    _, client = contract_client(RetailPackagesClient, wallet)
    package = load_model(RetailPackage, _read_json(package_file), str(package_file))
    offer = PackageOffer.of(package)
    package_id = client.package_id_of(offer.package_hash)
    if package_id == 0:
        raise ValidationError(f"no package with hash {offer.package_hash} is published")
    on_chain = client.package_of(package_id)
    if on_chain.retailer != package.retailer:
        raise ValidationError(
            f"package {package_id} was published by {on_chain.retailer}, not {package.retailer}"
        )
    state = "withdrawn" if on_chain.withdrawn_at else "offered"
    console.print(f"package {package_id} ({offer.package_hash}) is on chain, {state}")


@app.command()
def bind(
    package_id: IdArg,
    contract_no: Annotated[int, typer.Option("--contract", help="Retail agency contract no.")],
    account_file: Annotated[Path, typer.Option("--account", help="ConsumerAccount JSON file.")],
    valid_to: Annotated[str, typer.Option("--to", help="End (YYYY-MM-DD or unix time).")],
    wallet: WalletOpt,
    valid_from: Annotated[
        str | None, typer.Option("--from", help="Start (default: now; YYYY-MM-DD or unix).")
    ] = None,
) -> None:
    """Bind the wallet (an Active consumer) to a package through its agency contract."""
    ctx, client = contract_client(RetailPackagesClient, wallet)
    account = load_model(ConsumerAccount, _read_json(account_file), str(account_file))
    if account.node != client.sender.address:
        raise ValidationError(
            f"the account is {account.node}'s, the wallet is {client.sender.address}"
        )
    start = (
        parse_time(valid_from) if valid_from else int(ctx.w3.eth.get_block("latest")["timestamp"])
    )
    receipt = client.bind(
        package_id, contract_no, start, parse_time(valid_to), AccountTerms.of(account)
    )
    print_tx(f"bound as binding {client.bound_id(receipt)} to package {package_id}", receipt)


@app.command()
def binding(
    consumer: Annotated[str, typer.Argument(help="The consumer (address or wallet name).")],
    json_out: JsonOpt = False,
    wallet: ReadWalletOpt = None,
) -> None:
    """A consumer's bindings, latest first."""
    ctx, client = contract_client(RetailPackagesClient, wallet)
    history = client.history(account_address(ctx, consumer))
    if json_out:
        print_json(history)
        return
    if not history:
        console.print("no binding")
        return
    table = Table("id", "retailer", "package", "agency", "from", "to", "in force")
    for b in history:
        table.add_row(
            str(b.id),
            b.retailer,
            str(b.package_id),
            str(b.contract_no),
            str(b.valid_from),
            str(b.valid_to),
            "yes" if client.in_force(b.id) else "no",
        )
    console.print(table)


@app.command("issue-bills")
def issue_bills(
    bill_files: Annotated[list[Path], typer.Argument(help="Bill JSON files of one month.")],
    month: MonthOpt,
    due: Annotated[str, typer.Option("--due", help="Due date (YYYY-MM-DD or unix time).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Issue file to write.")],
    wallet: WalletOpt,
) -> None:
    """Anchor a month's bills (the retailer) and write the issue file (bills' proofs)."""
    _, client = contract_client(RetailBillsClient, wallet)
    refs = [read_bill(p) for p in bill_files]
    if any(r.month != check_month(month) for r in refs):
        raise ValidationError(f"every bill must be of month {month}")
    batch = issue(client, refs, parse_time(due))
    out.write_text(json.dumps(batch.model_dump(mode="json"), indent=2, sort_keys=True))
    console.print(
        f"anchored batch {batch.batch_id}: {len(batch.bills)} bills of {batch.month}, "
        f"{fen_to_cny(batch.total_fen)} CNY, root {batch.root}; wrote {out}"
    )


def _issued(path: Path) -> IssuedBatch:
    return load_model(IssuedBatch, _read_json(path), str(path))


@app.command()
def pay(
    issue_file: IssueOpt,
    consumer: Annotated[str, typer.Option("--consumer", help="Whose bill (address or wallet).")],
    wallet: WalletOpt,
    amount: Annotated[
        int | None, typer.Option("--amount-fen", min=1, help="Amount in fen (default: the rest).")
    ] = None,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the amount first.")] = False,
) -> None:
    """Pay (part of) a bill to its retailer in the settlement token."""
    ctx = make_context()
    account = signer(ctx, wallet)
    client = ctx.client(RetailBillsClient, account)
    batch = _issued(issue_file)
    bill = batch.bill_of(account_address(ctx, consumer))
    args = (bill.consumer, bill.bill_hash, bill.total_fen, bill.proof)
    status = client.bill_status(batch.batch_id, *args)
    amount_fen = amount if amount is not None else status.unpaid_fen
    if approve:
        ctx.client(SettlementTokenClient, account).approve(client.address, amount_fen)
    receipt = client.pay(batch.batch_id, *args, amount_fen)
    paid = status.paid_fen + amount_fen
    print_tx(
        f"paid {fen_to_cny(amount_fen)} CNY of {bill.consumer}'s bill "
        f"({fen_to_cny(paid)} of {fen_to_cny(bill.total_fen)} CNY)",
        receipt,
    )


@app.command()
def bills(
    retailer: RetailerOpt = None,
    json_out: JsonOpt = False,
    wallet: ReadWalletOpt = None,
) -> None:
    """Anchored monthly batches."""
    ctx, client = contract_client(RetailBillsClient, wallet)
    rows = _of_retailer(ctx, client.batches(), retailer)
    if json_out:
        print_json(rows)
        return
    table = Table("batch", "retailer", "month", "bills", "total CNY", "paid CNY", "due")
    for b in rows:
        table.add_row(
            str(b.id),
            b.retailer,
            str(b.month),
            str(b.count),
            f"{fen_to_cny(b.total_fen)}",
            f"{fen_to_cny(b.paid_fen)}",
            str(b.due_at),
        )
    console.print(table)


@app.command("bill-check")
def bill_check(
    issue_file: IssueOpt,
    account_file: Annotated[Path, typer.Option("--account", help="ConsumerAccount JSON file.")],
    readings_file: Annotated[Path, typer.Option("--readings", help="Readings CSV/JSON file.")],
    package_file: Annotated[Path, typer.Option("--package", help="RetailPackage JSON file.")],
    rates_file: Annotated[Path, typer.Option("--rates", help="PublishedRates JSON file.")],
    json_out: JsonOpt = False,
    wallet: ReadWalletOpt = None,
) -> None:
    """Re-derive a consumer's bill of the issue file's month from its readings, package and
    the published rates, and check it against the anchored leaf (issued proof, chain root)."""
    paths = (issue_file, account_file, readings_file, package_file, rates_file)
    issue_text, account_text, _, package_text, rates_text = (_read_json(p) for p in paths)
    _, client = contract_client(RetailBillsClient, wallet)
    batch = load_model(IssuedBatch, issue_text, str(issue_file))
    account = load_model(ConsumerAccount, account_text, str(account_file))
    package = load_model(RetailPackage, package_text, str(package_file))
    rates = load_model(PublishedRates, rates_text, str(rates_file))
    bill = compute_bill(account, load_file(readings_file), package, rates, batch.month)
    status = check_anchored(client, batch, bill_ref(bill))
    if json_out:
        print_json(status)
        return
    overdue = ", OVERDUE" if status.overdue else ""
    console.print(
        f"bill {'0x' + bill.hash.hex()} ({fen_to_cny(bill.total_fen)} CNY) re-derived and "
        f"matches its anchored leaf {status.leaf}: {fen_to_cny(status.paid_fen)} CNY paid"
        f"{overdue}"
    )


def _interval_inputs(
    account_files: list[Path], readings_files: list[Path], oracle_db: str | None, month: int
) -> tuple[list[ConsumerAccount], list[Readings]]:
    """The customers' accounts and their readings (files, or the oracle store per account)."""
    if not account_files:
        raise ValidationError("--intervals-csv needs the customers' --account files")
    if bool(readings_files) == bool(oracle_db):
        raise ValidationError("--intervals-csv needs either --readings files or --oracle-db")
    texts = [_read_json(p) for p in account_files]
    accounts = [
        load_model(ConsumerAccount, t, str(p)) for t, p in zip(texts, account_files, strict=True)
    ]
    if oracle_db:
        engine = engine_for_url(oracle_db)
        return accounts, [from_oracle_store(engine, a, month) for a in accounts]
    for path in readings_files:
        if not path.is_file():
            raise ValidationError(f"cannot read {path}: no such file")
    return accounts, [load_file(p) for p in readings_files]


@app.command()
def report(
    retailer: Annotated[str, typer.Argument(help="The retailer (address or wallet name).")],
    month: MonthOpt,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write CSV here.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--intervals-csv", help="Write the per-interval CSV here."),
    ] = None,
    account_files: Annotated[
        list[Path] | None,
        typer.Option("--account", help="A customer's ConsumerAccount JSON (repeat)."),
    ] = None,
    readings_files: Annotated[
        list[Path] | None,
        typer.Option("--readings", help="Customers' readings CSV/JSON (repeat)."),
    ] = None,
    oracle_db: Annotated[
        str | None,
        typer.Option("--oracle-db", help="The oracle store's database URL (readings)."),
    ] = None,
    json_out: JsonOpt = False,
    wallet: ReadWalletOpt = None,
) -> None:
    """A retailer's month: wholesale position against its customers' consumption (per
    period; with --intervals-csv also per 15-minute interval from the customers' readings)."""
    accounts: list[ConsumerAccount] | None = None
    readings: list[Readings] | None = None
    if out is not None:  # the per-interval CSV (--intervals-csv)
        accounts, readings = _interval_inputs(
            account_files or [], readings_files or [], oracle_db, check_month(month)
        )
    ctx = make_context()
    result = retailer_report(
        ctx,
        signer(ctx, wallet),
        account_address(ctx, retailer),
        check_month(month),
        accounts,
        readings,
    )
    if csv_file is not None:
        csv_file.write_text(report_csv(result))
    if out is not None:
        out.write_text(
            intervals_csv(result.intervals, result.wholesale_cost_fen, result.revenue_fen)
        )
    if json_out:
        print_json(result)
        return
    table = Table("period", *(f"{m} MWh" for m in MODES), "customers", "consumed MWh")
    table.add_column("deviation MWh")
    table.add_column("cost CNY")
    for p in result.periods:
        table.add_row(
            str(p.period_id),
            *(f"{p.bought_wh[m] / 1e6:,.3f}" for m in MODES),
            str(p.customers),
            f"{p.consumption_wh / 1e6:,.3f}",
            f"{p.deviation_wh / 1e6:,.3f}",
            f"{fen_to_cny(p.wholesale_cost_fen)}",
        )
    console.print(table)
    console.print(
        f"{result.month}: revenue {fen_to_cny(result.revenue_fen)} CNY ({result.bills} bills, "
        f"{fen_to_cny(result.paid_fen)} paid), wholesale cost "
        f"{fen_to_cny(result.wholesale_cost_fen)} CNY, margin "
        f"{fen_to_cny(result.margin_fen)} CNY, deviation {result.deviation_wh / 1e6:,.3f} MWh"
    )
    if out is not None:
        rows = result.intervals
        bought, used = sum(r.purchased_wh for r in rows), sum(r.consumed_wh for r in rows)
        console.print(
            f"{len(rows)} intervals: purchased {bought / 1e6:,.3f} MWh, consumed "
            f"{used / 1e6:,.3f} MWh, imbalance {(used - bought) / 1e6:,.3f} MWh "
            f"(short in {sum(r.imbalance_wh > 0 for r in rows)}); CSV {out}"
        )
