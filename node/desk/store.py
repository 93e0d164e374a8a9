"""The service desk's complaints and requests: filing, assignment, moves, ratings and
attachments, each one attributed, timestamped change of the Merkle-anchored log.

Change numbers are consecutive from 1 (each is the last one plus one, in the writing
transaction), so a batch on chain names its changes by their first number and count.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ledger.db import engine_for_url, session_factory
from ledger.errors import NotFoundError, ValidationError
from ledger.retail.canonical import canonical_hash
from node.desk.errors import DeskError, DeskForbiddenError
from node.desk.fts import install_fts
from node.desk.models import Attachment, Change, Complaint, DeskBase
from node.desk.states import (
    OPEN_STATES,
    Actor,
    DeskRole,
    State,
    check_move_allowed,
    check_transition,
    require_role,
)

KINDS = ("complaint", "request")
#: The advisory lock of the desk's writers on PostgreSQL ("desk" in ASCII).
_PG_LOCK_KEY = 0x6465736B
#: The largest attachment kept (bytes).
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


def default_url(data_dir: Path) -> str:
    """The desk's own database file in the data directory."""
    return f"sqlite:///{data_dir / 'desk' / 'desk.db'}"


def _printable(value: str) -> str:
    """``value`` unless it holds a control character other than tab, newline and carriage
    return (PostgreSQL refuses NUL in text; the others are never meant)."""
    bad = next((ch for ch in value if (ord(ch) < 32 and ch not in "\t\n\r")), None)
    if bad is not None:
        raise ValueError(f"control character U+{ord(bad):04X} is not allowed")
    return value


#: Free text of a request body (no control characters but tab, newline, CR).
PlainText = Annotated[str, AfterValidator(_printable)]


class Links(BaseModel):
    """What a complaint may refer to (all optional)."""

    trade_id: int | None = Field(default=None, ge=0, le=2**62)
    contract_id: int | None = Field(default=None, ge=0, le=2**62)
    bill: PlainText | None = Field(default=None, max_length=80)
    meter: PlainText | None = Field(default=None, max_length=80)


class ChangeOut(BaseModel):
    id: int
    complaint_id: int
    action: str
    from_state: str | None
    to_state: str
    actor: str
    actor_role: str
    at: int
    data: dict[str, Any]
    leaf: str


class AttachmentOut(BaseModel):
    id: int
    name: str
    sha256: str
    size: int


class ComplaintOut(BaseModel):
    id: int
    kind: str
    category: str
    title: str
    body: str
    filer: str
    state: str
    assignee: str | None
    filed_at: int
    due_at: int
    updated_at: int
    overdue: bool
    rating: int | None
    rating_comment: str | None
    links: Links


class ComplaintDetail(ComplaintOut):
    changes: list[ChangeOut]
    attachments: list[AttachmentOut]


def change_record(change: Change) -> dict[str, Any]:
    """The canonical content of a change (its leaf is keccak256 of this as canonical JSON)."""
    return {
        "id": change.id,
        "complaint_id": change.complaint_id,
        "action": change.action,
        "from": change.from_state,
        "to": change.to_state,
        "actor": change.actor,
        "role": change.actor_role,
        "at": change.at,
        "data": _data(change.data),
    }


def _data(raw: str) -> Any:
    """A change's data; text that is not JSON (an edited row) stays text, so it hashes to
    something else than its leaf and ``verify`` names it."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def change_leaf(change: Change) -> bytes:
    return canonical_hash(change_record(change))


def is_overdue(c: Complaint, now: int) -> bool:
    """Open (new or in progress) and past its category's response-time limit."""
    return c.state in OPEN_STATES and now > c.due_at


def complaint_out(c: Complaint, now: int) -> ComplaintOut:
    links = Links(trade_id=c.trade_id, contract_id=c.contract_id, bill=c.bill, meter=c.meter)
    return ComplaintOut(
        id=c.id,
        kind=c.kind,
        category=c.category,
        title=c.title,
        body=c.body,
        filer=c.filer,
        state=c.state,
        assignee=c.assignee,
        filed_at=c.filed_at,
        due_at=c.due_at,
        updated_at=c.updated_at,
        overdue=is_overdue(c, now),
        rating=c.rating,
        rating_comment=c.rating_comment,
        links=links,
    )


def _change_out(ch: Change) -> ChangeOut:
    return ChangeOut(
        id=ch.id,
        complaint_id=ch.complaint_id,
        action=ch.action,
        from_state=ch.from_state,
        to_state=ch.to_state,
        actor=ch.actor,
        actor_role=ch.actor_role,
        at=ch.at,
        data=_data(ch.data),
        leaf=ch.leaf,
    )


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise ValidationError(f"{what} must be 1..{limit} characters")
    return value


class DeskStore:
    """The desk database: complaints with their change log and attachments."""

    def __init__(self, url: str, limits_s: dict[str, int]) -> None:
        try:
            self.engine: Engine = engine_for_url(url)
            DeskBase.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DeskError(f"cannot open the desk database: {reason}") from exc
        self.sessions = session_factory(self.engine)
        self.limits_s = limits_s
        self._write_lock = threading.Lock()
        install_fts(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction, one at a time: a lock in this process, and on PostgreSQL a
        transaction-level advisory lock across processes, so change numbers stay
        consecutive (each is the last one plus one)."""
        with self._write_lock, self.sessions.begin() as s:
            if self.engine.dialect.name == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield s

    def _check_category(self, category: str) -> None:
        if category not in self.limits_s:
            known = ", ".join(sorted(self.limits_s))
            raise ValidationError(f"unknown category {category!r}: use one of {known}")

    # ------------------------------------------------------------------ writes

    def file(
        self,
        actor: Actor,
        category: str,
        title: str,
        body: str,
        *,
        kind: str = "complaint",
        links: Links | None = None,
        now: int | None = None,
    ) -> ComplaintOut:
        """File a complaint or request (state ``new``, due after its category's limit)."""
        self._check_category(category)
        if kind not in KINDS:
            raise ValidationError(f"unknown kind {kind!r}: use complaint or request")
        links = links or Links()
        at = int(time.time()) if now is None else now
        c = Complaint(
            kind=kind,
            category=category,
            title=_text(title, "title", 200),
            body=_text(body, "body", 20_000),
            filer=actor.address,
            state=State.new.value,
            filed_at=at,
            due_at=at + self.limits_s[category],
            updated_at=at,
            **links.model_dump(),
        )
        data = {
            "kind": kind,
            "category": category,
            "title": c.title,
            "body": c.body,
            "due_at": c.due_at,
            **links.model_dump(),
        }
        with self.writing() as s:
            s.add(c)
            s.flush()
            self._log(s, c, actor, "file", None, data, at)
            return complaint_out(c, at)

    def assign(
        self, actor: Actor, complaint_id: int, assignee: str, now: int | None = None
    ) -> ComplaintOut:
        """The operator assigns an open complaint to a member of staff."""
        require_role(actor, DeskRole.operator)
        with self.writing() as s:
            c = self._get(s, complaint_id)
            if c.state == State.closed:
                raise DeskError(f"complaint {complaint_id} is closed")
            at = int(time.time()) if now is None else now
            c.assignee = _text(assignee, "assignee", 64)
            self._log(s, c, actor, "assign", c.state, {"assignee": c.assignee}, at)
            return complaint_out(c, at)

    def move(
        self, actor: Actor, complaint_id: int, target: str, note: str = "", now: int | None = None
    ) -> ComplaintOut:
        """Move a complaint along the state machine (refused moves name both states)."""
        with self.writing() as s:
            c = self._get(s, complaint_id)
            self._check_visible(actor, c)
            to_state = check_transition(complaint_id, c.state, target)
            check_move_allowed(actor, c.filer, c.state, to_state)
            at = int(time.time()) if now is None else now
            previous, c.state = c.state, to_state.value
            self._log(s, c, actor, "move", previous, {"note": note.strip()}, at)
            return complaint_out(c, at)

    def rate(
        self,
        actor: Actor,
        complaint_id: int,
        rating: int,
        comment: str = "",
        now: int | None = None,
    ) -> ComplaintOut:
        """The filer rates the resolution (1..5), once, when resolved or closed."""
        if not 1 <= rating <= 5:
            raise ValidationError(f"rating must be 1..5, not {rating}")
        with self.writing() as s:
            c = self._get(s, complaint_id)
            if actor.address.lower() != c.filer.lower():
                raise DeskForbiddenError(f"only the filer {c.filer} rates complaint {c.id}")
            if c.state not in (State.resolved, State.closed):
                raise DeskError(f"complaint {c.id} is {c.state}: rate it once resolved")
            if c.rating is not None:
                raise DeskError(f"complaint {c.id} is already rated ({c.rating})")
            at = int(time.time()) if now is None else now
            c.rating, c.rating_comment = rating, comment.strip() or None
            data = {"rating": rating, "comment": comment.strip()}
            self._log(s, c, actor, "rate", c.state, data, at)
            return complaint_out(c, at)

    def attach(
        self, actor: Actor, complaint_id: int, name: str, content: bytes, now: int | None = None
    ) -> AttachmentOut:
        """Attach a file (kept with its sha256) to a complaint not yet closed."""
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise ValidationError(f"attachment over {MAX_ATTACHMENT_BYTES} bytes")
        with self.writing() as s:
            c = self._get(s, complaint_id)
            self._check_visible(actor, c)
            if c.state == State.closed:
                raise DeskError(f"complaint {complaint_id} is closed")
            digest = hashlib.sha256(content).hexdigest()
            a = Attachment(
                complaint_id=c.id,
                name=_text(name, "attachment name", 200),
                sha256=digest,
                size=len(content),
                content=content,
            )
            s.add(a)
            s.flush()
            at = int(time.time()) if now is None else now
            data = {"attachment": a.id, "name": a.name, "sha256": digest, "size": a.size}
            self._log(s, c, actor, "attach", c.state, data, at)
            return AttachmentOut(id=a.id, name=a.name, sha256=digest, size=a.size)

    def _log(
        self,
        s: Session,
        c: Complaint,
        actor: Actor,
        action: str,
        from_state: str | None,
        data: dict[str, Any],
        at: int,
    ) -> Change:
        last = s.scalar(select(func.max(Change.id))) or 0
        c.updated_at = at
        ch = Change(
            id=last + 1,
            complaint_id=c.id,
            action=action,
            from_state=from_state,
            to_state=c.state,
            actor=actor.address,
            actor_role=actor.role.value,
            at=at,
            data=json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
            leaf="",
        )
        ch.leaf = "0x" + change_leaf(ch).hex()
        s.add(ch)
        return ch

    # ------------------------------------------------------------------ reads

    def _get(self, s: Session, complaint_id: int) -> Complaint:
        c = s.get(Complaint, complaint_id)
        if c is None:
            raise NotFoundError(f"no complaint {complaint_id}")
        return c

    @staticmethod
    def _check_visible(actor: Actor, c: Complaint) -> None:
        if not actor.is_staff and actor.address.lower() != c.filer.lower():
            raise DeskForbiddenError(f"complaint {c.id} is not {actor.address}'s")

    def show(self, actor: Actor, complaint_id: int, now: int | None = None) -> ComplaintDetail:
        """A complaint with its changes and attachments (its filer or staff)."""
        at = int(time.time()) if now is None else now
        with self.sessions() as s:
            c = self._get(s, complaint_id)
            self._check_visible(actor, c)
            changes = s.scalars(
                select(Change).where(Change.complaint_id == c.id).order_by(Change.id)
            ).all()
            files = s.scalars(
                select(Attachment).where(Attachment.complaint_id == c.id).order_by(Attachment.id)
            ).all()
            return ComplaintDetail(
                **complaint_out(c, at).model_dump(),
                changes=[_change_out(ch) for ch in changes],
                attachments=[
                    AttachmentOut(id=a.id, name=a.name, sha256=a.sha256, size=a.size) for a in files
                ],
            )

    def attachment(self, actor: Actor, complaint_id: int, attachment_id: int) -> tuple[str, bytes]:
        """An attachment's name and bytes (its complaint's filer or staff)."""
        with self.sessions() as s:
            c = self._get(s, complaint_id)
            self._check_visible(actor, c)
            a = s.get(Attachment, attachment_id)
            if a is None or a.complaint_id != c.id:
                raise NotFoundError(f"no attachment {attachment_id} on complaint {c.id}")
            return a.name, a.content

    def complaints(
        self,
        actor: Actor,
        *,
        state: str | None = None,
        category: str | None = None,
        overdue: bool = False,
        now: int | None = None,
    ) -> list[ComplaintOut]:
        """Complaints, newest first: staff see all, a participant its own."""
        at = int(time.time()) if now is None else now
        query = select(Complaint).order_by(Complaint.id.desc())
        if not actor.is_staff:
            query = query.where(Complaint.filer == actor.address)
        if state is not None:
            query = query.where(Complaint.state == State(state).value)
        if category is not None:
            self._check_category(category)
            query = query.where(Complaint.category == category)
        with self.sessions() as s:
            found = [complaint_out(c, at) for c in s.scalars(query)]
        return [c for c in found if c.overdue] if overdue else found

    def counts(self, now: int | None = None) -> dict[str, tuple[int, int]]:
        """``{category: (open, overdue)}`` over every configured category."""
        at = int(time.time()) if now is None else now
        out = {name: (0, 0) for name in sorted(self.limits_s)}
        open_states = [st.value for st in OPEN_STATES]
        with self.sessions() as s:
            for c in s.scalars(select(Complaint).where(Complaint.state.in_(open_states))):
                opened, late = out.get(c.category, (0, 0))
                out[c.category] = (opened + 1, late + int(is_overdue(c, at)))
        return out
