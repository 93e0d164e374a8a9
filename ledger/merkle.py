"""Merkle trees compatible with OpenZeppelin's ``MerkleProof`` (sorted-pair keccak256).

Leaves keep their given order; each level hashes neighbours pairwise with the smaller
hash first (``Hashes.commutativeKeccak256``), and an odd last node moves up unchanged, so a
proof is the list of siblings from leaf to root and verifies with ``MerkleProof.verify``.

Shared by the oracle (which builds the trees) and the gateway (which rebuilds a node
total's proof from anchored data); :func:`node_total_leaf` is ``MeterOracle``'s leaf.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


class MerkleTree:
    """A tree over ``leaves`` (at least one)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        levels = [list(leaves)]
        while len(levels[-1]) > 1:
            level = levels[-1]
            up = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                up.append(level[-1])
            levels.append(up)
        self._levels = levels

    @property
    def root(self) -> bytes:
        return self._levels[-1][0]

    def __len__(self) -> int:
        return len(self._levels[0])

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from leaf ``index`` up to the root."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        out: list[bytes] = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                out.append(level[sibling])
            index //= 2
        return out


def process_proof(proof: Sequence[bytes], leaf: bytes) -> bytes:
    computed = leaf
    for sibling in proof:
        computed = hash_pair(computed, sibling)
    return computed


def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    """What ``MerkleProof.verify(proof, root, leaf)`` returns."""
    return process_proof(proof, leaf) == root


def node_total_leaf(
    node: str, period: int, import_wh: int, export_wh: int, count: int, readings_root: bytes
) -> bytes:
    """Merkle leaf of a node total (``IMeterOracle.NodeTotal``): double keccak of
    ``abi.encode(node, period, importWh, exportWh, readingCount, readingsRoot)``."""
    encoded = (
        bytes(12)
        + bytes.fromhex(to_checksum_address(node)[2:])
        + period.to_bytes(32, "big")
        + import_wh.to_bytes(32, "big")
        + export_wh.to_bytes(32, "big")
        + count.to_bytes(32, "big")
        + readings_root
    )
    return keccak(keccak(encoded))
