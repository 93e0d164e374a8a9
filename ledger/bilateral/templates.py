"""Versioned contract templates: typed fields (pydantic) and the text they fill.

A template is its kind, version, title, clause text (Jinja2) and field model; its hash
(``template_hash``, keccak of the canonical JSON of all of these) is what the OPERATOR
publishes on chain. Two templates ship: ``wholesale`` (purchase/sale between a generator and
a retailer or large consumer) and ``retail-agency`` (a retailer and a consumer).
"""

from __future__ import annotations

import json
from typing import Any

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.errors import NotFoundError, ValidationError


class Party(BaseModel):
    """A contracting party: its node address and legal name."""

    model_config = ConfigDict(frozen=True)

    address: str
    name: str = Field(min_length=1, max_length=120)


class ContractFields(BaseModel):
    """The typed fields every template has.

    ``schedule_wh[k]`` is delivered in period ``first_period_id + k`` over the intervals
    ``first_interval..last_interval``: flat over the window, or, with ``block_intervals``
    > 0, as the 15-minute profile ``profile_wh[k]`` (one quantity per block of
    ``block_intervals`` intervals, the last block shorter; its sum is ``schedule_wh[k]``).
    ``renewal_notice_days`` > 0: renewal must be agreed that many days before the end.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seller: Party
    buyer: Party
    first_period_id: int = Field(ge=1)
    first_interval: int = Field(ge=0, le=65535)
    last_interval: int = Field(ge=0, le=65535)
    schedule_wh: list[int] = Field(min_length=1, max_length=400)
    price_fen_per_mwh: int = Field(gt=0)
    price_formula: str = Field(default="fixed", max_length=200)
    tolerance_bps: int = Field(default=500, ge=0, le=10_000)
    deviation_terms: str = Field(default="Deviations settle at the market deviation price.")
    termination_terms: str = Field(default="Mutual consent, or for cause on removal or ban.")
    expires_at: int = Field(default=0, ge=0)
    block_intervals: int = Field(default=0, ge=0, le=65535)
    profile_wh: list[list[int]] = Field(default_factory=list, max_length=400)
    renewal_notice_days: int = Field(default=0, ge=0, le=65535)
    renewal_terms: str = Field(default="", max_length=200)

    @property
    def blocks(self) -> int:
        """Blocks per period (1 when flat), as ``BilateralContracts`` counts them."""
        width = self.last_interval - self.first_interval + 1
        bi = self.block_intervals
        return 1 if bi == 0 or bi >= width else -(-width // bi)

    def chain_schedule_wh(self) -> list[int]:
        """The signed ``scheduleWh``: per period, or per block of each period's profile."""
        if not self.block_intervals:
            return list(self.schedule_wh)
        return [q for row in self.profile_wh for q in row]

    @model_validator(mode="after")
    def _check(self) -> ContractFields:
        if self.first_interval > self.last_interval:
            raise ValueError("first_interval must not exceed last_interval")
        if self.block_intervals or self.profile_wh:
            self._check_profile()
        if any(q < 0 for q in self.schedule_wh):
            raise ValueError("scheduled quantities must not be negative")
        if self.seller.address.lower() == self.buyer.address.lower():
            raise ValueError("seller and buyer must differ")
        return self

    def _check_profile(self) -> None:
        if not self.block_intervals:
            raise ValueError("profile_wh needs block_intervals")
        if len(self.profile_wh) != len(self.schedule_wh):
            raise ValueError("profile_wh needs one row per scheduled period")
        for k, row in enumerate(self.profile_wh):
            if len(row) != self.blocks or any(q < 0 for q in row):
                raise ValueError(f"profile_wh[{k}] needs {self.blocks} quantities >= 0")
            if sum(row) != self.schedule_wh[k]:
                raise ValueError(f"profile_wh[{k}] sums to {sum(row)}, not schedule_wh[{k}]")


class WholesaleFields(ContractFields):
    """Wholesale purchase/sale (generator -> retailer or large consumer)."""

    quality_of_supply: str = Field(default="Voltage and frequency per GB/T 12325.")


class RetailAgencyFields(ContractFields):
    """Retail agency (retailer -> consumer): the retailer buys on the consumer's behalf."""

    agency_fee_fen_per_mwh: int = Field(default=0, ge=0)
    billing_cycle: str = Field(default="monthly")


class Template(BaseModel):
    """A versioned template."""

    model_config = ConfigDict(frozen=True)

    kind: str
    version: int
    title: str
    body: str
    fields: type[ContractFields]

    @property
    def key(self) -> str:
        return f"{self.kind}@{self.version}"

    def canonical(self) -> bytes:
        """What the template hash covers."""
        schema = self.fields.model_json_schema()
        doc = {"kind": self.kind, "version": self.version, "title": self.title}
        doc |= {"body": self.body, "fields": schema}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    def template_hash(self) -> str:
        return "0x" + keccak(self.canonical()).hex()

    def parse(self, values: dict[str, Any]) -> ContractFields:
        """The template's typed fields from ``values`` (ValidationError naming the field)."""
        try:
            return self.fields.model_validate(values)
        except ValueError as exc:
            raise ValidationError(f"{self.key}: {exc}") from exc


_COMMON = """\
1. Parties. Seller: {{ f.seller.name }} ({{ f.seller.address }}). \
Buyer: {{ f.buyer.name }} ({{ f.buyer.address }}).
2. Delivery. Periods {{ f.first_period_id }} to \
{{ f.first_period_id + f.schedule_wh|length - 1 }}, intervals {{ f.first_interval }} to \
{{ f.last_interval }} of each period.
3. Quantity schedule (Wh per period): {% for q in f.schedule_wh %}\
{{ f.first_period_id + loop.index0 }}: {{ q }}{% if not loop.last %}; {% endif %}{% endfor %}.
{% if f.block_intervals %}3a. Profile (Wh per block of {{ f.block_intervals }} 15-minute \
intervals, each block one trade): {% for row in f.profile_wh %}\
{{ f.first_period_id + loop.index0 }}: {{ row|join(", ") }}\
{% if not loop.last %}; {% endif %}{% endfor %}.
{% endif %}\
4. Price. {{ f.price_fen_per_mwh }} fen/MWh ({{ f.price_formula }}); each period's quantity forms \
a trade in the common trade store at this price, its escrow paid by the Buyer.
5. Deviations. Tolerance {{ f.tolerance_bps }} bps. {{ f.deviation_terms }}
6. Termination. {{ f.termination_terms }}
7. Expiry. {% if f.expires_at %}Unix time {{ f.expires_at }}{% else %}at the last period{% endif %}.
{% if f.renewal_notice_days %}7a. Renewal. Agreed at least {{ f.renewal_notice_days }} days before \
the end. {{ f.renewal_terms }}
{% endif %}"""

WHOLESALE = Template(
    kind="wholesale",
    version=1,
    title="Wholesale electricity purchase and sale contract",
    body=_COMMON + "8. Quality of supply. {{ f.quality_of_supply }}\n",
    fields=WholesaleFields,
)
RETAIL_AGENCY = Template(
    kind="retail-agency",
    version=1,
    title="Retail electricity agency contract",
    body=_COMMON
    + "8. Agency fee. {{ f.agency_fee_fen_per_mwh }} fen/MWh, billed {{ f.billing_cycle }}.\n",
    fields=RetailAgencyFields,
)
TEMPLATES: dict[str, Template] = {t.key: t for t in (WHOLESALE, RETAIL_AGENCY)}


def template_by_key(key: str) -> Template:
    """A template by ``kind@version`` (or ``kind`` for its latest version)."""
    if key in TEMPLATES:
        return TEMPLATES[key]
    versions = [t for t in TEMPLATES.values() if t.kind == key]
    if not versions:
        raise NotFoundError(f"no template {key!r} (known: {', '.join(sorted(TEMPLATES))})")
    return max(versions, key=lambda t: t.version)


def template_by_hash(template_hash: str) -> Template:
    for t in TEMPLATES.values():
        if t.template_hash() == template_hash.lower():
            return t
    raise NotFoundError(f"no template with hash {template_hash}")
