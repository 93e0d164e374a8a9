"""The service desk's tables, in its own database (``<data_dir>/desk/desk.db`` by default,
any SQLAlchemy URL otherwise; docs/desk.md).

``desk_changes`` is the append-only log of every state change (numbered from 1): each row's
``leaf`` is keccak256 of the change's canonical JSON, and batches of consecutive leaves are
anchored on chain (``DeskAnchor``). The complaint rows are what the changes leave, so
``gridledger desk verify`` can replay the log and name a row edited behind the desk's back.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Addr = String(64)  # an address, or ``apikey:<id>`` for staff calling the API with a key


class DeskBase(DeclarativeBase):
    """The desk's own declarative base (its tables migrate with it, not with the gateway)."""


class Complaint(DeskBase):
    """A complaint or request filed by a participant."""

    __tablename__ = "desk_complaints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    filer: Mapped[str] = mapped_column(Addr, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    assignee: Mapped[str | None] = mapped_column(Addr)
    filed_at: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(Integer)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    trade_id: Mapped[int | None] = mapped_column(Integer)
    contract_id: Mapped[int | None] = mapped_column(Integer)
    bill: Mapped[str | None] = mapped_column(String(80))
    meter: Mapped[str | None] = mapped_column(String(80))


class Change(DeskBase):
    """One state change (filing, assignment, move, rating, attachment), attributed."""

    __tablename__ = "desk_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("desk_complaints.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(Addr)
    actor_role: Mapped[str] = mapped_column(String(16))
    at: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    leaf: Mapped[str] = mapped_column(String(66))


class Attachment(DeskBase):
    """A file attached to a complaint, kept with its sha256 (bytes in the database)."""

    __tablename__ = "desk_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("desk_complaints.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class AnchoredBatch(DeskBase):
    """A batch of changes anchored on chain (the desk's copy of ``DeskBatchAnchored``)."""

    __tablename__ = "desk_batches"
    batch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_change: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66))
    anchored_at: Mapped[int] = mapped_column(Integer)


class Article(DeskBase):
    """A knowledge-base article (searched with the database's full-text search)."""

    __tablename__ = "desk_articles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(400))
    author: Mapped[str] = mapped_column(Addr)
    created_at: Mapped[int] = mapped_column(Integer)


class Announcement(DeskBase):
    """An announcement by the operator or the regulator."""

    __tablename__ = "desk_announcements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Addr)
    author_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(Integer)
