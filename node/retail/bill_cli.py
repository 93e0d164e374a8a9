"""``gridledger retail bill``: the retail bill engine offline (no chain).

Inputs are JSON files (account, package(s), published rates; see ``docs/retail-billing.md``)
and a readings file (CSV or JSON: ``meter_id, interval_start, import_wh, export_wh,
reactive_varh``). ``compute`` writes the bill as JSON, HTML, PDF and CSV; ``verify``
re-derives a bill and compares it with a given bill and/or the anchored hash and total;
``whatif`` prices past months under every offered package; ``root`` prints the anchoring
leaves and Merkle root of a month's bills; ``example`` writes sample inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ledger import cli_support as cli
from ledger.errors import ValidationError
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.bill import Bill, compute_bill
from ledger.retail.canonical import load_model
from ledger.retail.leaves import BillRef, bill_proof, bills_tree, ref_leaf
from ledger.retail.months import check_month, month_bounds
from ledger.retail.packages import ConsumerClass, RetailPackage
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import Readings, from_rows, load_file, write_csv
from ledger.retail.render import to_csv, to_html, to_pdf
from ledger.retail.samples import sample_account, sample_packages, sample_rates
from ledger.retail.verify import verify_bill
from ledger.retail.whatif import what_if
from ledger.units import fen_to_cny

bill_app = typer.Typer(
    help="Retail bills offline: compute (HTML/PDF/CSV), verify, what-if, anchoring root.",
    no_args_is_help=True,
)

AccountOpt = Annotated[Path, typer.Option("--account", help="Consumer account JSON.")]
PackageOpt = Annotated[Path, typer.Option("--package", help="Retail package JSON.")]
RatesOpt = Annotated[Path, typer.Option("--rates", help="Published rates JSON.")]
ReadingsOpt = Annotated[Path, typer.Option("--readings", help="Readings CSV or JSON.")]
MonthOpt = Annotated[int, typer.Option("--month", help="Billing month YYYYMM (local, UTC+8).")]
FORMATS = ("json", "html", "pdf", "csv")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from exc


def _inputs(
    account: Path, package: Path, rates: Path, *others: Path | None
) -> tuple[ConsumerAccount, RetailPackage, PublishedRates]:
    """The three models; every input file (``others`` too) is read before any is validated,
    so a missing file is the error whatever its place."""
    texts = [_read(p) for p in (account, package, rates)]
    for other in others:
        if other is not None:
            _read(other)
    return (
        load_model(ConsumerAccount, texts[0], str(account)),
        load_model(RetailPackage, texts[1], str(package)),
        load_model(PublishedRates, texts[2], str(rates)),
    )


def _summary(bill: Bill) -> dict[str, Any]:
    return {
        "consumer": bill.consumer,
        "retailer": bill.retailer,
        "month": bill.month,
        "total_fen": bill.total_fen,
        "total_cny": fen_to_cny(bill.total_fen),
        "bill_hash": "0x" + bill.hash.hex(),
    }


def write_bill(bill: Bill, out_dir: Path, formats: list[str]) -> list[Path]:
    """Write ``bill`` in each of ``formats`` to ``out_dir`` as ``bill-<node>-<month>.<ext>``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"bill-{bill.consumer.lower()}-{bill.month}"
    writers = {
        "json": lambda p: p.write_text(bill.model_dump_json(indent=2), encoding="utf-8"),
        "html": lambda p: p.write_text(to_html(bill), encoding="utf-8"),
        "pdf": lambda p: p.write_bytes(to_pdf(bill)),
        "csv": lambda p: p.write_text(to_csv(bill), encoding="utf-8"),
    }
    paths = []
    for fmt in formats:
        if fmt not in writers:
            raise ValidationError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        path = stem.with_suffix(f".{fmt}")
        writers[fmt](path)
        paths.append(path)
    return paths


@bill_app.command("compute")
def compute(
    account: AccountOpt,
    package: PackageOpt,
    rates: RatesOpt,
    readings: ReadingsOpt,
    month: MonthOpt,
    out: Annotated[Path, typer.Option("--out-dir", help="Where the files go.")] = Path("."),
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", help="json, html, pdf, csv (repeat; default all)."),
    ] = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """Compute a consumer's bill for a month and write it (JSON, HTML, PDF, CSV)."""
    acct, pkg, rts = _inputs(account, package, rates, readings)
    bill = compute_bill(acct, load_file(readings), pkg, rts, check_month(month))
    paths = write_bill(bill, out, formats or list(FORMATS))
    summary = _summary(bill) | {"files": [str(p) for p in paths]}
    if as_json:
        cli.print_json(summary)
        return
    table = Table("item", "quantity", "rate", "CNY")
    for line in bill.lines:
        table.add_row(
            line.name,
            f"{line.quantity} {line.quantity_unit}",
            f"{line.rate} {line.rate_unit}",
            fen_to_cny(line.amount_fen),
        )
    table.add_row("Total", "", "", fen_to_cny(bill.total_fen))
    cli.console.print(table)
    cli.console.print(f"bill hash {summary['bill_hash']}")
    for path in paths:
        cli.console.print(f"wrote {path}")


@bill_app.command("verify")
def verify(
    account: AccountOpt,
    package: PackageOpt,
    rates: RatesOpt,
    readings: ReadingsOpt,
    month: MonthOpt,
    bill: Annotated[Path | None, typer.Option("--bill", help="A bill JSON to compare.")] = None,
    bill_hash: Annotated[
        str | None, typer.Option("--hash", help="The anchored billHash (0x + 64 hex).")
    ] = None,
    total_fen: Annotated[
        int | None, typer.Option("--total-fen", help="The anchored totalFen.")
    ] = None,
) -> None:
    """Re-derive a bill from readings, package and rates; exit 1 on any difference."""
    acct, pkg, rts = _inputs(account, package, rates, readings, bill)
    given = None if bill is None else load_model(Bill, _read(bill), str(bill))
    expected = None
    if bill_hash is not None:
        try:
            expected = bytes.fromhex(bill_hash.removeprefix("0x"))
        except ValueError as exc:
            raise ValidationError(f"--hash is not hex: {bill_hash}") from exc
    verdict = verify_bill(
        acct,
        load_file(readings),
        pkg,
        rts,
        check_month(month),
        expected_hash=expected,
        expected_total_fen=total_fen,
        given=given,
    )
    summary = _summary(verdict.recomputed)
    if verdict.ok:
        cli.console.print(f"ok: {summary['total_cny']} CNY, bill hash {summary['bill_hash']}")
        return
    for line in verdict.mismatches:
        cli.console.print(f"MISMATCH {line}")
    raise typer.Exit(1)


@bill_app.command("whatif")
def whatif(
    account: AccountOpt,
    rates: RatesOpt,
    readings: ReadingsOpt,
    packages: Annotated[
        list[Path], typer.Option("--package", help="An offered package JSON (repeat).")
    ],
    months: Annotated[
        list[int] | None, typer.Option("--month", help="A past month YYYYMM (repeat).")
    ] = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """What would I have paid: the months priced under every offered package."""
    texts = [_read(p) for p in (account, rates, readings, *packages)]
    acct = load_model(ConsumerAccount, texts[0], str(account))
    rts = load_model(PublishedRates, texts[1], str(rates))
    offered = [
        load_model(RetailPackage, t, str(p)) for t, p in zip(texts[3:], packages, strict=True)
    ]
    if not months:
        raise ValidationError("give at least one --month YYYYMM")
    rows = load_file(readings)
    quotes = what_if(acct, [check_month(m) for m in months], lambda _m: rows, offered, rts)
    if as_json:
        cli.print_json([q.__dict__ | {"total_fen": q.total_fen} for q in quotes])
        return
    table = Table("package", "retailer", *[str(m) for m in months], "total CNY")
    for q in quotes:
        cells = [fen_to_cny(q.totals_fen[m]) if m in q.totals_fen else "n/a" for m in months]
        table.add_row(q.package_name, q.retailer, *cells, fen_to_cny(q.total_fen))
    cli.console.print(table)


@bill_app.command("root")
def root(
    bills: Annotated[list[Path], typer.Argument(help="Bill JSON files of one month.")],
    as_json: cli.JsonOpt = False,
) -> None:
    """The anchoring leaves, proofs and Merkle root of a month's bills (in the given order)."""
    loaded = [load_model(Bill, _read(p), str(p)) for p in bills]
    if len({b.month for b in loaded}) != 1:
        raise ValidationError("the bills are not all of one month")
    refs = [BillRef(b.consumer, b.retailer, b.month, b.hash, b.total_fen) for b in loaded]
    tree = bills_tree(refs)
    out = {
        "month": loaded[0].month,
        "root": "0x" + tree.root.hex(),
        "bills": [
            {
                "file": str(path),
                "leaf": "0x" + ref_leaf(ref).hex(),
                "bill_hash": "0x" + ref.bill_hash.hex(),
                "total_fen": ref.total_fen,
                "proof": ["0x" + p.hex() for p in bill_proof(tree, i)],
            }
            for i, (path, ref) in enumerate(zip(bills, refs, strict=True))
        ],
    }
    if as_json:
        cli.print_json(out)
        return
    cli.console.print(f"month {out['month']}: {len(refs)} bills, root {out['root']}")


@bill_app.command("example")
def example(
    out: Annotated[Path, typer.Argument(help="Where the sample inputs go.", metavar="OUT_DIR")],
    month: MonthOpt = 202607,
) -> None:
    """Write sample inputs (account, packages, rates, a month of readings) to try the others."""
    out_dir = out
    out_dir.mkdir(parents=True, exist_ok=True)
    node, retailer, meter = "0x" + "c1" * 20, "0x" + "e2" * 20, "0x" + "01" * 32
    acct = sample_account(node, ConsumerClass.industrial, [meter], capacity_kva=400)
    files = {"account.json": acct, "rates.json": sample_rates()}
    for pkg in sample_packages(retailer):
        if pkg.consumer_class == ConsumerClass.industrial:
            files[f"package-{pkg.pricing.kind}.json"] = pkg
    for name, model in files.items():
        (out_dir / name).write_text(model.model_dump_json(indent=2), encoding="utf-8")
    write_csv(_sample_readings(meter, month), out_dir / "readings.csv")
    cli.console.print(f"wrote {', '.join(sorted(files))}, readings.csv to {out_dir}")


def _sample_readings(meter: str, month: int) -> Readings:
    start, end = month_bounds(month)
    rows = []
    for n, t in enumerate(range(start, end, 900)):
        slot = n % 96
        load_wh = 20_000 + (30_000 if 32 <= slot < 76 else 0) + (n * 7919) % 5_000
        rows.append((meter, t, load_wh, 0, load_wh * 55 // 100))
    return from_rows(rows)
