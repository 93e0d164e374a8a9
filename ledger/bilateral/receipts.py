"""Offline proof that a log is in a block: the receipts trie root recomputed from the
block's receipts (JSON-RPC form) against the header's ``receiptsRoot``.

The trie is Ethereum's Merkle Patricia trie keyed by ``rlp(transaction index)``, each value
the receipt's consensus encoding (EIP-2718: type byte + RLP for typed receipts).
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_utils.crypto import keccak


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def encode_receipt(receipt: dict[str, Any]) -> bytes:
    """The consensus encoding of a JSON-RPC receipt."""
    logs = [
        [_bytes(log["address"]), [_bytes(t) for t in log["topics"]], _bytes(log["data"])]
        for log in receipt["logs"]
    ]
    status = _int(receipt["status"])
    body = rlp.encode(
        [status, _int(receipt["cumulativeGasUsed"]), _bytes(receipt["logsBloom"]), logs]
    )
    kind = _int(receipt.get("type", 0))
    encoded: bytes = body if kind == 0 else bytes([kind]) + body
    return encoded


def _nibbles(key: bytes) -> tuple[int, ...]:
    return tuple(n for b in key for n in (b >> 4, b & 15))


def _hex_prefix(nibbles: tuple[int, ...], leaf: bool) -> bytes:
    flag = 2 if leaf else 0
    nibbles = (flag + 1, *nibbles) if len(nibbles) % 2 else (flag, 0, *nibbles)
    return bytes(nibbles[i] << 4 | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def _ref(node: Any) -> Any:
    encoded = rlp.encode(node)
    return node if len(encoded) < 32 else keccak(encoded)


def _node(items: list[tuple[tuple[int, ...], bytes]], depth: int) -> Any:
    if len(items) == 1:
        key, value = items[0]
        return [_hex_prefix(key[depth:], True), value]
    shortest = min(len(k) for k, _ in items)
    common = 0
    while depth + common < shortest and len({k[depth + common] for k, _ in items}) == 1:
        common += 1
    if common:
        prefix = items[0][0][depth : depth + common]
        return [_hex_prefix(prefix, False), _ref(_node(items, depth + common))]
    branch: list[Any] = [b""] * 17
    for nibble in range(16):
        sub = [(k, v) for k, v in items if len(k) > depth and k[depth] == nibble]
        if sub:
            branch[nibble] = _ref(_node(sub, depth + 1))
    for k, v in items:
        if len(k) == depth:
            branch[16] = v
    return branch


def receipts_root(receipts: list[dict[str, Any]]) -> str:
    """The receipts trie root (0x hex) of a block's receipts, in transaction order."""
    if not receipts:
        return "0x" + keccak(rlp.encode(b"")).hex()
    items = [(_nibbles(rlp.encode(i)), encode_receipt(r)) for i, r in enumerate(receipts)]
    return "0x" + keccak(rlp.encode(_node(items, 0))).hex()
