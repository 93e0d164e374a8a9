"""Server-side portal sessions: a random id in an HttpOnly, SameSite=Strict cookie, the
unlocked key held only in this process's memory, an idle timeout, a CSRF token per session,
and actions waiting for confirmation (what the confirmation page shows is what is signed)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

COOKIE = "gl_portal"


@dataclass
class Outcome:
    """What a signed action did: its transaction(s) and events, as lines to show."""

    title: str
    lines: list[tuple[str, str]]


@dataclass
class PendingAction:
    """An action shown on the confirmation page; ``run`` signs and sends exactly it."""

    title: str
    function: str
    lines: list[tuple[str, str]]
    run: Callable[[], Outcome]
    warnings: list[str] = field(default_factory=list)
    back: str = "/offers"
    """The page that cancel leads back to."""


@dataclass
class Session:
    id: str
    wallet: str
    account: LocalAccount | None
    csrf: str
    last_seen: float
    pending: dict[str, PendingAction] = field(default_factory=dict)

    def wipe(self) -> None:
        """Forget the unlocked key and every waiting action."""
        self.account = None
        self.pending.clear()


class SessionStore:
    """The sessions of one portal process (in memory only: a restart logs everyone out)."""

    def __init__(self, idle_timeout_s: float, clock: Callable[[], float] = time.monotonic):
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def create(self, wallet: str, account: LocalAccount) -> Session:
        session = Session(
            id=secrets.token_urlsafe(32),
            wallet=wallet,
            account=account,
            csrf=secrets.token_urlsafe(32),
            last_seen=self.clock(),
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of ``session_id`` (touched), or None; an idle one is wiped."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if now - session.last_seen > self.idle_timeout_s:
            self.drop(session_id)
            return None
        session.last_seen = now
        return session

    def drop(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            session.wipe()

    def park(self, session: Session, action: PendingAction) -> str:
        """Keep ``action`` for confirmation; its id goes into the confirmation form."""
        action_id = secrets.token_urlsafe(16)
        session.pending = {action_id: action}  # one confirmation at a time
        return action_id


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (missing never matches)."""
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))
