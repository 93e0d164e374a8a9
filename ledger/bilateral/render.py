"""The final contract text: HTML (Jinja2) and PDF (fpdf2), both byte-for-byte reproducible.

``document_hash`` (keccak of the HTML) is what both parties sign in the terms; the PDF is
rendered from the same text with a fixed creation date, so a verifier re-renders it and
compares bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from eth_utils.crypto import keccak
from fpdf import FPDF
from jinja2 import Environment, StrictUndefined
from pydantic import BaseModel, ConfigDict

from ledger.bilateral.templates import ContractFields, Template

_ENV = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
_HTML = _ENV.from_string(
    """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
<p>Template {{ key }} ({{ template_hash }})</p>
{% for line in clauses %}<p>{{ line }}</p>
{% endfor %}</body></html>
"""
)
#: The PDF's fixed creation date (reproducible bytes).
PDF_DATE = datetime(2026, 1, 1, tzinfo=UTC)


class Document(BaseModel):
    """A rendered contract."""

    model_config = ConfigDict(frozen=True)

    html: str
    pdf: bytes
    document_hash: str
    pdf_hash: str


def clauses(template: Template, fields: ContractFields) -> list[str]:
    """The contract's clauses, one per line, filled from ``fields``."""
    plain = Environment(undefined=StrictUndefined)  # noqa: S701 - text, escaped in the HTML
    text = plain.from_string(template.body).render(f=fields)
    return [line for line in text.splitlines() if line.strip()]


def render(template: Template, fields: ContractFields) -> Document:
    """The HTML and PDF of ``fields`` filled into ``template``."""
    lines = clauses(template, fields)
    html = _HTML.render(
        title=template.title,
        key=template.key,
        template_hash=template.template_hash(),
        clauses=lines,
    )
    pdf = _pdf(template, lines)
    return Document(
        html=html,
        pdf=pdf,
        document_hash=hash_bytes(html.encode()),
        pdf_hash=hash_bytes(pdf),
    )


def hash_bytes(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def _pdf(template: Template, lines: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(PDF_DATE)
    pdf.set_title(template.title)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 8, template.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 5, f"Template {template.key} ({template.template_hash()})")
    pdf.ln(2)
    pdf.set_font("Helvetica", size=10)
    for line in lines:
        text = line.encode("latin-1", "replace").decode("latin-1")
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())
