"""The market node's bilateral contracts pages (``/contracts``): its registered contracts
with their state, its negotiations from its own message store (``node/contracts/store.py``),
the contract notifications from chain state (``node/contracts/notify.py``), a contract's
terms, execution and history with its signed bundle and document, and every signing step
through ``/confirm`` (:mod:`node.portal.contract_actions`).

Negotiation steps and co-signatures are EIP-712 messages, not transactions: each party's
portal keeps them in the party's own store and hands them over as files (an envelope, a
signature file, an amendment file, the ``gridledger contract`` CLI's formats) that the
counterparty loads into its portal (or its CLI: ``gridledger contract receive``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError as PydanticValidationError

from ledger.bilateral.archive import build_bundle
from ledger.bilateral.templates import TEMPLATES, template_by_key
from ledger.bilateral.typed import Amendment
from ledger.clients.bilateral import BilateralContract
from ledger.errors import GridLedgerError, NotFoundError, ValidationError
from node.contracts.desk import ContractDesk, Envelope, contract_key
from node.contracts.notify import notifications
from node.contracts.store import MessageStore
from node.portal import contract_actions as acts
from node.portal.app import Portal, error_line, parse
from node.portal.sessions import PendingAction, Session


class ContractsState:
    """Per portal: the organisation's message stores (``<store_dir>/<address>.db``, the
    CLI's ``<data_dir>/contracts/`` by default)."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.store_dir: Path = portal.ctx.settings.data_dir / "contracts"
        self._stores: dict[str, MessageStore] = {}

    def desk(self, session: Session) -> acts.PortalDesk:
        assert session.account is not None  # Portal.session() refuses a wiped session
        name = str(session.account.address).lower()
        if name not in self._stores:
            url = f"sqlite:///{self.store_dir / f'{name}.db'}"  # as default_url
            self._stores[name] = MessageStore(url)
        documents = acts.Documents(self.store_dir / f"{name}.documents.json")
        return acts.PortalDesk(self.portal.ctx, session.account, self._stores[name], documents)


def negotiation_rows(desk: ContractDesk) -> list[dict[str, Any]]:
    """Each negotiation in the store: its last step, whose turn, signatures, contract."""
    me = desk.account.address.lower()
    registered = {c.terms_digest: c.contract_no for c in desk.client.contracts()}
    rows = []
    for nid in reversed(desk.store.negotiation_ids()):
        if not nid.startswith("0x"):
            continue  # a contract's later messages (``contract:N``)
        _template, fields, last = acts.last_fields(desk, nid)
        kind = last.message.kind  # type: ignore[union-attr]
        row: dict[str, Any] = {"nid": nid, "fields": fields, "kind": kind, "step": last}
        if kind == "accept":
            agreement = desk.agreement(nid)
            sigs = acts.terms_signatures(desk, nid)
            row["contract_no"] = registered.get(agreement.digest)
            row["state"] = (
                f"registered as contract {row['contract_no']}"
                if row["contract_no"]
                else f"accepted: {len(sigs)} of 2 signatures"
            )
        elif kind == "reject":
            row["state"] = "rejected"
        else:
            row["state"] = "waiting for them" if last.signer.lower() == me else "your answer"
        row["other"] = fields.buyer if fields.seller.address.lower() == me else fields.seller
        rows.append(row)
    return rows


def _page(state: ContractsState, request: Request, session: Session, **kw: Any) -> Response:
    desk = state.desk(session)
    me = desk.account.address
    now = int(desk.ctx.w3.eth.get_block("latest")["timestamp"])
    contracts = [
        {
            "c": c,
            "other": c.buyer if c.seller == me else c.seller,
            "role": "seller" if c.seller == me else "buyer",
        }
        for c in desk.client.contracts()
        if me in (c.seller, c.buyer)
    ]
    feed = notifications(desk.client, desk.market, me, now)
    view = {
        "contracts": contracts,
        "negotiations": negotiation_rows(desk),
        "feed": feed[:20],
        "templates": sorted(TEMPLATES),
        "fields": kw.pop("fields", {}),
    }
    status = kw.pop("status", 200)
    return state.portal.render(request, "contracts.html", session, status, **view, **kw)


def _check_parties(desk: ContractDesk, seller: str, buyer: str, signers: list[str]) -> None:
    """Refuse a file of a contract this party is not in, or signed by a third party."""
    parties = (seller.lower(), buyer.lower())
    if desk.account.address.lower() not in parties:
        raise ValidationError(f"file: its contract is between {seller} and {buyer}, not yours")
    for signer in signers:
        if signer.lower() not in parties:
            raise ValidationError(f"file: signed by {signer}, who is not a party")


def _load_envelope(desk: ContractDesk, data: dict[str, Any]) -> str:
    envelope = Envelope.model_validate(data)
    fields = template_by_key(envelope.template_key).parse(envelope.fields)
    _check_parties(desk, fields.seller.address, fields.buyer.address, [envelope.step.sender])
    if envelope.step.sender.lower() == desk.account.address.lower():
        raise ValidationError("file: this is your own step: hand it to the counterparty")
    stored = desk.receive(envelope)
    return f"stored {stored.message.kind} from {stored.signer}"  # type: ignore[union-attr]


def _load_signature(desk: ContractDesk, data: dict[str, Any]) -> str:
    nid, signer = str(data["negotiation_id"]), str(data["signer"])
    terms = desk.agreement(nid).terms
    _check_parties(desk, terms.seller, terms.buyer, [signer])
    desk.receive_signature(nid, terms, signer, str(data["terms_signature"]))
    return f"stored the terms signature of {signer}"


def _load_amendment(desk: acts.PortalDesk, data: dict[str, Any]) -> str:
    amendment = Amendment.model_validate(data["amendment"])
    c = desk.client.contract_of(amendment.contract_no)
    signatures = {str(k): str(v) for k, v in dict(data["signatures"]).items()}
    _check_parties(desk, c.seller, c.buyer, list(signatures))
    if "fields" in data:
        kept = desk.documents.keep(str(data["template_key"]), dict(data["fields"]))
        if kept != amendment.document_hash:
            raise ValidationError("file: its fields are not the amendment's document")
    for signer, sig in signatures.items():
        desk.receive_signature(contract_key(amendment.contract_no), amendment, signer, sig)
    return f"stored amendment {amendment.sequence} of contract {amendment.contract_no}"


def load_file(desk: acts.PortalDesk, text: str) -> str:
    """Store what the counterparty handed over (an envelope, a terms signature file, an
    amendment file); returns what it was. Every signature is checked before it is kept."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"file: not JSON ({exc.msg}, line {exc.lineno})") from exc
    kinds: dict[str, Callable[[acts.PortalDesk, dict[str, Any]], str]] = {
        "step": _load_envelope,
        "terms_signature": _load_signature,
        "amendment": _load_amendment,
    }
    kind = next((k for k in kinds if isinstance(data, dict) and k in data), None)
    if kind is None:
        raise ValidationError("file: not an envelope, signature or amendment file")
    try:
        return kinds[kind](desk, data)
    except (PydanticValidationError, KeyError, TypeError) as exc:
        raise ValidationError(f"file: {error_line(exc)}") from exc


def _envelope(desk: ContractDesk, nid: str) -> dict[str, Any]:
    """The last step this party signed, as the envelope the counterparty loads."""
    mine = [s for s in desk.store.steps(nid) if s.signer.lower() == desk.account.address.lower()]
    if not mine:
        raise NotFoundError(f"no step of yours in negotiation {nid}")
    s = mine[-1]
    envelope = Envelope(
        step=s.message,
        signature=s.signature,
        template_key=s.extra["template_key"],
        fields=s.extra["fields"],
    )
    return envelope.model_dump(mode="json")


def _signature(desk: ContractDesk, nid: str) -> dict[str, Any]:
    me = desk.account.address
    sig = acts.terms_signatures(desk, nid).get(me.lower())
    if sig is None:
        raise NotFoundError(f"you have not signed the terms of negotiation {nid}")
    return {
        "negotiation_id": nid,
        "signer": me,
        "terms_signature": sig,
        "terms_digest": desk.agreement(nid).digest,
    }


def _amendment_file(desk: acts.PortalDesk, contract_no: int) -> dict[str, Any]:
    """The CLI's amendment file (``gridledger contract cosign`` reads it), with the new
    document's template and fields when this party knows them."""
    found = acts.pending_amendment(desk, contract_no)
    if found is None:
        raise NotFoundError(f"no amendment of contract {contract_no} waits for signatures")
    amendment, sigs = found
    document = desk.documents.get(amendment.document_hash) or {}
    return {"amendment": amendment.model_dump(mode="json"), "signatures": sigs, **document}


def negotiation_of(desk: ContractDesk, c: BilateralContract) -> str | None:
    """The negotiation in this party's store whose accepted terms are the contract's."""
    for row in negotiation_rows(desk):
        if row.get("contract_no") == c.contract_no:
            return str(row["nid"])
    return None


def _contract_view(desk: ContractDesk, contract_no: int) -> dict[str, Any]:
    c = desk.client.contract_of(contract_no)
    me = desk.account.address
    if me not in (c.seller, c.buyer):
        raise ValidationError(f"contract {contract_no} is not yours")
    nid = negotiation_of(desk, c)
    history = [
        {"event": e["event"], "block": e["blockNumber"], "args": dict(e["args"])}
        for e in desk.client.history(contract_no)
    ]
    found = acts.pending_amendment(desk, contract_no)
    return {
        "c": c,
        "role": "seller" if c.seller == me else "buyer",
        "nid": nid,
        "steps": desk.store.steps(nid) if nid else [],
        "history": history,
        "schedule": desk.client.schedule(contract_no),
        "tracking": desk.tracking(contract_no),
        "amendment": found[0] if found else None,
        "amendment_sigs": sorted(found[1]) if found else [],
    }


def current_document(desk: acts.PortalDesk, contract_no: int) -> tuple[str, dict[str, Any]]:
    """The template key and fields of the contract's current document, as this party agreed
    them: the accepted negotiation's, or after an amendment the amended document's."""
    c = desk.client.contract_of(contract_no)
    nid = negotiation_of(desk, c)
    if nid is None:
        raise NotFoundError(f"contract {contract_no}'s negotiation is not in this party's store")
    agreement = desk.agreement(nid)
    kept = desk.documents.get(c.document_hash) or {
        "template_key": agreement.template.key,
        "fields": agreement.fields.model_dump(mode="json"),
    }
    return str(kept["template_key"]), dict(kept["fields"])


def _bundle(desk: acts.PortalDesk, contract_no: int) -> Any:
    return build_bundle(desk.client, contract_no, *current_document(desk, contract_no))


def _json_file(data: Any, name: str) -> Response:
    body = json.dumps(data, indent=2, sort_keys=True)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type="application/json", headers=headers)


def _read_routes(app: FastAPI, state: ContractsState) -> None:
    portal = state.portal

    def file_route(path: str, make: Callable[[acts.PortalDesk, Any], Any], name: str) -> None:
        async def route(request: Request, key: str) -> Response:
            session = portal.session(request)
            desk = state.desk(session)
            if "/n/" not in path and not key.isdigit():
                return portal.render(request, "result.html", session, 404, error="no such file")
            try:
                data = make(desk, int(key) if key.isdigit() else key)
            except (GridLedgerError, ValueError) as exc:
                return portal.render(request, "result.html", session, 404, error=error_line(exc))
            if isinstance(data, str):
                return HTMLResponse(data)
            return _json_file(data, name.format(key=key[:10]))

        app.add_api_route(path, route, methods=["GET"])

    file_route("/contracts/n/{key}/envelope.json", _envelope, "envelope-{key}.json")
    file_route("/contracts/n/{key}/signature.json", _signature, "signature-{key}.json")
    file_route("/contracts/{key}/amendment.json", _amendment_file, "amendment-{key}.json")
    file_route(
        "/contracts/{key}/bundle.json",
        lambda d, no: _bundle(d, no).model_dump(mode="json"),
        "contract-{key}-bundle.json",
    )
    file_route("/contracts/{key}/document.html", lambda d, no: _bundle(d, no).html, "")

    @app.get("/contracts/n/{nid}", response_class=HTMLResponse)
    def negotiation(request: Request, nid: str) -> Response:
        return _negotiation(state, request, portal.session(request), nid)

    @app.get("/contracts/{contract_no}", response_class=HTMLResponse)
    def contract(request: Request, contract_no: int) -> Response:
        return _contract(state, request, portal.session(request), contract_no)


def _negotiation(
    state: ContractsState, request: Request, session: Session, nid: str, **kw: Any
) -> Response:
    desk = state.desk(session)
    try:
        row = next(r for r in negotiation_rows(desk) if r["nid"] == nid)
    except StopIteration:
        return state.portal.render(
            request, "result.html", session, 404, error=f"no negotiation {nid}"
        )
    sigs = acts.terms_signatures(desk, nid)
    view = {"row": row, "steps": desk.store.steps(nid), "signed": sorted(sigs)}
    view["me"] = desk.account.address.lower()
    status = kw.pop("status", 200)
    return state.portal.render(request, "contract_negotiation.html", session, status, **view, **kw)


def _contract(
    state: ContractsState, request: Request, session: Session, no: int, **kw: Any
) -> Response:
    desk = state.desk(session)
    try:
        view = _contract_view(desk, no)
    except GridLedgerError as exc:
        return state.portal.render(request, "result.html", session, 404, error=error_line(exc))
    me = desk.account.address.lower()
    return state.portal.render(
        request, "contract.html", session, kw.pop("status", 200), me=me, **view, **kw
    )


def _action(
    app: FastAPI,
    state: ContractsState,
    path: str,
    build: Callable[[acts.PortalDesk, dict[str, str]], PendingAction],
    back: Callable[[ContractsState, Request, Session, dict[str, str], str], Response],
) -> None:
    """POST ``path``: the action ``build`` makes goes to ``/confirm``; a refusal is one line
    on the page ``back`` renders."""

    async def route(request: Request) -> Response:
        session = state.portal.session(request)
        fields = await state.portal.form(request, session)
        try:
            action = build(state.desk(session), fields)
        except (GridLedgerError, PydanticValidationError) as exc:
            return back(state, request, session, fields, error_line(exc))
        return state.portal.confirm_redirect(session, action)

    app.add_api_route(path, route, methods=["POST"], response_class=HTMLResponse)


def _to_list(
    state: ContractsState, request: Request, session: Session, fields: dict[str, str], error: str
) -> Response:
    return _page(state, request, session, status=422, error=error, fields=fields)


def _to_negotiation(
    state: ContractsState, request: Request, session: Session, fields: dict[str, str], error: str
) -> Response:
    nid = fields.get("negotiation_id", "")
    return _negotiation(state, request, session, nid, status=422, error=error)


def _to_contract(
    state: ContractsState, request: Request, session: Session, fields: dict[str, str], error: str
) -> Response:
    no = fields.get("contract_no", "")
    if not no.isdigit():
        return _to_list(state, request, session, fields, error)
    return _contract(state, request, session, int(no), status=422, error=error)


def _amend(desk: acts.PortalDesk, fields: dict[str, str]) -> PendingAction:
    form: acts.AmendForm = parse(acts.AmendForm, fields)
    template_key, values = current_document(desk, form.contract_no)
    template = template_by_key(template_key)
    return acts.amend_action(desk, form, template, template.parse(values))


def _cosign(desk: ContractDesk, fields: dict[str, str]) -> PendingAction:
    no = fields.get("contract_no", "")
    if not no.isdigit():
        raise ValidationError(f"not a contract number: {no!r}")
    return acts.cosign_amendment_action(desk, int(no))


def _write_routes(app: FastAPI, state: ContractsState) -> None:
    def answer(kind: str) -> Callable[[ContractDesk, dict[str, str]], PendingAction]:
        return lambda d, f: acts.answer_action(d, parse(acts.NegotiationForm, f), kind)

    _action(
        app,
        state,
        "/contracts/propose",
        lambda d, f: acts.propose_action(d, parse(acts.ProposeForm, f)),
        _to_list,
    )
    _action(
        app,
        state,
        "/contracts/counter",
        lambda d, f: acts.counter_action(d, parse(acts.CounterForm, f)),
        _to_negotiation,
    )
    _action(app, state, "/contracts/accept", answer("accept"), _to_negotiation)
    _action(app, state, "/contracts/reject", answer("reject"), _to_negotiation)
    _action(
        app,
        state,
        "/contracts/sign",
        lambda d, f: acts.sign_action(d, parse(acts.NegotiationForm, f)),
        _to_negotiation,
    )
    _action(
        app,
        state,
        "/contracts/register",
        lambda d, f: acts.register_action(d, parse(acts.NegotiationForm, f)),
        _to_negotiation,
    )
    _action(app, state, "/contracts/amend", _amend, _to_contract)
    _action(app, state, "/contracts/cosign", _cosign, _to_contract)

    @app.post("/contracts/load", response_class=HTMLResponse)
    async def load(request: Request) -> Response:
        session = state.portal.session(request)
        fields = await state.portal.form(request, session)
        try:
            done = load_file(state.desk(session), fields.get("file", ""))
        except GridLedgerError as exc:
            return _page(state, request, session, status=422, load_error=error_line(exc))
        return _page(state, request, session, loaded=done)


def register(app: FastAPI, portal: Portal) -> None:
    """Add the contracts pages to the portal app (``app.state.contracts``: the stores)."""
    state = ContractsState(portal)
    app.state.contracts = state

    @app.get("/contracts", response_class=HTMLResponse)
    def contracts(request: Request) -> Response:
        return _page(state, request, portal.session(request))

    _write_routes(app, state)
    _read_routes(app, state)
