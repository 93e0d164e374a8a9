"""What the institutions' pages (:mod:`node.portal.review` for the VERIFIER,
:mod:`node.portal.operator` for the OPERATOR) share: the role check of the session's wallet
(asked of ``MarketAccess`` once per session and role), the 403 page, and the outcome lines
of a signed transaction (its events with every field, its hash)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from web3.types import TxReceipt

from ledger.addresses import checksum_address
from ledger.clients.access import MarketAccessClient
from ledger.clients.base import ContractClient
from ledger.errors import GridLedgerError
from node.portal.app import Portal
from node.portal.sessions import Session


class RoleRequiredError(Exception):
    """A page for ``role`` asked by a wallet that does not hold it (a 403 page)."""

    def __init__(self, session: Session, role: str) -> None:
        self.session = session
        self.role = role


class Roles:
    """Which roles the session's wallet holds (cached per session: a role granted or
    revoked meanwhile shows at the next log-in)."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._held: dict[tuple[str, str], bool] = {}

    def has(self, session: Session | None, role: str) -> bool:
        if session is None or session.account is None:
            return False
        key = (session.id, role)
        if key not in self._held:
            access = self.portal.ctx.client(MarketAccessClient, session.account)
            self._held[key] = access.has_role(role, session.account.address)
        return self._held[key]

    def require(self, request: Request, role: str) -> Session:
        """The request's live session, if its wallet holds ``role``."""
        session = self.portal.session(request)
        if not self.has(session, role):
            raise RoleRequiredError(session, role)
        return session


def roles(app: FastAPI, portal: Portal) -> Roles:
    """The app's :class:`Roles` (made once; the templates' ``has_role(session, ROLE)``)."""
    held: Roles | None = getattr(app.state, "portal_roles", None)
    if held is None:
        held = Roles(portal)
        app.state.portal_roles = held
        portal.templates.env.globals["has_role"] = held.has

        @app.exception_handler(RoleRequiredError)
        async def forbidden(request: Request, exc: RoleRequiredError) -> Response:
            return _forbidden(portal, request, exc.session, exc.role)

    return held


def _forbidden(portal: Portal, request: Request, session: Session, role: str) -> HTMLResponse:
    """The one-line 403 page of a page for ``role`` that the wallet does not hold."""
    return portal.render(
        request,
        "result.html",
        session,
        403,
        title="Not allowed",
        error=f"Refused: these pages are for a wallet holding the {role} role; "
        f"{session.wallet} does not hold it.",
    )


T = TypeVar("T")


def form_value(parse: Callable[[str], T]) -> Callable[[str], T]:
    """``parse`` as a form field's validator: its refusal (a :class:`GridLedgerError`)
    becomes the ``ValueError`` pydantic reports as the field's one line."""

    def check(value: str) -> T:
        try:
            return parse(value.strip())
        except GridLedgerError as exc:
            raise ValueError(str(exc)) from exc

    return check


#: A form's address, checksummed (``not an address: '0x12'`` otherwise).
check_address = form_value(checksum_address)


def _value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def event_lines(client: ContractClient, receipt: TxReceipt, *names: str) -> list[tuple[str, str]]:
    """Each ``names`` event ``client``'s contract emitted in ``receipt``, with every field
    (``NodeApproved(node=0x…, entityHash=0x…, verifier=0x…)``), then the tx hash."""
    out = []
    for name in names:
        for event in client.events(receipt, name):
            fields = ", ".join(f"{k}={_value(v)}" for k, v in event["args"].items())
            out.append(("event", f"{name}({fields})"))
    out.append(("tx hash", receipt["transactionHash"].to_0x_hex()))
    return out


def register(app: FastAPI, portal: Portal) -> None:
    """Add the verifier's and the operator's pages (each shown to its role only)."""
    from node.portal import operator, review

    review.register(app, portal)
    operator.register(app, portal)
