"""A bill as HTML (Jinja2), PDF (fpdf2) and CSV; all three byte-for-byte reproducible.

The PDF uses the core Helvetica font (as :mod:`ledger.bilateral.render` does: no CJK font
ships with the project), so its text is the bill's English line names; the HTML adds the
Chinese name of each kind of line. The PDF's creation date is fixed, so re-rendering a bill
gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fpdf import FPDF
from jinja2 import Environment, StrictUndefined

from ledger.retail.bill import Bill
from ledger.retail.lines import LineItem
from ledger.units import fen_to_cny

#: The PDF's fixed creation date (reproducible bytes).
PDF_DATE = datetime(2026, 1, 1, tzinfo=UTC)
#: Chinese names of the kinds of line (by code prefix), shown in the HTML.
ZH_NAMES = {
    "energy": "电度电费",
    "td": "输配电费",
    "basic": "基本电费",
    "pf_adjustment": "功率因数调整电费",
    "fund": "政府性基金及附加",
}
CSV_FIELDS = (
    "code",
    "name",
    "quantity",
    "quantity_unit",
    "rate",
    "rate_unit",
    "amount_fen",
    "amount_cny",
    "rounding",
)

_ENV = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
_HTML = _ENV.from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}\
td.n{text-align:right}</style></head>
<body>
<h1>{{ title }}</h1>
<table>
{% for k, v in facts %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>
{% endfor %}</table>
<h2>Charges</h2>
<table>
<tr><th>Item</th><th>名称</th><th>Quantity</th><th>Rate</th><th>Amount (CNY)</th>\
<th>Rounding</th></tr>
{% for l in lines %}<tr><td>{{ l.name }}</td><td>{{ zh(l) }}</td>\
<td class="n">{{ num(l.quantity) }} {{ l.quantity_unit }}</td>\
<td class="n">{{ num(l.rate) }} {{ l.rate_unit }}</td><td class="n">{{ cny(l.amount_fen) }}</td>\
<td>{{ l.rounding }}</td></tr>
{% endfor %}<tr><th colspan="4">Total</th><th class="n">{{ cny(total) }}</th><td></td></tr>
</table>
<p>Bill hash {{ bill_hash }}</p>
</body></html>
"""
)


def _num(value: object) -> str:
    """An integer with thousands separators (as the explorer shows amounts); else as is."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _zh(line: LineItem) -> str:
    return ZH_NAMES.get(line.code.split(".")[0].rstrip("0123456789"), "")


def title(bill: Bill) -> str:
    """The bill's heading."""
    return f"Electricity bill {bill.month // 100}-{bill.month % 100:02d}"


def facts(bill: Bill) -> list[tuple[str, str]]:
    """The bill's header facts, as label/value pairs."""
    pf = (
        "n/a"
        if bill.power_factor_hundredths is None
        else f"{bill.power_factor_hundredths / 100:.2f}"
    )
    return [
        ("Consumer", bill.consumer),
        ("Retailer", bill.retailer),
        ("Class / voltage", f"{bill.consumer_class} / {bill.voltage_level}"),
        ("Package", f"{bill.package_name} ({bill.package_hash})"),
        ("Published rates", f"{bill.rates_name} ({bill.rates_hash})"),
        ("Meters", ", ".join(bill.meter_ids) or "none"),
        ("Readings", f"{bill.reading_count} ({bill.readings_hash})"),
        ("Import / export", f"{bill.import_wh:,} Wh / {bill.export_wh:,} Wh"),
        ("Reactive", f"{bill.reactive_varh:,} varh"),
        ("Max 15-min demand", f"{bill.max_demand_w:,} W"),
        ("Power factor", pf),
    ]


def to_html(bill: Bill) -> str:
    """The bill as an HTML page."""
    return _HTML.render(
        title=title(bill),
        facts=facts(bill),
        lines=bill.lines,
        total=bill.total_fen,
        bill_hash="0x" + bill.hash.hex(),
        cny=fen_to_cny,
        zh=_zh,
        num=_num,
    )


def to_csv(bill: Bill) -> str:
    """The bill's lines as CSV (one row per line, then the total)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(CSV_FIELDS)
    for line in bill.lines:
        row = line.model_dump()
        row["amount_cny"] = fen_to_cny(line.amount_fen)
        out.writerow([row[f] for f in CSV_FIELDS])
    out.writerow(["total", "Total", "", "", "", "", bill.total_fen, fen_to_cny(bill.total_fen), ""])
    return buf.getvalue()


def _latin(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def to_pdf(bill: Bill) -> bytes:
    """The bill as a one-page PDF."""
    pdf = FPDF()
    pdf.set_creation_date(PDF_DATE)
    pdf.set_title(title(bill))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, title(bill), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    for label, value in facts(bill):
        pdf.cell(36, 4.5, _latin(label))
        pdf.cell(0, 4.5, _latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    widths = (70, 34, 36, 26, 24)
    pdf.set_font("Helvetica", "B", 8)
    for w, head in zip(widths, ("Item", "Quantity", "Rate", "Amount CNY", "Rounding"), strict=True):
        pdf.cell(w, 5, head, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=8)
    for line in bill.lines:
        cells = (
            line.name,
            f"{_num(line.quantity)} {line.quantity_unit}",
            f"{_num(line.rate)} {line.rate_unit}",
            fen_to_cny(line.amount_fen),
            line.rounding,
        )
        for w, value in zip(widths, cells, strict=True):
            pdf.cell(w, 5, _latin(value), border=1)
        pdf.ln()
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(sum(widths[:3]), 6, "Total", border=1)
    pdf.cell(widths[3], 6, fen_to_cny(bill.total_fen), border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=7)
    pdf.cell(0, 5, f"Bill hash 0x{bill.hash.hex()}")
    return bytes(pdf.output())
