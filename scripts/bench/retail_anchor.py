"""The anchoring of the ``retail`` bench section (docs/retail.md): the month's bills anchored
as one Merkle root in ``RetailBills`` on a fresh chain by an onboarded retailer, and one bill
paid in full with its proof. The bills' leaves are rebuilt with that retailer's address (the
contract computes a leaf with the anchoring retailer's); gas and wall time of each."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ledger.clients.registry import NodeKind, Side
from ledger.clients.retail import RetailBillsClient
from ledger.clients.token import SettlementTokenClient
from ledger.retail.leaves import BillRef, bill_proof, bills_tree
from node.registry.participant import Bank, NodeProfile, onboard_demo_node
from scripts.bench.common import bench_chain, role

#: Demo node numbers of the bench's retailer and of the payer.
RETAILER_N, PAYER_N = 7, 8
#: Days from the anchoring to the bills' due date.
DUE_DAYS = 30


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def anchor_month(refs: Sequence[BillRef], month: int) -> dict[str, Any]:
    """Anchor ``refs`` (one month) and pay the last bill in full; the figures."""
    with bench_chain() as chain:
        ctx = chain.ctx
        profile = NodeProfile(kind=NodeKind.RETAILER, side=Side.BUYER, region=0)
        retailer = onboard_demo_node(ctx, RETAILER_N, profile).address
        mine = [BillRef(r.consumer, retailer, month, r.bill_hash, r.total_fen) for r in refs]
        t0 = time.perf_counter()
        tree = bills_tree(mine)
        tree_s = time.perf_counter() - t0
        bills = ctx.client(RetailBillsClient, ctx.account(f"node-{RETAILER_N}"))
        total = sum(r.total_fen for r in mine)
        due = chain.block_time() + DUE_DAYS * 86_400
        t0 = time.perf_counter()
        receipt = bills.anchor_bills(month, _hex(tree.root), len(mine), total, due)
        anchor_s = time.perf_counter() - t0
        batch_id = bills.anchored_id(receipt)
        last = mine[-1]
        payer = ctx.account(f"node-{PAYER_N}")
        Bank(ctx, role("CLEARING_BANK")).mint(payer.address, last.total_fen, "RETAIL-BENCH")
        ctx.client(SettlementTokenClient, payer).approve(bills.address, last.total_fen)
        proof = [_hex(p) for p in bill_proof(tree, len(mine) - 1)]
        args = (last.consumer, _hex(last.bill_hash), last.total_fen, proof, last.total_fen)
        paid = ctx.client(RetailBillsClient, payer).pay(batch_id, *args)
        if bills.batch_of(batch_id).root != _hex(tree.root):
            raise RuntimeError("the anchored root differs from the tree's")
        return {
            "how": "one anchorBills by an onboarded retailer, one pay (retail_anchor.py)",
            "tree_s": round(tree_s, 3),
            "anchor_gas": int(receipt["gasUsed"]),
            "anchor_s": round(anchor_s, 3),
            "pay_gas": int(paid["gasUsed"]),
            "proof_length": len(proof),
        }
