"""Hex strings of the oracle's wire format and tables: ``0x``-prefixed, lower case."""

from __future__ import annotations


def to_hex(value: bytes) -> str:
    """``value`` as ``0x``-prefixed hex."""
    return "0x" + value.hex()


def from_hex(value: str) -> bytes:
    """The bytes of a hex string, with or without ``0x``."""
    return bytes.fromhex(value.removeprefix("0x"))
