"""Merkle trees compatible with OpenZeppelin's ``MerkleProof``: see :mod:`ledger.merkle`
(shared with the gateway, which rebuilds node-total proofs)."""

from __future__ import annotations

from ledger.merkle import MerkleTree, hash_pair, process_proof, verify

__all__ = ["MerkleTree", "hash_pair", "process_proof", "verify"]
