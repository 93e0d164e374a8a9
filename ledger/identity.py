"""Off-chain identity bundles of market nodes, encrypted at rest (AES-256-GCM).

A node's identity bundle (legal representative, ID number, unified social credit code,
bank account, licence, credit report, documents) never goes on chain: the chain holds
``bundle_hash(bundle)`` (keccak256 of its canonical JSON, which includes a random salt so
the hash reveals nothing) and ``entity_hash(uscc)``. The bundle is stored in the SQL
database (``settings.database_url``, table ``id_identity_records``) encrypted with
AES-256-GCM under the verifier's key (``settings.identity_key_file``), with the record
id as associated data, so a ciphertext moved to another record does not decrypt.

The verifier's review (:meth:`IdentityVault.verify`) decrypts the record that matches the
on-chain hash, recomputes the hash and the entity hash and refuses a record that does
not decrypt or does not match (:class:`IdentityTamperedError`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import DateTime, Engine, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from web3 import Web3

from ledger.db import Base, make_engine, session_factory
from ledger.errors import ConfigError, GridLedgerError, NotFoundError
from ledger.identity_audit import AccessLog, AccessLogRow, Reader, check_reason
from ledger.settings import Settings

#: Characters of a unified social credit code (GB 32100-2015: digits and capitals
#: without I, O, Z, S, V) and the weights of its check character.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_KEY_BYTES = 32
_NONCE_BYTES = 12


class IdentityError(GridLedgerError):
    """An identity bundle is missing, invalid or unreadable."""


class IdentityTamperedError(IdentityError):
    """A stored identity record does not decrypt or does not match the chain."""


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character of a unified social credit code."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def normalize_uscc(uscc: str) -> str:
    """The code upper-cased and stripped; raises ``ValueError`` unless it is well-formed."""
    code = uscc.strip().upper()
    if len(code) != 18 or any(c not in _USCC_CHARS for c in code):
        raise ValueError("a unified social credit code is 18 characters of 0-9 and A-Y")
    if uscc_check_char(code[:17]) != code[17]:
        raise ValueError(f"check character of {code} should be {uscc_check_char(code[:17])}")
    return code


def entity_hash(uscc: str) -> bytes:
    """keccak256 of the normalised unified social credit code: a node's entity key."""
    return bytes(Web3.keccak(text=normalize_uscc(uscc)))


class IdentityBundle(BaseModel):
    """What a node submits for real-name review (stored encrypted, never on chain)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="Registered name of the entity.")
    legal_representative: str = Field(min_length=1, max_length=100)
    id_number: str = Field(
        pattern=r"^\d{17}[\dX]$", description="The legal representative's resident ID number."
    )
    uscc: str = Field(description="Unified social credit code (18 characters, checked).")
    bank_account: str = Field(pattern=r"^\d{8,34}$")
    licence: str = Field(min_length=1, max_length=200, description="Business licence reference.")
    credit_report: str = Field(min_length=1, max_length=2000, description="Credit report ref.")
    documents: tuple[str, ...] = Field(default=(), description="Further document references.")
    salt: str = Field(
        default_factory=lambda: secrets.token_hex(32),
        pattern=r"^[0-9a-f]{64}$",
        description="Random salt so the on-chain hash reveals nothing.",
    )

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, value: str) -> str:
        return normalize_uscc(value)

    def canonical_json(self) -> bytes:
        """Sorted keys, no whitespace, UTF-8: the bytes that are hashed and encrypted."""
        data = self.model_dump(mode="json")
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def bundle_hash(self) -> bytes:
        """keccak256 of :meth:`canonical_json`: the identity hash registered on chain."""
        return bytes(Web3.keccak(self.canonical_json()))

    @property
    def entity_hash(self) -> bytes:
        return entity_hash(self.uscc)


def load_bundle(path: Path) -> IdentityBundle:
    """Read a bundle from a JSON file (a missing salt is generated)."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        return IdentityBundle.model_validate(raw)
    except OSError as exc:
        raise IdentityError(f"cannot read identity bundle {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise IdentityError(f"identity bundle {path} is not JSON: {exc.msg}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "bundle"
        raise IdentityError(f"identity bundle {path}: {field}: {first['msg']}") from exc


class IdentityRecord(Base):
    """One encrypted identity bundle (the newest per node and hash is the one reviewed)."""

    __tablename__ = "id_identity_records"

    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node: Mapped[str] = mapped_column(String(42), index=True)
    bundle_hash: Mapped[str] = mapped_column(String(66), index=True)
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(_NONCE_BYTES))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StoredIdentity(BaseModel):
    """Where a bundle was stored."""

    record_id: str
    node: str
    bundle_hash: str


def load_or_create_key(path: Path, *, create: bool = True) -> bytes:
    """The 32-byte key in ``path`` (hex), created with mode 0600 if absent (unless not
    ``create``: then a missing key is a :class:`ConfigError`)."""
    if not path.exists() and not create:
        raise ConfigError(f"identity key {path} does not exist")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(_KEY_BYTES) + "\n")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"identity key {path} is readable by others: chmod 600 it")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError as exc:
        raise ConfigError(f"identity key {path} is not hex") from exc
    if len(key) != _KEY_BYTES:
        raise ConfigError(f"identity key {path} must hold 32 bytes (64 hex digits)")
    return key


def _key_id(key: bytes) -> str:
    return sha256(b"gridledger identity key" + key).hexdigest()[:16]


class IdentityVault:
    """Encrypts, stores, decrypts and checks identity bundles."""

    def __init__(
        self, sessions: sessionmaker[Session], key: bytes, engine: Engine | None = None
    ) -> None:
        if len(key) != _KEY_BYTES:
            raise ConfigError("the identity key must be 32 bytes (AES-256)")
        self._engine = engine
        self._sessions = sessions
        self._aead = AESGCM(key)
        self._key_id = _key_id(key)
        self.audit = AccessLog(sessions)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        url: str | None = None,
        key_file: Path | None = None,
        create_key: bool = True,
    ) -> IdentityVault:
        """The vault on ``url`` (default ``settings.database_url``) with ``key_file``
        (default ``settings.identity_key_file``); its tables are created."""
        key = load_or_create_key(key_file or settings.identity_key_file, create=create_key)
        engine = make_engine(settings, url)
        tables = [IdentityRecord.__table__, AccessLogRow.__table__]
        Base.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
        return cls(session_factory(engine), key, engine)

    def close(self) -> None:
        """Release the database connections (of a vault made by :meth:`from_settings`)."""
        if self._engine is not None:
            self._engine.dispose()

    def store(self, node: str, bundle: IdentityBundle) -> StoredIdentity:
        """Encrypt ``bundle`` for ``node`` under a fresh record id."""
        record_id = uuid.uuid4().hex
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, bundle.canonical_json(), record_id.encode())
        record = IdentityRecord(
            record_id=record_id,
            node=Web3.to_checksum_address(node),
            bundle_hash="0x" + bundle.bundle_hash.hex(),
            key_id=self._key_id,
            nonce=nonce,
            ciphertext=ciphertext,
            created_at=datetime.now(UTC),
        )
        with self._sessions.begin() as session:
            session.add(record)
        return StoredIdentity(record_id=record_id, node=record.node, bundle_hash=record.bundle_hash)

    @contextmanager
    def staged(
        self, node: str, bundle: IdentityBundle, on_chain: Callable[[], bool] | None = None
    ) -> Iterator[StoredIdentity]:
        """Store ``bundle`` for the duration of a registration: the record is deleted
        again when the block raises (a refused transaction leaves no record), unless
        ``on_chain()`` says the chain holds the bundle's hash after all (a transaction mined
        although waiting for it failed) or cannot be asked (the record is kept then)."""
        stored = self.store(node, bundle)
        try:
            yield stored
        except BaseException:
            try:
                keep = on_chain is not None and on_chain()
            except GridLedgerError:
                keep = True
            if not keep:
                self.delete(stored.record_id)
            raise

    def delete(self, record_id: str) -> None:
        """Remove record ``record_id`` (only for a registration that did not happen)."""
        with self._sessions.begin() as session:
            session.execute(delete(IdentityRecord).where(IdentityRecord.record_id == record_id))

    def records_of(self, node: str) -> list[str]:
        """Record ids of ``node``, newest first."""
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(IdentityRecord.record_id)
                    .where(IdentityRecord.node == Web3.to_checksum_address(node))
                    .order_by(IdentityRecord.created_at.desc())
                )
            )

    def read(
        self,
        node: str,
        *,
        reader: Reader,
        reason: str,
        on_chain: tuple[bytes, bytes] | None = None,
    ) -> tuple[str, IdentityBundle]:
        """Decrypt ``node``'s bundle for ``reader`` after logging the read (with ``reason``).

        With ``on_chain`` = (identity hash, entity hash) the record registered on chain is
        read and checked (:meth:`verify`); without it, the newest record of the node. Every
        attempt is logged, also one that finds nothing or a tampered record.

        Returns:
            (record id, bundle).
        """
        reason = check_reason(reason)
        node = Web3.to_checksum_address(node)
        try:
            if on_chain is not None:
                record_id = self.find(node, on_chain[0])
            else:
                ids = self.records_of(node)
                if not ids:
                    raise NotFoundError(f"no identity record of {node}")
                record_id = ids[0]
        except NotFoundError:
            self.audit.append(reader, node, "", reason, "not_found")
            raise
        try:
            if on_chain is not None:
                bundle = self.verify(node, on_chain[0], on_chain[1])
            else:
                bundle = self.decrypt(record_id)
        except IdentityTamperedError:
            self.audit.append(reader, node, record_id, reason, "tampered")
            raise
        self.audit.append(reader, node, record_id, reason, "read")
        return record_id, bundle

    def decrypt(self, record_id: str) -> IdentityBundle:
        """Decrypt record ``record_id`` and check it against its stored hash."""
        with self._sessions() as session:
            record = session.get(IdentityRecord, record_id)
            if record is None:
                raise NotFoundError(f"no identity record {record_id}")
            return self._open(record)

    def find(self, node: str, bundle_hash: bytes) -> str:
        """The id of the newest record of ``node`` with ``bundle_hash``."""
        wanted = "0x" + bytes(bundle_hash).hex()
        with self._sessions() as session:
            record_id = session.scalars(
                select(IdentityRecord.record_id)
                .where(IdentityRecord.node == Web3.to_checksum_address(node))
                .where(IdentityRecord.bundle_hash == wanted)
                .order_by(IdentityRecord.created_at.desc())
                .limit(1)
            ).first()
        if record_id is None:
            raise NotFoundError(f"no identity record of {node} with hash {wanted}")
        return record_id

    def verify(self, node: str, identity_hash: bytes, entity: bytes) -> IdentityBundle:
        """The bundle ``node`` registered on chain, after checking both on-chain hashes.

        Raises:
            NotFoundError: No stored record carries ``identity_hash``.
            IdentityTamperedError: The record does not decrypt, or its content does not
                hash to ``identity_hash``, or its USCC does not hash to ``entity``.
        """
        record_id = self.find(node, identity_hash)
        bundle = self.decrypt(record_id)
        if bundle.bundle_hash != bytes(identity_hash):
            raise IdentityTamperedError(
                f"identity record {record_id} of {node} does not match the on-chain hash"
            )
        if bundle.entity_hash != bytes(entity):
            raise IdentityTamperedError(
                f"identity record {record_id} of {node}: its USCC does not match the on-chain "
                "entity hash"
            )
        return bundle

    def _open(self, record: IdentityRecord) -> IdentityBundle:
        tampered = IdentityTamperedError(
            f"identity record {record.record_id} of {record.node} is tampered or under "
            "another key: refused"
        )
        if record.key_id != self._key_id:
            raise tampered
        try:
            plain = self._aead.decrypt(record.nonce, record.ciphertext, record.record_id.encode())
            bundle = IdentityBundle.model_validate_json(plain)
        except (InvalidTag, ValidationError, ValueError) as exc:
            raise tampered from exc
        if "0x" + bundle.bundle_hash.hex() != record.bundle_hash:
            raise tampered
        return bundle


def demo_bundle(n: int, *, name: str | None = None) -> IdentityBundle:
    """A well-formed, obviously fake bundle for demo node ``n`` (THROWAWAY data)."""
    first17 = f"91130200MA{n:07d}"
    first17 = re.sub(r"[IOZSV]", "0", first17)
    return IdentityBundle(
        name=name or f"Demo Energy Co. {n}",
        legal_representative=f"Demo Person {n}",
        id_number=f"13020019800101{n % 1000:03d}X",
        uscc=first17 + uscc_check_char(first17),
        bank_account=f"6222{n:012d}",
        licence=f"LIC-{n:06d}",
        credit_report=f"CR-{n:06d}",
    )
