"""The on-chain anchoring leaf of a bill and the Merkle tree over a month's bills.

The leaf is OpenZeppelin's standard double-hash leaf::

    keccak256(bytes.concat(keccak256(abi.encode(
        address consumer, address retailer, uint32 month /*YYYYMM*/, bytes32 billHash,
        uint256 totalFen))))

and the tree is :class:`ledger.merkle.MerkleTree` (sorted-pair keccak256, odd node moves
up), so ``MerkleProof.verify(proof, root, leaf)`` accepts :func:`bill_proof`'s proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ledger.errors import ValidationError
from ledger.merkle import MerkleTree
from ledger.retail.months import check_month


@dataclass(frozen=True)
class BillRef:
    """What one leaf commits to."""

    consumer: str
    retailer: str
    month: int
    bill_hash: bytes
    total_fen: int


def bill_leaf(consumer: str, retailer: str, month: int, bill_hash: bytes, total_fen: int) -> bytes:
    """The double-keccak leaf of a bill (see the module doc)."""
    check_month(month)
    if len(bill_hash) != 32:
        raise ValidationError(f"bill hash must be 32 bytes, got {len(bill_hash)}")
    if total_fen < 0:
        raise ValidationError(f"a bill total must not be negative: {total_fen}")
    encoded = encode(
        ["address", "address", "uint32", "bytes32", "uint256"],
        [to_checksum_address(consumer), to_checksum_address(retailer), month, bill_hash, total_fen],
    )
    return bytes(keccak(keccak(encoded)))


def ref_leaf(ref: BillRef) -> bytes:
    """:func:`bill_leaf` of ``ref``."""
    return bill_leaf(ref.consumer, ref.retailer, ref.month, ref.bill_hash, ref.total_fen)


def bills_tree(refs: Sequence[BillRef]) -> MerkleTree:
    """The Merkle tree over a month's bills, leaves in the given order."""
    return MerkleTree([ref_leaf(r) for r in refs])


def bill_proof(tree: MerkleTree, index: int) -> list[bytes]:
    """The proof of leaf ``index`` (siblings from leaf to root)."""
    return tree.proof(index)
