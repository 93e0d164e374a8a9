"""``GET /api/v1/proofs/meter/{node}/{period}``: a node's metered total of a period with
the Merkle proof that it is in the period root the oracle anchored on chain.

Where the proof comes from: the gateway rebuilds it from what it indexed off the chain,
so it needs no file and no connection to the oracle (they may run on different
machines). The oracle posts the period root (``PeriodPosted``: totalsRoot, nodeCount) and
then records every node's total (``NodeTotalRecorded``: node, period, importWh, exportWh,
readingCount, readingsRoot). Once all ``nodeCount`` totals are indexed, the gateway
hashes each into its leaf (``ledger.merkle.node_total_leaf``, as ``MeterOracle`` does),
orders the leaves by address as the oracle does (``oracle/totals.py``), rebuilds the tree
and answers only when its root equals the anchored root. The response carries the leaf,
the fields it hashes and the sibling path, so anyone can check it by hand or with
``MeterOracle.verifyNodeTotal``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field
from sqlalchemy import Connection, func, or_, select

from gateway.api import ADDRESS, ERRORS, INT64
from gateway.deps import AuditorRole, ConnDep
from gateway.tables import Event, MeterAnchor, table_of
from ledger.merkle import MerkleTree, node_total_leaf

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["history"])

LEAF_ENCODING = (
    "keccak256(keccak256(abi.encode(address node, uint64 period, uint64 importWh, "
    "uint64 exportWh, uint32 readingCount, bytes32 readingsRoot)))"
)
PAIR_HASH = "keccak256(min(a, b) ++ max(a, b)) per level (OpenZeppelin MerkleProof)"


class NodeTotalFields(BaseModel):
    node: str
    period: int
    import_wh: int
    export_wh: int
    reading_count: int
    readings_root: str


class NodeTotalProof(BaseModel):
    leaf: str = Field(description=LEAF_ENCODING)
    fields: NodeTotalFields
    leaf_encoding: str = LEAF_ENCODING
    position: int = Field(description="The leaf's index (totals ordered by address).")
    siblings: list[str] = Field(description="Sibling hashes from the leaf up to the root.")
    pair_hash: str = PAIR_HASH
    totals_root: str = Field(description="The period root anchored by PeriodPosted.")
    totals_root_tx_hash: str
    totals_root_block_number: int


class MeterProofOut(BaseModel):
    node: str
    period: int
    merkle_root: str | None
    total_wh: int | None
    reading_count: int | None
    block_number: int
    tx_hash: str
    proof: NodeTotalProof | None = Field(
        description="The Merkle proof of the node total in the anchored period root."
    )
    proof_unavailable: str | None = Field(
        default=None, description="Why there is no proof (yet), when there is none."
    )


def _anchors(conn: Connection, period: int, kind: str) -> list[dict[str, Any]]:
    """Anchors of ``kind`` in ``period`` with their event's arguments, oldest first."""
    a, e = table_of(MeterAnchor), table_of(Event)
    rows = conn.execute(
        select(a, e.c.args)
        .join(e, (e.c.tx_hash == a.c.tx_hash) & (e.c.log_index == a.c.log_index))
        .where(a.c.period == period, a.c.kind == kind)
        .order_by(a.c.block_number, a.c.log_index)
    ).mappings()
    return [dict(r) | {"args": json.loads(r["args"])} for r in rows]


def _fields(args: dict[str, Any]) -> NodeTotalFields:
    return NodeTotalFields(
        node=str(args["node"]),
        period=int(args["period"]),
        import_wh=int(args["importWh"]),
        export_wh=int(args["exportWh"]),
        reading_count=int(args["readingCount"]),
        readings_root=str(args["readingsRoot"]),
    )


def _leaf(f: NodeTotalFields) -> bytes:
    root = bytes.fromhex(f.readings_root.removeprefix("0x"))
    return node_total_leaf(f.node, f.period, f.import_wh, f.export_wh, f.reading_count, root)


def rebuild_proof(conn: Connection, node: str, period: int) -> NodeTotalProof | str:
    """The proof of ``node``'s total in ``period``, or why it cannot be rebuilt."""
    posted = _anchors(conn, period, "period")
    if not posted:
        return f"period {period}'s root is not anchored (indexed) yet"
    root_row = posted[0]
    node_count = int(root_row["args"]["nodeCount"])
    by_node: dict[str, NodeTotalFields] = {}
    for row in _anchors(conn, period, "node"):
        f = _fields(row["args"])
        by_node.setdefault(f.node.lower(), f)
    if len(by_node) != node_count:
        return f"{len(by_node)} of {node_count} node totals of period {period} are recorded"
    order = sorted(by_node)
    if node.lower() not in by_node:
        return f"no node total of {node} in period {period}"
    tree = MerkleTree([_leaf(by_node[n]) for n in order])
    totals_root = str(root_row["merkle_root"])
    if "0x" + tree.root.hex() != totals_root.lower():
        return "the recorded node totals do not rebuild the anchored period root"
    position = order.index(node.lower())
    mine = by_node[node.lower()]
    return NodeTotalProof(
        leaf="0x" + _leaf(mine).hex(),
        fields=mine,
        position=position,
        siblings=["0x" + s.hex() for s in tree.proof(position)],
        totals_root=totals_root,
        totals_root_tx_hash=str(root_row["tx_hash"]),
        totals_root_block_number=int(root_row["block_number"]),
    )


@router.get(
    "/proofs/meter/{node}/{period}",
    response_model=MeterProofOut,
    summary="A node's anchored meter totals for a period, with their Merkle proof",
)
def meter_proof(
    _role: AuditorRole,
    conn: ConnDep,
    node: Annotated[str, Path(pattern=ADDRESS)],
    period: Annotated[int, Path(ge=0, le=INT64)],
) -> MeterProofOut:
    t = table_of(MeterAnchor)
    row = (
        conn.execute(
            select(t)
            .where(func.lower(t.c.node) == node.lower(), t.c.period == period)
            .where(or_(t.c.kind.is_(None), t.c.kind == "node"))
            .order_by(t.c.block_number.desc(), t.c.log_index.desc())
        )
        .mappings()
        .first()
    )
    if row is None:
        raise HTTPException(404, f"no meter totals anchored for {node} in period {period}")
    proof = rebuild_proof(conn, node, period)
    return MeterProofOut(
        node=str(row["node"]),
        period=int(row["period"]),
        merkle_root=row["merkle_root"],
        total_wh=row["total_wh"],
        reading_count=row["reading_count"],
        block_number=row["block_number"],
        tx_hash=row["tx_hash"],
        proof=proof if isinstance(proof, NodeTotalProof) else None,
        proof_unavailable=proof if isinstance(proof, str) else None,
    )
