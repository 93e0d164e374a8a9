"""The append-only, hash-chained log of every read of decrypted identity data.

Whoever decrypts an identity bundle (the regulator through the gateway's
``GET /api/v1/identity/{address}``, the verifier's ``verifier show``/``approve``) first
appends an entry to table ``id_identity_access_log`` in the vault's database: time, reader
(identity, role, key id), node address, record id, the stated reason and the outcome. Each
entry carries the hash of the previous entry (``prev_hash``; 64 zeros for the first) and its
own ``entry_hash`` = sha256 of its canonical JSON (every field but ``entry_hash``), so editing,
inserting or deleting an entry breaks the chain from there on: :func:`verify_chain` finds the
first broken entry. Entries are numbered ``seq`` 1, 2, ... (the primary key), so two writers
can never fork the chain: the second insert of a number fails and is retried on the new head.

The log is append-only by API (nothing here updates or deletes). Truncating its tail is
detected by comparing the head (``seq``, ``entry_hash``) with a copy kept elsewhere (the
regulator's ``gridledger regulator audit-log --verify`` prints it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from hashlib import sha256

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import BigInteger, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ledger.db import Base, make_engine, session_factory
from ledger.errors import GridLedgerError, ValidationError
from ledger.settings import Settings

GENESIS_HASH = "0" * 64
MAX_REASON_CHARS = 500
_APPEND_ATTEMPTS = 8


class AccessLogTamperedError(GridLedgerError):
    """The access log's hash chain is broken (an entry was altered, inserted or removed)."""


class AccessLogRow(Base):
    """One read of decrypted identity data (never updated or deleted)."""

    __tablename__ = "id_identity_access_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[str] = mapped_column(String(40))
    """ISO 8601 UTC time of the read (text, so the hash is the same on every database)."""
    reader: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(42), index=True)
    record_id: Mapped[str] = mapped_column(String(32))
    """The identity record decrypted; "" when none was found."""
    reason: Mapped[str] = mapped_column(String(MAX_REASON_CHARS))
    outcome: Mapped[str] = mapped_column(String(16))
    """``read``, ``not_found`` or ``tampered``."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Reader(BaseModel):
    """Who reads: an identity (an address, a gateway key), its role and key id."""

    model_config = ConfigDict(frozen=True)

    identity: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=32)
    key_id: str = Field(default="", max_length=64)


class AccessEntry(BaseModel):
    """An entry of the log, as listed."""

    seq: int
    at: str
    reader: str
    role: str
    key_id: str
    address: str
    record_id: str
    reason: str
    outcome: str
    prev_hash: str
    entry_hash: str


class ChainCheck(BaseModel):
    """The result of :func:`verify_chain`."""

    ok: bool
    entries: int
    head_seq: int | None
    head_hash: str | None
    first_bad_seq: int | None = None
    problem: str | None = None


def check_reason(reason: str | None) -> str:
    """The stated reason, stripped; raises ``ValidationError`` when empty or too long."""
    text = (reason or "").strip()
    if not text:
        raise ValidationError("a reason for reading identity data is required")
    if len(text) > MAX_REASON_CHARS:
        raise ValidationError(f"the reason is longer than {MAX_REASON_CHARS} characters")
    return text


def entry_hash(fields: dict[str, object]) -> str:
    """sha256 (hex) of the canonical JSON of an entry's fields except ``entry_hash``."""
    body = {k: v for k, v in fields.items() if k != "entry_hash"}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256(data.encode()).hexdigest()


def _fields(row: AccessLogRow) -> dict[str, object]:
    return {c: getattr(row, c) for c in AccessEntry.model_fields}


class AccessLog:
    """Appends to, lists and verifies the access log in one database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def append(
        self, reader: Reader, address: str, record_id: str, reason: str, outcome: str
    ) -> AccessEntry:
        """Chain a new entry onto the head (retried when another writer won the number)."""
        reason = check_reason(reason)
        for attempt in range(_APPEND_ATTEMPTS):
            try:
                return self._append_once(reader, address, record_id, reason, outcome)
            except IntegrityError:
                if attempt == _APPEND_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _append_once(
        self, reader: Reader, address: str, record_id: str, reason: str, outcome: str
    ) -> AccessEntry:
        with self._sessions.begin() as session:
            head = session.scalars(
                select(AccessLogRow).order_by(AccessLogRow.seq.desc()).limit(1)
            ).first()
            fields: dict[str, object] = {
                "seq": head.seq + 1 if head else 1,
                "at": datetime.now(UTC).isoformat(timespec="microseconds"),
                "reader": reader.identity,
                "role": reader.role,
                "key_id": reader.key_id,
                "address": address,
                "record_id": record_id,
                "reason": reason,
                "outcome": outcome,
                "prev_hash": head.entry_hash if head else GENESIS_HASH,
            }
            fields["entry_hash"] = entry_hash(fields)
            session.add(AccessLogRow(**fields))
        return AccessEntry.model_validate(fields)

    def entries(self, after_seq: int = 0, limit: int | None = None) -> list[AccessEntry]:
        """Entries with ``seq > after_seq`` in order (all of them without ``limit``)."""
        query = select(AccessLogRow).where(AccessLogRow.seq > after_seq).order_by(AccessLogRow.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._sessions() as session:
            return [AccessEntry.model_validate(_fields(r)) for r in session.scalars(query)]

    def verify(self) -> ChainCheck:
        """Re-hash the whole chain; see :func:`verify_chain`."""
        return verify_chain(self.entries())

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> AccessLog:
        """The log in the vault's database (``url``, default ``settings.database_url``)."""
        engine = make_engine(settings, url)
        Base.metadata.create_all(engine, tables=[AccessLogRow.__table__])  # type: ignore[list-item]
        return cls(session_factory(engine))


def verify_chain(entries: list[AccessEntry]) -> ChainCheck:
    """Check numbering, links and hashes; the first broken entry is reported."""
    prev = GENESIS_HASH
    for expected_seq, entry in enumerate(entries, start=1):
        problem = None
        if entry.seq != expected_seq:
            problem = f"entry {expected_seq} is missing (next is {entry.seq})"
        elif entry.prev_hash != prev:
            problem = f"entry {entry.seq} does not link to the entry before it"
        elif entry_hash(entry.model_dump()) != entry.entry_hash:
            problem = f"entry {entry.seq} was altered (its hash does not match its content)"
        if problem is not None:
            return ChainCheck(
                ok=False,
                entries=len(entries),
                head_seq=entries[-1].seq,
                head_hash=entries[-1].entry_hash,
                first_bad_seq=expected_seq,
                problem=problem,
            )
        prev = entry.entry_hash
    last = entries[-1] if entries else None
    return ChainCheck(
        ok=True,
        entries=len(entries),
        head_seq=last.seq if last else None,
        head_hash=last.entry_hash if last else None,
    )
