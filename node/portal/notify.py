"""The notification page (``/notifications``): the participant's reminders (each recorded
once by :mod:`node.notify`), mark read, channel preferences; the nav shows the unread count.

Opening the page runs one pass of the notification centre for the logged-in participant
(new reminders are recorded, e-mail is queued but not sent here: ``gridledger notify run``
sends it), so the page is current even without the background loop."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import GridLedgerError
from node.notify.centre import check
from node.notify.reminders import KINDS
from node.notify.store import Channels, NotifyStore
from node.portal.app import Portal, error_line
from node.portal.sessions import Session


class NotifyState:
    """Per portal: the store in the data dir (opened on first use)."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._store: NotifyStore | None = None

    @property
    def store(self) -> NotifyStore:
        if self._store is None:
            self._store = NotifyStore.in_dir(self.portal.ctx.settings.data_dir)
        return self._store

    def unread(self, session: Session | None) -> int:
        """Unread reminders of the session's participant (0 before log-in)."""
        if session is None or session.account is None:
            return 0
        try:
            return self.store.unread_count(str(session.account.address))
        except SQLAlchemyError:  # an unreadable store must not break every page's nav
            return 0


def _page(state: NotifyState, request: Request, session: Session, **kw: Any) -> Response:
    assert session.account is not None
    me = str(session.account.address)
    error = ""
    try:
        check(state.portal.ctx, me, state.store, send=False)
    except GridLedgerError as exc:
        error = f"reminders not refreshed: {error_line(exc)}"
    return state.portal.render(
        request,
        "notifications.html",
        session,
        rows=state.store.inbox(me),
        channels=list(state.store.channels(me).values()),
        address=state.store.address(me) or "",
        error=kw.pop("error", error),
        **kw,
    )


def register(app: FastAPI, portal: Portal) -> None:
    """Add ``/notifications`` and its forms; ``notify_unread`` for the nav."""
    state = NotifyState(portal)
    portal.templates.env.globals["notify_unread"] = state.unread

    @app.get("/notifications", response_class=HTMLResponse)
    def notifications(request: Request) -> Response:
        return _page(state, request, portal.session(request))

    @app.post("/notifications/read")
    async def read(request: Request) -> Response:
        session = portal.session(request)
        fields = await portal.form(request, session)
        assert session.account is not None
        now = int(portal.ctx.w3.eth.get_block("latest")["timestamp"])
        state.store.mark_read(str(session.account.address), now, fields.get("key") or None)
        return RedirectResponse("/notifications", 303)

    @app.post("/notifications/channels", response_class=HTMLResponse)
    async def channels(request: Request) -> Response:
        session = portal.session(request)
        fields = await portal.form(request, session)
        assert session.account is not None
        me = str(session.account.address)
        address = fields.get("address", "").strip()
        if address and "@" not in address:
            error = f"not an e-mail address: {address!r}"
            return _page(state, request, session, status=422, error=error)
        state.store.set_address(me, address or None)
        for kind in KINDS:
            on = Channels(
                kind=kind, portal=f"portal_{kind}" in fields, mail=f"mail_{kind}" in fields
            )
            state.store.set_channels(me, on)
        return RedirectResponse("/notifications", 303)
