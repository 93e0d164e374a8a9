"""Proofs of a node's metered total: rebuilt from the oracle's tables (:func:`node_proof`)
and checked independently against the chain (:class:`ProofCheck`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from ledger.clients.oracle import MeterOracleClient, reading_tuple
from oracle import eip712
from oracle.encoding import from_hex, to_hex
from oracle.errors import OracleError
from oracle.merkle import MerkleTree
from oracle.merkle import verify as merkle_verify
from oracle.schemas import MeterReading, NodeProof, ProofReading
from oracle.store import BatchRow, NodeTotalRow, ReadingRow


def node_proof(sessions: sessionmaker[Session], node: str, period: int) -> NodeProof:
    """The node's posted total of ``period`` with every reading and both proofs."""
    node = Web3.to_checksum_address(node)
    with sessions() as session:
        total = session.get(NodeTotalRow, (period, node))
        if total is None:
            raise OracleError(404, "no_total", f"no posted total of {node} in period {period}")
        period_totals = list(
            session.scalars(
                select(NodeTotalRow)
                .where(NodeTotalRow.period == period)
                .order_by(NodeTotalRow.position)
            )
        )
        totals_tree = MerkleTree([from_hex(t.leaf) for t in period_totals])
        ids = [int(i) for i in total.reading_ids.split(",")]
        rows_by_id = {
            r.id: r for r in session.scalars(select(ReadingRow).where(ReadingRow.id.in_(ids)))
        }
        readings = [rows_by_id[i] for i in ids]
        batch_trees = _batch_trees(session, readings)
    node_tree = MerkleTree([from_hex(r.leaf) for r in readings])
    return NodeProof(
        node=node,
        period=period,
        import_wh=total.import_wh,
        export_wh=total.export_wh,
        net_wh=total.import_wh - total.export_wh,
        reading_count=total.reading_count,
        readings_root=total.readings_root,
        node_leaf=total.leaf,
        totals_root=to_hex(totals_tree.root),
        totals_proof=[to_hex(p) for p in totals_tree.proof(total.position)],
        readings=[
            _proof_reading(row, index, node_tree, batch_trees) for index, row in enumerate(readings)
        ],
    )


def _batch_trees(session: Session, readings: list[ReadingRow]) -> dict[int, tuple[MerkleTree, str]]:
    """The Merkle tree and anchored root of every batch holding one of ``readings``."""
    batch_trees: dict[int, tuple[MerkleTree, str]] = {}
    for batch_id in {r.batch_id for r in readings if r.batch_id is not None}:
        members = list(
            session.scalars(
                select(ReadingRow.leaf)
                .where(ReadingRow.batch_id == batch_id)
                .order_by(ReadingRow.batch_index)
            )
        )
        batch_row = session.get(BatchRow, batch_id)
        assert batch_row is not None
        batch_trees[batch_id] = (MerkleTree([from_hex(x) for x in members]), batch_row.root)
    return batch_trees


def _proof_reading(
    row: ReadingRow,
    index: int,
    node_tree: MerkleTree,
    batch_trees: dict[int, tuple[MerkleTree, str]],
) -> ProofReading:
    assert row.batch_id is not None
    assert row.batch_index is not None
    tree, root = batch_trees[row.batch_id]
    return ProofReading(
        reading=reading_model(row),
        signature=row.signature,
        leaf=row.leaf,
        batch_id=row.batch_id,
        batch_root=root,
        batch_proof=[to_hex(p) for p in tree.proof(row.batch_index)],
        node_proof=[to_hex(p) for p in node_tree.proof(index)],
    )


def reading_model(row: ReadingRow) -> MeterReading:
    """The signed reading of a stored row."""
    return MeterReading(**{name: getattr(row, name) for name in MeterReading.model_fields})


class ProofCheck:
    """Independent verification of a :class:`NodeProof` against the chain."""

    def __init__(self, client: MeterOracleClient, chain_id: int) -> None:
        self.client = client
        self.separator = eip712.domain_separator(eip712.METER_DOMAIN_NAME, chain_id, client.address)

    def check(self, proof: NodeProof, *, on_chain: bool = True) -> list[str]:
        """Every problem found (empty when the total is proven)."""
        problems: list[str] = []
        imp = exp = 0
        leaves: list[bytes] = []
        batch_roots: dict[int, bytes] = {}
        for item in proof.readings:
            leaf = self._check_reading(proof, item, batch_roots, problems, on_chain=on_chain)
            if leaf is None:
                continue
            imp += item.reading.import_wh
            exp += item.reading.export_wh
            leaves.append(leaf)
        if (imp, exp, len(leaves)) != (proof.import_wh, proof.export_wh, proof.reading_count):
            problems.append(
                f"readings sum to import {imp} / export {exp} / {len(leaves)} readings, "
                f"posted {proof.import_wh} / {proof.export_wh} / {proof.reading_count}"
            )
        root = MerkleTree(leaves).root if leaves else b"\x00" * 32
        if to_hex(root) != proof.readings_root:
            problems.append("readings root does not match the readings")
        problems += self._check_total(proof, root, on_chain=on_chain)
        return problems

    def _check_reading(
        self,
        proof: NodeProof,
        item: ProofReading,
        batch_roots: dict[int, bytes],
        problems: list[str],
        *,
        on_chain: bool,
    ) -> bytes | None:
        """Append the problems of one reading; its leaf, None when its signature is bad."""
        msg = item.reading.message()
        struct = eip712.reading_struct_hash(msg)
        digest = eip712.typed_digest(self.separator, struct)
        sig = from_hex(item.signature)
        seq = item.reading.sequence
        meter = self.client.meter_of(from_hex(item.reading.meter_id))
        try:
            signer = eip712.recover_signer(digest, sig)
        except eip712.SignatureError as exc:
            problems.append(f"reading seq {seq}: {exc}")
            return None
        item_signer_ok = signer == meter.signer
        if not item_signer_ok or Web3.to_checksum_address(meter.node) != proof.node:
            problems.append(f"reading seq {seq}: not the node's meter key")
        leaf = eip712.reading_leaf(struct, sig)
        if to_hex(leaf) != item.leaf:
            problems.append(f"reading seq {seq}: leaf mismatch")
        if item.batch_id not in batch_roots:
            batch_roots[item.batch_id] = self.client.batch_of(item.batch_id).root
        chain_root = batch_roots[item.batch_id]
        batch_proof = [from_hex(p) for p in item.batch_proof]
        if not merkle_verify(batch_proof, chain_root, leaf):
            problems.append(f"reading seq {seq}: not in anchored batch {item.batch_id}")
        if on_chain and not self.client.verify_reading(
            reading_tuple(msg), sig, item.batch_id, batch_proof
        ):
            problems.append(f"reading seq {seq}: verifyReading false")
        return leaf

    def _check_total(self, proof: NodeProof, root: bytes, *, on_chain: bool) -> list[str]:
        """The problems of the node total against the period root anchored on chain."""
        problems: list[str] = []
        leaf = eip712.node_total_leaf(
            proof.node, proof.period, proof.import_wh, proof.export_wh, proof.reading_count, root
        )
        totals_proof = [from_hex(p) for p in proof.totals_proof]
        chain_period = self.client.period_of(proof.period)
        if not merkle_verify(totals_proof, chain_period.totals_root, leaf):
            problems.append("node total is not in the period root anchored on chain")
        total = (
            proof.node,
            proof.period,
            proof.import_wh,
            proof.export_wh,
            proof.reading_count,
            root,
        )
        if on_chain and not self.client.verify_node_total(total, totals_proof):
            problems.append("verifyNodeTotal returned false")
        return problems
