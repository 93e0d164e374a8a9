"""The VERIFIER's pages (``/review``): the queue of applications, change requests and
licence certificates awaiting review, a node's page, its decrypted identity bundle shown
only there and only after the verifier states a reason, and approve / reject through
``/confirm``.

Everything goes through :class:`node.registry.participant.Verifier`, the class behind
``gridledger verifier pending|show|approve|reject``: the bundle is read with
:meth:`~ledger.identity.IdentityVault.read` (the audited read: an entry in the hash-chained
access log with the verifier's address, the node and the reason, before anything is
decrypted) from the vault the settings point at (:meth:`IdentityVault.from_settings`, as the
CLI's). An approval of an application reads and checks the bundle again when it is signed
(logged with the reason given on the form)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator
from pydantic import ValidationError as PydanticValidationError
from web3.types import TxReceipt

from ledger.clients.registry import NodeKind, NodeRegistryClient, NodeStatus, Side, code, code_text
from ledger.errors import GridLedgerError, ValidationError
from ledger.identity import IdentityVault
from ledger.identity_audit import check_reason
from node.portal.app import Portal, error_line, parse
from node.portal.institutions import check_address, event_lines, form_value, roles
from node.portal.sessions import Outcome, PendingAction, Session
from node.registry.participant import Verifier

ROLE = "VERIFIER"
What = Literal["application", "change", "qualification"]


def _checked_code(value: str) -> str:
    code(value)
    return value


_code = form_value(_checked_code)


class DecisionForm(BaseModel):
    """Approve or reject one item of the queue (``verifier approve|reject NODE``)."""

    node: str
    what: What = "application"
    licence: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=500)

    _node = field_validator("node")(check_address)

    @field_validator("licence")
    @classmethod
    def _licence(cls, value: str | None) -> str | None:
        return None if value is None else _code(value)


class ReviewState:
    """Per portal: the identity vault (opened on first use, from the settings)."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._vault: IdentityVault | None = None

    def verifier(self, session: Session) -> Verifier:
        assert session.account is not None  # Portal.session() refuses a wiped session
        if self._vault is None:
            self._vault = IdentityVault.from_settings(self.portal.ctx.settings)
        return Verifier(self.portal.ctx, session.account, self._vault)


def _node_view(verifier: Verifier, node: str) -> dict[str, Any]:
    """The node's entry, pending change and certificates as the detail page shows them."""
    registry = verifier.registry
    info = registry.node_info(node)
    if info.status == NodeStatus.NONE:
        raise ValidationError(f"{node} never applied")
    change = registry.change_request_of(node)
    return {
        "info": info,
        "status": NodeStatus(info.status).name.lower(),
        "role": f"{NodeKind(info.kind).name.lower()} ({Side(info.side).name.lower()})",
        "name": registry.display_name_of(node),
        "change": change if change.pending else None,
        "identity_changes": change.pending and change.identity_hash != info.identity_hash,
        "qualifications": registry.qualifications_of(node),
    }


def _queue(state: ReviewState, request: Request, session: Session, **kw: Any) -> Response:
    verifier = state.verifier(session)
    names = verifier.registry.display_name_of
    items = [{"i": i, "name": names(i.node)} for i in verifier.pending()]
    return state.portal.render(
        request, "review.html", session, kw.pop("status", 200), items=items, **kw
    )


def _detail(
    state: ReviewState, request: Request, session: Session, node: str, **kw: Any
) -> Response:
    status = kw.pop("status", 200)
    try:
        view = _node_view(state.verifier(session), check_address(node))
    except (GridLedgerError, ValueError) as exc:
        return _queue(state, request, session, status=422, error=error_line(exc))
    return state.portal.render(request, "review_node.html", session, status, node=view, **kw)


def _who(registry: NodeRegistryClient, node: str) -> str:
    """A node in a title: its display name, else its address shortened."""
    return registry.display_name_of(node) or f"{node[:10]}…{node[-4:]}"


def _approve_action(verifier: Verifier, form: DecisionForm) -> PendingAction:
    """``verifier approve NODE [--qualification L | --change]`` as a confirmable action."""
    node, reg = form.node, verifier.registry
    info, who = reg.node_info(node), _who(reg, node)
    lines = [
        ("node", node),
        ("name", reg.display_name_of(node) or "-"),
        ("kind", f"{NodeKind(info.kind).name.lower()} ({Side(info.side).name.lower()})"),
        ("region", str(info.region)),
    ]
    if form.what == "qualification":
        if form.licence is None:
            raise ValidationError("licence: give the licence type of the certificate")
        licence = form.licence
        lines.append(("licence", licence))

        def run_qualification() -> Outcome:
            receipt = verifier.approve_qualification(node, licence)
            return Outcome(
                f"Approved {licence} of {who}", event_lines(reg, receipt, "QualificationApproved")
            )

        fn = f"NodeRegistry.approveQualification({node}, {licence})"
        return PendingAction(
            f"Approve {licence} of {who}",
            fn,
            lines,
            run_qualification,
            back=f"/review/node/{node}",
        )
    reason = check_reason(form.reason)
    if form.what == "change":
        change = reg.change_request_of(node)
        if not change.pending:
            raise ValidationError(f"{node} has no pending change request")
        lines += [
            (
                "change",
                f"#{change.change_id}: region {change.region}, "
                f"{change.capacity_kw:,} kW, {change.carbon_intensity_g_per_kwh} g/kWh",
            ),
            ("identity read", f"logged with the reason {reason!r} (if it changed)"),
        ]

        def run_change() -> Outcome:
            receipt = verifier.approve_change(node, reason)
            return Outcome(
                f"Approved the change request of {who}",
                event_lines(reg, receipt, "ChangeApproved"),
            )

        return PendingAction(
            f"Approve the change request of {who}",
            f"NodeRegistry.approveChange({node})",
            lines,
            run_change,
            back=f"/review/node/{node}",
        )
    if info.status != NodeStatus.PENDING:
        raise ValidationError(f"{node} is {NodeStatus(info.status).name.lower()}, not pending")
    lines += [
        ("identity hash", "0x" + info.identity_hash.hex()),
        ("capacity", f"{info.capacity_kw:,} kW"),
        (
            "identity check",
            f"the bundle is decrypted and checked against the chain "
            f"again; the read is logged with the reason {reason!r}",
        ),
    ]

    def run_application() -> Outcome:
        receipt = verifier.approve(node, reason)
        return Outcome(f"Approved {who}", event_lines(reg, receipt, "NodeApproved"))

    return PendingAction(
        f"Approve the application of {who}",
        f"NodeRegistry.approveNode({node})",
        lines,
        run_application,
        back=f"/review/node/{node}",
    )


def _reject_action(verifier: Verifier, form: DecisionForm) -> PendingAction:
    """``verifier reject NODE --reason CODE [--qualification L | --change]``."""
    node, reg = form.node, verifier.registry
    who = _who(reg, node)
    if not form.reason:
        raise ValidationError("reason: give a reason code, e.g. DOCS_INCOMPLETE")
    reason = form.reason
    code(reason)  # a readable refusal of a bad code now, not at signing
    lines = [("node", node), ("name", reg.display_name_of(node) or "-"), ("reason code", reason)]
    send: Callable[[], TxReceipt]
    if form.what == "qualification":
        if form.licence is None:
            raise ValidationError("licence: give the licence type of the certificate")
        licence = form.licence
        lines.append(("licence", licence))
        what, event = f"{licence} of {who}", "QualificationRejected"
        fn = f"NodeRegistry.rejectQualification({node}, {licence}, {reason})"
        send = lambda: verifier.reject_qualification(node, licence, reason)  # noqa: E731
    elif form.what == "change":
        what, event = f"the change request of {who}", "ChangeRejected"
        fn = f"NodeRegistry.rejectChange({node}, {reason})"
        send = lambda: verifier.reject_change(node, reason)  # noqa: E731
    else:
        what, event = f"the application of {who}", "NodeRejected"
        fn = f"NodeRegistry.rejectNode({node}, {reason})"
        send = lambda: verifier.reject(node, reason)  # noqa: E731

    def run() -> Outcome:
        return Outcome(f"Rejected {what}", event_lines(reg, send(), event))

    return PendingAction(f"Reject {what}", fn, lines, run, back=f"/review/node/{node}")


def _bundle_lines(bundle: Any) -> list[tuple[str, str]]:
    """The bundle's fields (not the salt), documents joined."""
    out = []
    for field, value in bundle.model_dump(exclude={"salt"}).items():
        text = ", ".join(value) if isinstance(value, list | tuple) else str(value)
        out.append((field, text or "-"))
    return out


Build = Callable[[Verifier, DecisionForm], PendingAction]


def _routes(app: FastAPI, state: ReviewState) -> None:
    portal, held = state.portal, roles(app, state.portal)

    @app.get("/review", response_class=HTMLResponse)
    def queue(request: Request) -> Response:
        return _queue(state, request, held.require(request, ROLE))

    @app.get("/review/node/{node}", response_class=HTMLResponse)
    def detail(request: Request, node: str) -> Response:
        return _detail(state, request, held.require(request, ROLE), node)

    @app.post("/review/node/{node}/view", response_class=HTMLResponse)
    async def view(request: Request, node: str) -> Response:
        session = held.require(request, ROLE)
        reason = (await portal.form(request, session)).get("reason", "")
        try:
            _, bundle = state.verifier(session).show(check_address(node), reason)
        except (GridLedgerError, ValueError) as exc:
            refused = f"Refused: {error_line(exc)}"
            return _detail(state, request, session, node, status=422, view_error=refused,
                           reason=reason)  # fmt: skip
        return _detail(state, request, session, node, bundle=_bundle_lines(bundle),
                       reason=check_reason(reason))  # fmt: skip

    def decision(build: Build) -> Callable[[Request], Awaitable[Response]]:
        """POST: the decision goes to ``/confirm``; a refusal stands on the node's page."""

        async def route(request: Request) -> Response:
            session = held.require(request, ROLE)
            fields = await portal.form(request, session)
            try:
                action = build(state.verifier(session), parse(DecisionForm, fields))
            except (GridLedgerError, PydanticValidationError) as exc:
                return _detail(state, request, session, fields.get("node", ""), status=422,
                               decision_error=error_line(exc))  # fmt: skip
            return portal.confirm_redirect(session, action)

        return route

    for path, build in (("/review/approve", _approve_action), ("/review/reject", _reject_action)):
        app.add_api_route(path, decision(build), methods=["POST"], response_class=HTMLResponse)


def register(app: FastAPI, portal: Portal) -> None:
    """Add the verifier's pages; the nav shows *Review* to VERIFIER wallets only."""
    portal.templates.env.filters["code_text"] = code_text
    _routes(app, ReviewState(portal))
