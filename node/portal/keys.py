"""The participant API's keys: per organisation, each with scopes, stored hashed.

The keys file ``<data_dir>/portal/<wallet>/api-keys.json`` maps the SHA-256 of each key to
its id (:func:`ledger.webauth.key_id`, the first 12 hex digits of that hash), scopes, label
and issue time; the key itself is shown once by ``gridledger portal keys issue`` and never
stored. The serving portal re-reads the file when it changes, so a revoked key stops
working at once. Written like :mod:`ledger.apikeys`' files: atomically, mode 0600.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ledger.errors import ConfigError
from ledger.webauth import key_id


class Scope(StrEnum):
    """What an API key may do."""

    read = "read"
    """status, listings and plans, trades, statements, ratings, bills"""
    trade = "trade"
    """take listings and plans (signs TradingMarket.take)"""
    rate = "rate"
    """rate settled trades (signs ReputationLedger.rate)"""
    retail = "retail"
    """pay retail bills (signs RetailBills.pay)"""


class KeyRecord(BaseModel):
    """One issued key as kept in the file (its hash is the file's key) and listed."""

    key_id: str
    scopes: list[Scope] = Field(min_length=1)
    label: str = ""
    issued_at: int


_FILE = TypeAdapter(dict[str, KeyRecord])


def keys_path(data_dir: Path, wallet: str) -> Path:
    """The keys file of organisation (keystore) ``wallet``."""
    return data_dir / "portal" / wallet / "api-keys.json"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def read_keys(path: Path) -> dict[str, KeyRecord]:
    """``{sha256(key): record}`` of the file (none if it does not exist yet)."""
    if not path.exists():
        return {}
    try:
        return _FILE.validate_json(path.read_bytes())
    except (OSError, PydanticValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"bad portal API keys file {path}: {first}") from exc


def _save(path: Path, records: dict[str, KeyRecord]) -> None:
    """Replace the file with ``records`` in one step; only the owner may read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(_FILE.dump_json(records, indent=2))
    os.replace(tmp, path)


def issue_key(path: Path, scopes: list[Scope], label: str = "") -> tuple[str, KeyRecord]:
    """A new random key with ``scopes``; only its hash is written. Returns the key (to be
    shown once) and its record."""
    if not scopes:
        raise ConfigError("give at least one --scope")
    records = read_keys(path)
    key = "glp_" + secrets.token_urlsafe(32)
    record = KeyRecord(
        key_id=key_id(key),
        scopes=sorted(set(scopes), key=list(Scope).index),
        label=label,
        issued_at=int(time.time()),
    )
    records[key_hash(key)] = record
    _save(path, records)
    return key, record


def revoke_key(path: Path, key_or_id: str) -> KeyRecord:
    """Remove the key given as itself or by its id (``keys list``); returns what went."""
    records = read_keys(path)
    for digest, record in records.items():
        if key_or_id in (record.key_id, digest) or key_hash(key_or_id) == digest:
            del records[digest]
            _save(path, records)
            return record
    raise ConfigError(f"no API key {key_or_id!r} in {path}")


class PortalKeys:
    """The keys file as the serving portal reads it: reloaded whenever it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._records: dict[str, KeyRecord] = {}

    def _fresh(self) -> dict[str, KeyRecord]:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            self._stamp, self._records = None, {}
            return self._records
        if stamp != self._stamp:
            self._records, self._stamp = read_keys(self.path), stamp
        return self._records

    def lookup(self, key: str | None) -> KeyRecord | None:
        """The record of ``key``; None for a missing or unknown (or revoked) key."""
        if not key:
            return None
        return self._fresh().get(key_hash(key))
