"""Canonical JSON, its keccak hash and strict model loading: the one definition every retail
hash and every retail input file uses.

A model's canonical form is ``json.dumps(model.model_dump(mode="json"), sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8; its hash is keccak256 of
those bytes (32 raw bytes, a ``bytes32`` on chain).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pydantic
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from pydantic import BaseModel

from ledger.errors import ValidationError

M = TypeVar("M", bound=BaseModel)


def canonical_json(value: BaseModel | dict[str, Any] | list[Any]) -> bytes:
    """The canonical JSON bytes of a model (its JSON-mode dump) or of plain JSON data."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_hash(value: BaseModel | dict[str, Any] | list[Any]) -> bytes:
    """keccak256 of :func:`canonical_json` (32 bytes)."""
    return bytes(keccak(canonical_json(value)))


def checksum(address: str, what: str) -> str:
    """``address`` as an EIP-55 checksum address; a ``ValueError`` naming ``what`` otherwise
    (pydantic reports it with the field's location)."""
    if not isinstance(address, str) or not is_address(address):
        raise ValueError(f"{what} is not an address: {address!r}")
    return str(to_checksum_address(address))


def load_model(cls: type[M], data: Any, what: str) -> M:
    """``cls`` validated from ``data`` (a dict or JSON text); a :class:`ValidationError`
    ``<what>: <field>: <reason>; ...`` naming each offending field otherwise."""
    try:
        if isinstance(data, str | bytes):
            return cls.model_validate_json(data)
        return cls.model_validate(data)
    except pydantic.ValidationError as exc:
        reasons = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"]) or "(input)"
            reasons.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
        raise ValidationError(f"{what}: " + "; ".join(reasons)) from exc
