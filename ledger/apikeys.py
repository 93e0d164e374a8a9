"""Issuing and revoking the web apps' API keys: the keys file ``{api_key: role}`` that
``GRIDLEDGER_GATEWAY_API_KEYS_FILE`` / ``GRIDLEDGER_ORACLE_API_KEYS_FILE`` name (read by
:class:`ledger.webauth.ApiKeys` when the app starts)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel

from ledger.errors import ConfigError
from ledger.webauth import Role, key_id


class KeyInfo(BaseModel):
    """A key as listed: its non-secret id and its role."""

    key_id: str
    role: Role


def read_keys(path: Path) -> dict[str, str]:
    """The file's keys (none if it does not exist yet)."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"bad API keys file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"bad API keys file {path}: not a JSON object")
    return {str(k): str(v) for k, v in raw.items()}


def _write(path: Path, keys: dict[str, str]) -> None:
    """Write ``keys`` atomically, readable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(keys, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


def add_key(path: Path, role: Role) -> str:
    """A new random key with ``role``, added to the file; returns the key (shown once)."""
    if role is Role.public:
        raise ConfigError("public needs no key")
    keys = read_keys(path)
    key = secrets.token_urlsafe(32)
    keys[key] = role.value
    _write(path, keys)
    return key


def revoke_key(path: Path, key_or_id: str) -> KeyInfo:
    """Remove the key given as itself or by its id (``keys list``); returns what went."""
    keys = read_keys(path)
    for key, role in keys.items():
        if key_or_id in (key, key_id(key)):
            del keys[key]
            _write(path, keys)
            return KeyInfo(key_id=key_id(key), role=Role(role))
    raise ConfigError(f"no key {key_or_id!r} in {path}")


def list_keys(path: Path) -> list[KeyInfo]:
    """The file's keys by id and role (the keys themselves stay secret)."""
    return [KeyInfo(key_id=key_id(k), role=Role(r)) for k, r in read_keys(path).items()]
