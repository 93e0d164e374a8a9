"""A participant's contract desk: negotiate, co-sign, register, amend, terminate, execute.

Negotiation runs by signed envelopes (a :class:`Envelope` is what one party's service sends
the other's): a proposal fills a template, the counterparty counters, accepts or rejects;
each step is an EIP-712 ``NegotiationStep`` signed by its sender and stored by both. Once
accepted, both sign the ``ContractTerms`` (its ``documentHash`` the rendered text's) and
either registers them on chain.
"""

from __future__ import annotations

import os
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict

from ledger.bilateral.render import Document, render
from ledger.bilateral.templates import ContractFields, Template, template_by_key
from ledger.bilateral.typed import (
    Amendment,
    ContractTerms,
    Message,
    NegotiationStep,
    Termination,
    digest,
    hex32,
    sign,
    struct_hash,
)
from ledger.clients.bilateral import AnomalyKind, BilateralContractsClient
from ledger.clients.registry import NodeRegistryClient
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import TradingMarketClient
from ledger.context import LedgerContext
from ledger.errors import NotFoundError, ValidationError
from ledger.units import value_fen
from node.contracts.store import MessageStore, StoredMessage
from node.contracts.tracking import ContractExecution, Milestone, execution, milestones

ZERO32 = "0x" + "00" * 32


class Envelope(BaseModel):
    """A signed negotiation step with the template and fields it proposes."""

    model_config = ConfigDict(frozen=True)

    step: NegotiationStep
    signature: str
    template_key: str
    fields: dict[str, Any]


class Agreement(BaseModel):
    """What an accepted negotiation yields: the terms to co-sign and their document."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    template: Template
    fields: ContractFields
    document: Document
    terms: ContractTerms
    digest: str


def contract_key(contract_no: int) -> str:
    """The store key of a registered contract's later messages."""
    return f"contract:{contract_no}"


class ContractDesk:
    """Signs as ``account``; keeps every message in ``store``."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount, store: MessageStore) -> None:
        self.ctx = ctx
        self.account = account
        self.store = store
        self.client = ctx.client(BilateralContractsClient, account)
        self.market = ctx.client(TradingMarketClient, account)
        self.token = ctx.client(SettlementTokenClient, account)
        self.domain = self.client.domain()

    # ------------------------------------------------------------------ negotiation

    def propose(self, template_key: str, values: dict[str, Any], note: str = "") -> Envelope:
        """Open a negotiation with a filled template (the sender is a party of it)."""
        template = template_by_key(template_key)
        fields = template.parse(values)
        self._check_party(fields)
        nid = hex32(keccak(self.account.address.encode() + os.urandom(16)))
        terms = self._terms(template, fields, nid)[0]
        return self._send(nid, 1, "proposal", terms, ZERO32, note, template, fields)

    def counter(self, negotiation_id: str, values: dict[str, Any], note: str = "") -> Envelope:
        last = self._last_open(negotiation_id)
        template = template_by_key(last.extra["template_key"])
        fields = template.parse(values)
        self._check_party(fields)
        terms = self._terms(template, fields, negotiation_id)[0]
        step = last.message.step + 1  # type: ignore[union-attr]
        return self._send(
            negotiation_id, step, "counter", terms, last.digest, note, template, fields
        )

    def accept(self, negotiation_id: str, note: str = "") -> Envelope:
        return self._answer(negotiation_id, "accept", note)

    def reject(self, negotiation_id: str, note: str = "") -> Envelope:
        return self._answer(negotiation_id, "reject", note)

    def receive(self, envelope: Envelope) -> StoredMessage:
        """Store the counterparty's step after checking its signature, order and terms."""
        step = envelope.step
        template = template_by_key(envelope.template_key)
        fields = template.parse(envelope.fields)
        terms = self._terms(template, fields, step.negotiation_id)[0]
        if struct_hash(self.domain, terms) != step.terms_hash:
            raise ValidationError(f"step {step.step}: its terms hash does not match its fields")
        if step.step > 1:
            last = self._last_open(step.negotiation_id)
            if step.previous != last.digest or step.step != last.message.step + 1:  # type: ignore[union-attr]
                raise ValidationError(f"step {step.step} does not answer the last step")
        extra = {"template_key": template.key, "fields": envelope.fields}
        return self.store.add(
            step.negotiation_id, self.domain, step, step.sender, envelope.signature, extra
        )

    def agreement(self, negotiation_id: str) -> Agreement:
        """The accepted terms of a negotiation (ValidationError unless it was accepted)."""
        steps = self.store.steps(negotiation_id)
        if steps[-1].message.kind != "accept":  # type: ignore[union-attr]
            raise ValidationError(f"negotiation {negotiation_id} is not accepted")
        template = template_by_key(steps[-1].extra["template_key"])
        fields = template.parse(steps[-1].extra["fields"])
        terms, document = self._terms(template, fields, negotiation_id)
        return Agreement(
            template=template,
            fields=fields,
            document=document,
            terms=terms,
            digest=digest(self.domain, terms),
        )

    # ------------------------------------------------------------------ signing, chain

    def sign_terms(self, negotiation_id: str) -> str:
        """This party's co-signature of the accepted terms (stored)."""
        agreement = self.agreement(negotiation_id)
        return self._sign_and_store(negotiation_id, agreement.terms)

    def receive_signature(self, key: str, message: Message, signer: str, signature: str) -> None:
        """Store the counterparty's co-signature of ``message`` (checked)."""
        self.store.add(key, self.domain, message, signer, signature)

    def register(self, negotiation_id: str, seller_sig: str, buyer_sig: str) -> int:
        """Register the accepted terms co-signed by both; returns the contract number."""
        agreement = self.agreement(negotiation_id)
        receipt = self.client.register(agreement.terms, agreement.digest, seller_sig, buyer_sig)
        return self.client.registered_contract_no(receipt)

    def amendment(
        self, contract_no: int, values: dict[str, Any], template_key: str
    ) -> tuple[Amendment, Document]:
        """The next amendment of ``contract_no`` with the new fields (to co-sign)."""
        template = template_by_key(template_key)
        fields = template.parse(values)
        current = self.client.contract_of(contract_no)
        document = render(template, fields)
        amendment = Amendment(
            contract_no=contract_no,
            sequence=current.sequence + 1,
            document_hash=document.document_hash,
            price_fen_per_mwh=fields.price_fen_per_mwh,
            schedule_wh=fields.chain_schedule_wh(),
        )
        return amendment, document

    def termination(self, contract_no: int, reason: str) -> Termination:
        current = self.client.contract_of(contract_no)
        return Termination(
            contract_no=contract_no,
            sequence=current.sequence + 1,
            reason_hash=hex32(keccak(reason.encode())),
        )

    def sign_message(self, contract_no: int, message: Amendment | Termination) -> str:
        return self._sign_and_store(contract_key(contract_no), message)

    def approve_escrow(self, amount_fen: int) -> None:
        """Let the trade store collect up to ``amount_fen`` of period escrow (the buyer)."""
        self.token.approve(self.market.address, amount_fen)

    def period_escrow_fen(self, contract_no: int, period_id: int) -> int:
        """What forming ``period_id`` will collect from the buyer: value + transmission fee."""
        c = self.client.contract_of(contract_no)
        registry = self.ctx.client(NodeRegistryClient, self.account)
        tariff = self.ctx.client(TransmissionTariffClient, self.account)
        route = (registry.node_info(c.seller).region, registry.node_info(c.buyer).region)
        blocks = [b.energy_wh for b in self.client.profile(contract_no, period_id) if b.energy_wh]
        return sum(
            value_fen(wh, c.price_fen_per_mwh) + tariff.transmission_fee(*route, wh).fee_fen
            for wh in blocks
        )

    def form_period(self, contract_no: int, period_id: int, approve: bool = False) -> int:
        """Form a period's trade (``approve``: first let the trade store collect its exact
        escrow from this account, the buyer); returns the trade id."""
        if approve:
            self.approve_escrow(self.period_escrow_fen(contract_no, period_id))
        receipt = self.client.form_period_trade(contract_no, period_id)
        return self.client.formed_trade_id(receipt)

    def tracking(self, contract_no: int) -> ContractExecution:
        return execution(self.client, self.market, contract_no)

    def record_anomalies(self, contract_no: int) -> list[int]:
        """Record on chain each anomaly tracking finds (a deviation beyond the tolerance, a
        failed trade) in a period that has none recorded yet; returns those periods."""
        recorded = {
            int(e["args"]["periodId"])
            for e in self.client.history(contract_no)
            if e["event"] == "AnomalyRecorded"
        }
        done: list[int] = []
        for row in self.tracking(contract_no).periods:
            if not row.anomaly or row.period_id in recorded:
                continue
            kind = AnomalyKind.DEVIATION if row.anomaly == "deviation" else AnomalyKind.OTHER
            detail = hex32(keccak(row.model_dump_json().encode()))
            self.client.record_anomaly(contract_no, row.period_id, kind, detail)
            done.append(row.period_id)
        return done

    def milestones(self, now: int) -> list[Milestone]:
        return milestones(self.client, self.market, self.account.address, now)

    # ------------------------------------------------------------------ internals

    def _terms(
        self, template: Template, fields: ContractFields, negotiation_id: str
    ) -> tuple[ContractTerms, Document]:
        template_id = self._template_id(template)
        document = render(template, fields)
        terms = ContractTerms(
            template_id=template_id,
            seller=fields.seller.address,
            buyer=fields.buyer.address,
            document_hash=document.document_hash,
            first_period_id=fields.first_period_id,
            first_interval=fields.first_interval,
            last_interval=fields.last_interval,
            price_fen_per_mwh=fields.price_fen_per_mwh,
            schedule_wh=fields.chain_schedule_wh(),
            tolerance_bps=fields.tolerance_bps,
            expires_at=fields.expires_at,
            block_intervals=fields.block_intervals,
            renewal_notice_days=fields.renewal_notice_days,
            salt=negotiation_id,
        )
        return terms, document

    def _template_id(self, template: Template) -> int:
        wanted = template.template_hash()
        for t in self.client.templates():
            if t.template_hash == wanted:
                return t.id
        raise NotFoundError(f"template {template.key} is not published on chain")

    def _check_party(self, fields: ContractFields) -> None:
        me = self.account.address.lower()
        if me not in (fields.seller.address.lower(), fields.buyer.address.lower()):
            raise ValidationError(f"{self.account.address} is neither seller nor buyer")

    def _last_open(self, negotiation_id: str) -> StoredMessage:
        last = self.store.steps(negotiation_id)[-1]
        if last.message.kind in ("accept", "reject"):  # type: ignore[union-attr]
            raise ValidationError(f"negotiation {negotiation_id} is closed ({last.message.kind})")  # type: ignore[union-attr]
        return last

    def _answer(self, negotiation_id: str, kind: str, note: str) -> Envelope:
        last = self._last_open(negotiation_id)
        if last.signer.lower() == self.account.address.lower():
            raise ValidationError(f"cannot {kind} one's own step {last.message.step}")  # type: ignore[union-attr]
        template = template_by_key(last.extra["template_key"])
        fields = template.parse(last.extra["fields"])
        terms = self._terms(template, fields, negotiation_id)[0]
        step = last.message.step + 1  # type: ignore[union-attr]
        return self._send(negotiation_id, step, kind, terms, last.digest, note, template, fields)

    def _send(
        self,
        nid: str,
        step_no: int,
        kind: str,
        terms: ContractTerms,
        previous: str,
        note: str,
        template: Template,
        fields: ContractFields,
    ) -> Envelope:
        step = NegotiationStep(
            negotiation_id=nid,
            step=step_no,
            kind=kind,
            sender=self.account.address,
            terms_hash=struct_hash(self.domain, terms),
            previous=previous,
            note=note,
        )
        signature = sign(self.account, self.domain, step)
        values = fields.model_dump(mode="json")
        extra = {"template_key": template.key, "fields": values}
        self.store.add(nid, self.domain, step, self.account.address, signature, extra)
        return Envelope(step=step, signature=signature, template_key=template.key, fields=values)

    def _sign_and_store(self, key: str, message: Message) -> str:
        signature = sign(self.account, self.domain, message)
        self.store.add(key, self.domain, message, self.account.address, signature)
        return signature
