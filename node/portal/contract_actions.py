"""What the contracts pages sign: negotiation steps (propose, counter, accept, reject), the
co-signature of accepted terms, the registration, an amendment's signature and its
submission, each a :class:`PendingAction` shown on ``/confirm`` first, through the same
:class:`~node.contracts.desk.ContractDesk` calls as ``gridledger contract ...``
(``node/contracts/cli.py``). Negotiation steps and signatures are EIP-712 messages (no
transaction): the portal hands them over as files the counterparty's portal loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from eth_account.signers.local import LocalAccount
from markupsafe import Markup
from pydantic import BaseModel, Field, StringConstraints

from ledger.bilateral.render import render
from ledger.bilateral.templates import ContractFields, Template, template_by_key
from ledger.bilateral.typed import Amendment
from ledger.clients.bilateral import BilateralContract
from ledger.context import LedgerContext
from ledger.errors import GridLedgerError, ValidationError
from ledger.units import cny_to_fen, mwh_to_wh, value_fen
from node.contracts.desk import ContractDesk, contract_key
from node.contracts.store import MessageStore, StoredMessage
from node.portal.actions import cny_fen, energy_text, price_text
from node.portal.sessions import Outcome, PendingAction

BACK = "/contracts"
Text = Annotated[str, StringConstraints(max_length=200)]


class TermsForm(BaseModel):
    """The terms a proposal or counter offers (energy in MWh per period, price in CNY/MWh);
    the template's own fields model (``ledger/bilateral/templates.py``) validates them."""

    schedule_mwh: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    price: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    note: Text = ""

    def schedule_wh(self) -> list[int]:
        parts = [p for p in self.schedule_mwh.replace(";", ",").split(",") if p.strip()]
        try:
            return [mwh_to_wh(p.strip()) for p in parts]
        except GridLedgerError as exc:
            raise ValidationError(f"schedule_mwh: {exc}") from exc

    def price_fen_per_mwh(self) -> int:
        try:
            return cny_to_fen(self.price)
        except GridLedgerError as exc:
            raise ValidationError(f"price: {exc}") from exc


class ProposeForm(TermsForm):
    """A new negotiation (``gridledger contract propose --template --fields``)."""

    template: Literal["wholesale@1", "retail-agency@1"] = "wholesale@1"
    role: Literal["seller", "buyer"]
    my_name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    counterparty: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]
    counterparty_name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    first_period_id: int = Field(ge=1)
    first_interval: int = Field(default=0, ge=0)
    last_interval: int = Field(default=95, ge=0)
    tolerance_bps: int = Field(default=500, ge=0)

    def values(self, me: str) -> dict[str, Any]:
        mine = {"address": me, "name": self.my_name}
        other = {"address": self.counterparty, "name": self.counterparty_name}
        seller, buyer = (mine, other) if self.role == "seller" else (other, mine)
        return {
            "seller": seller,
            "buyer": buyer,
            "first_period_id": self.first_period_id,
            "first_interval": self.first_interval,
            "last_interval": self.last_interval,
            "schedule_wh": self.schedule_wh(),
            "price_fen_per_mwh": self.price_fen_per_mwh(),
            "tolerance_bps": self.tolerance_bps,
        }


class NegotiationForm(BaseModel):
    negotiation_id: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
    note: Text = ""


class CounterForm(TermsForm):
    negotiation_id: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]


class AmendForm(TermsForm):
    """An amendment's new price and schedule (``gridledger contract amendment``)."""

    contract_no: int = Field(ge=1)


class Documents:
    """The fields of each contract document this party signed or loaded, by document hash
    (a JSON file next to its message store): what the bundle of an amended contract is
    built from (the chain keeps only the document's hash)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _all(self) -> dict[str, Any]:
        return dict(json.loads(self.path.read_text())) if self.path.exists() else {}

    def keep(self, template_key: str, fields: dict[str, Any]) -> str:
        """Keep ``fields`` (validated by the template); returns their document hash."""
        template = template_by_key(template_key)
        document_hash = render(template, template.parse(fields)).document_hash
        kept = self._all() | {document_hash: {"template_key": template.key, "fields": fields}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(kept, indent=1, sort_keys=True))
        return document_hash

    def get(self, document_hash: str) -> dict[str, Any] | None:
        found = self._all().get(document_hash)
        return dict(found) if found else None


class PortalDesk(ContractDesk):
    """A :class:`ContractDesk` with the party's kept document fields."""

    def __init__(
        self, ctx: LedgerContext, account: LocalAccount, store: MessageStore, documents: Documents
    ) -> None:
        super().__init__(ctx, account, store)
        self.documents = documents


def parse_fields(template: Template, values: dict[str, Any]) -> ContractFields:
    """The template's typed fields (pydantic's ValidationError names the bad field)."""
    return template.fields.model_validate(values)


def _tx(receipt: Any) -> str:
    return str(receipt["transactionHash"].to_0x_hex())


def terms_lines(fields: ContractFields, me: str, template: Template) -> list[tuple[str, str]]:
    """Counterparty, energy, price, periods and the document of ``fields``."""
    seller = fields.seller.address.lower() == me.lower()
    other = fields.buyer if seller else fields.seller
    last = fields.first_period_id + len(fields.schedule_wh) - 1
    per_period = "; ".join(
        f"{fields.first_period_id + k}: {energy_text(wh)}"
        for k, wh in enumerate(fields.schedule_wh)
    )
    total_wh = sum(fields.schedule_wh)
    value = sum(value_fen(wh, fields.price_fen_per_mwh) for wh in fields.schedule_wh)
    return [
        ("counterparty", f"{other.name} ({other.address})"),
        ("you are", "seller" if seller else "buyer"),
        ("template", template.key),
        (
            "periods",
            f"{fields.first_period_id} to {last}, "
            f"intervals {fields.first_interval}-{fields.last_interval}",
        ),
        ("energy", f"{energy_text(total_wh)} in all ({per_period})"),
        ("price", price_text(fields.price_fen_per_mwh)),
        ("contract value", cny_fen(value)),
        ("tolerance", f"{fields.tolerance_bps} bps"),
        ("document hash", render(template, fields).document_hash),
    ]


def _check_published(desk: ContractDesk, template: Template) -> None:
    if template.template_hash() not in {t.template_hash for t in desk.client.templates()}:
        raise ValidationError(f"template {template.key} is not published on chain")


def _envelope_link(nid: str) -> str:
    return Markup(
        '<a href="/contracts/n/{0}/envelope.json" id="envelope">envelope file</a> '
        "(hand it to the counterparty: they load it on their Contracts page)"
    ).format(nid)


def _step_outcome(title: str, desk: ContractDesk, nid: str) -> Outcome:
    last = desk.store.steps(nid)[-1]
    step = last.message
    return Outcome(
        title,
        [
            ("negotiation", nid),
            ("signed", f"NegotiationStep {step.step} ({step.kind}), digest {last.digest}"),  # type: ignore[union-attr]
            ("send", _envelope_link(nid)),
        ],
    )


def propose_action(desk: ContractDesk, form: ProposeForm) -> PendingAction:
    template = template_by_key(form.template)
    fields = parse_fields(template, form.values(desk.account.address))
    _check_published(desk, template)
    lines = [*terms_lines(fields, desk.account.address, template), ("note", form.note or "-")]

    def run() -> Outcome:
        envelope = desk.propose(template.key, fields.model_dump(mode="json"), form.note)
        return _step_outcome("Proposal signed", desk, envelope.step.negotiation_id)

    fn = "EIP-712 NegotiationStep(kind=proposal, step 1) over these terms (no transaction)"
    return PendingAction("Propose a contract", fn, lines, run, back=BACK)


def last_fields(desk: ContractDesk, nid: str) -> tuple[Template, ContractFields, StoredMessage]:
    last = desk.store.steps(nid)[-1]
    template = template_by_key(last.extra["template_key"])
    return template, template.parse(last.extra["fields"]), last


def counter_action(desk: ContractDesk, form: CounterForm) -> PendingAction:
    template, fields, last = last_fields(desk, form.negotiation_id)
    values = fields.model_dump(mode="json") | {
        "schedule_wh": form.schedule_wh(),
        "price_fen_per_mwh": form.price_fen_per_mwh(),
    }
    new = parse_fields(template, values)
    answers = f"step {last.message.step} ({last.message.kind}) by {last.signer}"  # type: ignore[union-attr]
    lines = [
        *terms_lines(new, desk.account.address, template),
        ("answers", answers),
        ("note", form.note or "-"),
    ]

    def run() -> Outcome:
        desk.counter(form.negotiation_id, new.model_dump(mode="json"), form.note)
        return _step_outcome("Counter-proposal signed", desk, form.negotiation_id)

    step = last.message.step + 1  # type: ignore[union-attr]
    fn = f"EIP-712 NegotiationStep(kind=counter, step {step}) over these terms (no transaction)"
    return PendingAction("Counter the proposal", fn, lines, run, back=_nav(form.negotiation_id))


def _nav(nid: str) -> str:
    return f"/contracts/n/{nid}"


def answer_action(desk: ContractDesk, form: NegotiationForm, kind: str) -> PendingAction:
    """Accept or reject the counterparty's last step."""
    nid = form.negotiation_id
    template, fields, last = last_fields(desk, nid)
    if last.message.kind in ("accept", "reject"):  # type: ignore[union-attr]
        raise ValidationError(f"negotiation {nid} is closed ({last.message.kind})")  # type: ignore[union-attr]
    if last.signer.lower() == desk.account.address.lower():
        raise ValidationError("the last step is yours: wait for the counterparty's answer")
    lines = [*terms_lines(fields, desk.account.address, template), ("note", form.note or "-")]

    def run() -> Outcome:
        (desk.accept if kind == "accept" else desk.reject)(nid, form.note)
        return _step_outcome(f"Negotiation step signed: {kind}", desk, nid)

    step = last.message.step + 1  # type: ignore[union-attr]
    fn = f"EIP-712 NegotiationStep(kind={kind}, step {step}) over these terms (no transaction)"
    title = "Accept the terms" if kind == "accept" else "Reject the terms"
    return PendingAction(title, fn, lines, run, back=_nav(nid))


def terms_signatures(desk: ContractDesk, nid: str) -> dict[str, str]:
    """The stored co-signatures of the accepted terms, by signer (lower case)."""
    return {
        m.signer.lower(): m.signature
        for m in desk.store.messages(nid)
        if type(m.message).__name__ == "ContractTerms"
    }


def sign_action(desk: ContractDesk, form: NegotiationForm) -> PendingAction:
    """Co-sign the accepted terms (what registration needs from each party)."""
    nid = form.negotiation_id
    agreement = desk.agreement(nid)
    if desk.account.address.lower() in terms_signatures(desk, nid):
        raise ValidationError(f"you have signed the terms of negotiation {nid} already")
    lines = [
        *terms_lines(agreement.fields, desk.account.address, agreement.template),
        ("terms digest", agreement.digest),
    ]

    def run() -> Outcome:
        desk.sign_terms(nid)
        link = Markup(
            '<a href="/contracts/n/{0}/signature.json" id="signature">signature file</a>'
            " (hand it to the counterparty, or register once you hold theirs)"
        ).format(nid)
        return Outcome("Terms signed", [("terms digest", agreement.digest), ("send", link)])

    fn = f"EIP-712 ContractTerms (digest {agreement.digest}) (no transaction)"
    return PendingAction("Sign the contract terms", fn, lines, run, back=_nav(nid))


def register_action(desk: ContractDesk, form: NegotiationForm) -> PendingAction:
    """Register the co-signed terms on chain (either party)."""
    nid = form.negotiation_id
    agreement = desk.agreement(nid)
    sigs = terms_signatures(desk, nid)
    terms = agreement.terms
    missing = [p for p in (terms.seller, terms.buyer) if p.lower() not in sigs]
    if missing:
        raise ValidationError(f"the terms lack the signature of {', '.join(missing)}")
    seller_sig, buyer_sig = sigs[terms.seller.lower()], sigs[terms.buyer.lower()]
    lines = [
        *terms_lines(agreement.fields, desk.account.address, agreement.template),
        ("terms digest", agreement.digest),
        ("signatures", "seller's and buyer's, both checked"),
    ]

    def run() -> Outcome:
        receipt = desk.client.register(terms, agreement.digest, seller_sig, buyer_sig)
        no = desk.client.registered_contract_no(receipt)
        (event,) = desk.client.events(receipt, "ContractRegistered")
        a = event["args"]
        link = Markup('<a href="/contracts/{0}" id="contract-link">contract {0}</a>').format(no)
        return Outcome(
            f"Contract {no} registered",
            [
                (
                    "event",
                    f"ContractRegistered(contractNo={no}, periods={a['periods']}, "
                    f"scheduledWh={a['scheduledWh']}, priceFenPerMwh={a['priceFenPerMwh']})",
                ),
                ("tx hash", _tx(receipt)),
                ("see", link),
            ],
        )

    fn = f"BilateralContracts.register(terms, {agreement.digest}, sellerSig, buyerSig)"
    return PendingAction("Register the contract", fn, lines, run, back=_nav(nid))


def contract_lines(c: BilateralContract, me: str) -> list[tuple[str, str]]:
    other = c.buyer if c.seller.lower() == me.lower() else c.seller
    return [
        ("contract", f"{c.contract_no} ({c.status.name.lower()}, sequence {c.sequence})"),
        ("counterparty", other),
        (
            "periods",
            f"{c.first_period_id} to {c.last_period_id}, "
            f"intervals {c.first_interval}-{c.last_interval}",
        ),
    ]


def amend_action(
    desk: PortalDesk, form: AmendForm, template: Template, fields: ContractFields
) -> PendingAction:
    """Sign the next amendment of a contract: a new price and schedule over the same
    periods; the counterparty co-signs the file, then either party submits it."""
    c = desk.client.contract_of(form.contract_no)
    values = fields.model_dump(mode="json") | {
        "schedule_wh": form.schedule_wh(),
        "price_fen_per_mwh": form.price_fen_per_mwh(),
    }
    new = parse_fields(template, values)
    amendment, document = desk.amendment(
        form.contract_no, new.model_dump(mode="json"), template.key
    )
    lines = [
        *contract_lines(c, desk.account.address),
        ("energy", "; ".join(energy_text(wh) for wh in new.schedule_wh)),
        ("price", f"{price_text(c.price_fen_per_mwh)} → {price_text(new.price_fen_per_mwh)}"),
        ("document hash", document.document_hash),
    ]

    def run() -> Outcome:
        desk.sign_message(form.contract_no, amendment)
        desk.documents.keep(template.key, new.model_dump(mode="json"))
        link = Markup(
            '<a href="/contracts/{0}/amendment.json" id="amendment">amendment file</a>'
            " (the counterparty co-signs it)"
        ).format(form.contract_no)
        return Outcome(f"Amendment {amendment.sequence} signed", [("send", link)])

    fn = f"EIP-712 Amendment(contract {c.contract_no}, sequence {amendment.sequence})"
    fn += " (no transaction)"
    return PendingAction(
        f"Amend contract {c.contract_no}", fn, lines, run, back=f"/contracts/{c.contract_no}"
    )


def pending_amendment(
    desk: ContractDesk, contract_no: int
) -> tuple[Amendment, dict[str, str]] | None:
    """The next amendment stored for the contract (its sequence the next), and its signatures."""
    nxt = desk.client.contract_of(contract_no).sequence + 1
    found: tuple[Amendment, dict[str, str]] | None = None
    for m in desk.store.messages(contract_key(contract_no)):
        if isinstance(m.message, Amendment) and m.message.sequence == nxt:
            if found is None or found[0] != m.message:
                found = (m.message, {})
            found[1][m.signer.lower()] = m.signature
    return found


def cosign_amendment_action(desk: ContractDesk, contract_no: int) -> PendingAction:
    """Co-sign the counterparty's amendment and, holding both signatures, submit it."""
    c = desk.client.contract_of(contract_no)
    found = pending_amendment(desk, contract_no)
    if found is None:
        raise ValidationError(f"no amendment of contract {contract_no} to co-sign: load its file")
    amendment, sigs = found
    me = desk.account.address.lower()
    lines = [
        *contract_lines(c, desk.account.address),
        ("energy", "; ".join(energy_text(wh) for wh in amendment.schedule_wh)),
        ("price", f"{price_text(c.price_fen_per_mwh)} → {price_text(amendment.price_fen_per_mwh)}"),
        ("document hash", amendment.document_hash),
    ]

    def run() -> Outcome:
        if me not in sigs:
            sigs[me] = desk.sign_message(contract_no, amendment)
        seller_sig, buyer_sig = sigs.get(c.seller.lower(), ""), sigs.get(c.buyer.lower(), "")
        receipt = desk.client.amend(amendment, seller_sig, buyer_sig)
        held = bool(desk.client.events(receipt, "ChangeHeld"))
        verb = "held for OPERATOR review" if held else "amended"
        return Outcome(f"Contract {contract_no} {verb}", [("tx hash", _tx(receipt))])

    fn = f"EIP-712 Amendment(sequence {amendment.sequence}), then "
    fn += "BilateralContracts.amend(amendment, sellerSig, buyerSig)"
    return PendingAction(
        f"Co-sign and submit amendment {amendment.sequence}",
        fn,
        lines,
        run,
        back=f"/contracts/{contract_no}",
    )
