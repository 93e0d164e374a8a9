"""Recursive Length Prefix (RLP) encoding, as the QBFT genesis ``extraData`` needs it."""

from __future__ import annotations

from collections.abc import Sequence

RlpItem = bytes | int | Sequence["RlpItem"]


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def rlp_encode(item: RlpItem) -> bytes:
    """Recursive Length Prefix encoding of bytes, non-negative ints and nested lists."""
    if isinstance(item, int):
        if item < 0:
            raise ValueError("RLP encodes non-negative integers only")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _rlp_length(len(item), 0x80) + item
    body = b"".join(rlp_encode(sub) for sub in item)
    return _rlp_length(len(body), 0xC0) + body
