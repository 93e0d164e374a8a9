"""The notification centre's store: a SQLite file in the data dir (``notify.db``), the
:mod:`ledger.db` engine (WAL, busy timeout) with its own tables.

- ``notify_reminders``: one row per (participant, reminder key), written once: it is both the
  portal's inbox entry and the "already sent" mark. Its primary key makes a second insert of
  the same key fail, so no pass, process or restart records a reminder twice.
- ``notify_outbox``: the e-mail of a reminder, inserted in the SAME transaction as its
  reminder row when the participant's e-mail channel is on; ``sent_at`` is set once the
  SMTP server accepted it. A failed send keeps the row (attempts, last error) for the next
  pass.
- ``notify_channels`` and ``notify_addresses``: each participant's channels per kind
  (default: portal and e-mail on) and its e-mail address (none: no e-mail).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, Integer, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger.db import engine_for_url, session_factory
from node.notify.reminders import KINDS, Reminder

FILE_NAME = "notify.db"


class Base(DeclarativeBase):
    """The notification centre's tables (created on open; no migrations yet)."""


class ReminderRow(Base):
    __tablename__ = "notify_reminders"

    participant: Mapped[str] = mapped_column(String(42), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    at: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(Integer)
    portal: Mapped[bool]
    read_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class OutboxRow(Base):
    __tablename__ = "notify_outbox"
    __table_args__ = (UniqueConstraint("participant", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant: Mapped[str] = mapped_column(String(42))
    key: Mapped[str] = mapped_column(String(300))
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ChannelRow(Base):
    __tablename__ = "notify_channels"

    participant: Mapped[str] = mapped_column(String(42), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    portal: Mapped[bool]
    mail: Mapped[bool]


class AddressRow(Base):
    __tablename__ = "notify_addresses"

    participant: Mapped[str] = mapped_column(String(42), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))


class Channels(BaseModel):
    """A participant's channels for one kind."""

    model_config = ConfigDict(frozen=True)

    kind: str
    portal: bool = True
    mail: bool = True


class Mail(BaseModel):
    """A queued e-mail."""

    model_config = ConfigDict(frozen=True)

    id: int
    participant: str
    key: str
    to_addr: str
    subject: str
    body: str
    attempts: int
    last_error: str
    sent_at: int | None


class Stored(BaseModel):
    """A recorded reminder as the inbox shows it."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: str
    title: str
    detail: str
    at: int
    created_at: int
    portal: bool
    read_at: int | None


def _mail(row: OutboxRow) -> Mail:
    return Mail.model_validate(row, from_attributes=True)


class NotifyStore:
    """Reminders recorded once, the e-mail outbox, channel preferences."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = engine_for_url(url)
        Base.metadata.create_all(self.engine)
        self._sessions = session_factory(self.engine)

    @classmethod
    def in_dir(cls, data_dir: Path) -> NotifyStore:
        return cls(f"sqlite:///{data_dir / FILE_NAME}")

    def close(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------- preferences

    def channels(self, participant: str) -> dict[str, Channels]:
        """Every kind's channels (the default where none was chosen)."""
        with self._sessions() as s:
            rows = s.scalars(select(ChannelRow).where(ChannelRow.participant == participant))
            chosen = {r.kind: Channels(kind=r.kind, portal=r.portal, mail=r.mail) for r in rows}
        return {k: chosen.get(k, Channels(kind=k)) for k in KINDS}

    def set_channels(self, participant: str, channels: Channels) -> None:
        with self._sessions.begin() as s:
            s.merge(
                ChannelRow(
                    participant=participant,
                    kind=channels.kind,
                    portal=channels.portal,
                    mail=channels.mail,
                )
            )

    def address(self, participant: str) -> str | None:
        with self._sessions() as s:
            row = s.get(AddressRow, participant)
            return row.email if row else None

    def set_address(self, participant: str, email: str | None) -> None:
        with self._sessions.begin() as s:
            row = s.get(AddressRow, participant)
            if email is None:
                if row is not None:
                    s.delete(row)
            else:
                s.merge(AddressRow(participant=participant, email=email))

    # ---------------------------------------------------------------- recording

    def record(
        self, participant: str, reminders: Sequence[Reminder], now: int, subject_prefix: str
    ) -> list[Reminder]:
        """Record each reminder not recorded yet (inbox row and, with the e-mail channel on
        and an address known, its queued e-mail, in one transaction); returns the new ones."""
        channels = self.channels(participant)
        email = self.address(participant)
        new: list[Reminder] = []
        for r in reminders:
            ch = channels[r.kind]
            try:
                with self._sessions.begin() as s:
                    if s.get(ReminderRow, (participant, r.key)) is not None:
                        continue
                    s.add(
                        ReminderRow(
                            participant=participant,
                            key=r.key,
                            kind=r.kind,
                            title=r.title,
                            detail=r.detail,
                            at=r.at,
                            created_at=now,
                            portal=ch.portal,
                            read_at=None,
                        )
                    )
                    if ch.mail and email:
                        s.add(
                            OutboxRow(
                                participant=participant,
                                key=r.key,
                                to_addr=email,
                                subject=f"{subject_prefix}{r.title}",
                                body=f"{r.detail}\n\n({r.key})\n",
                                attempts=0,
                                last_error="",
                            )
                        )
            except IntegrityError:
                continue  # another process recorded it first
            new.append(r)
        return new

    # ---------------------------------------------------------------- e-mail outbox

    def pending_mail(self, participant: str | None = None) -> list[Mail]:
        with self._sessions() as s:
            q = select(OutboxRow).where(OutboxRow.sent_at.is_(None))
            if participant is not None:
                q = q.where(OutboxRow.participant == participant)
            return [_mail(r) for r in s.scalars(q.order_by(OutboxRow.id))]

    def mail(self, participant: str) -> list[Mail]:
        with self._sessions() as s:
            q = select(OutboxRow).where(OutboxRow.participant == participant)
            return [_mail(r) for r in s.scalars(q.order_by(OutboxRow.id))]

    def mark_sent(self, mail_id: int, now: int) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.id == mail_id, OutboxRow.sent_at.is_(None))
                .values(sent_at=now, attempts=OutboxRow.attempts + 1, last_error="")
            )

    def mark_failed(self, mail_id: int, error: str) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.id == mail_id)
                .values(attempts=OutboxRow.attempts + 1, last_error=error[:500])
            )

    # ---------------------------------------------------------------- inbox

    def inbox(self, participant: str, include_hidden: bool = False) -> list[Stored]:
        """The participant's recorded reminders, newest first (portal channel only unless
        ``include_hidden``)."""
        with self._sessions() as s:
            q = select(ReminderRow).where(ReminderRow.participant == participant)
            if not include_hidden:
                q = q.where(ReminderRow.portal.is_(True))
            q = q.order_by(ReminderRow.created_at.desc(), ReminderRow.at.desc(), ReminderRow.key)
            return [Stored.model_validate(r, from_attributes=True) for r in s.scalars(q)]

    def unread_count(self, participant: str) -> int:
        with self._sessions() as s:
            q = select(func.count()).where(
                ReminderRow.participant == participant,
                ReminderRow.portal.is_(True),
                ReminderRow.read_at.is_(None),
            )
            return int(s.scalar(q) or 0)

    def mark_read(self, participant: str, now: int, key: str | None = None) -> int:
        """Mark one reminder (or all) read; returns how many changed."""
        with self._sessions.begin() as s:
            q = update(ReminderRow).where(
                ReminderRow.participant == participant, ReminderRow.read_at.is_(None)
            )
            if key is not None:
                q = q.where(ReminderRow.key == key)
            return int(s.execute(q.values(read_at=now)).rowcount)  # type: ignore[attr-defined]
