"""OrderIntake on chain: anchoring signed orders into the auction (same book and escrow,
time priority by intake sequence, rejections recorded), the batch Merkle root, and the
omission proof (penalty from the intake's bond) with its exact custom errors."""

from __future__ import annotations

import pytest

from ledger.clients.auction import OrderSide, OrderStatus
from ledger.clients.intake import IntakeReceipt, OrderIntakeClient, batch_tree, sign_digest
from ledger.errors import ContractRevertError
from tests.auction.conftest import FEE_CAP, MIN_LOT_WH
from tests.auction.test_errors import reverts
from tests.conftest import role_account
from tests.intake.conftest import BOND_FEN, PENALTY_FEN, Desk

BID, OFFER = OrderSide.BID, OrderSide.OFFER


def test_digests_match_the_contract(desk: Desk) -> None:
    m = desk.book.market
    o, _ = desk.order(m.buyer, 1, BID, MIN_LOT_WH, 300_000)
    assert desk.intake.order_digest(o) == desk.domain.digest(o)
    r, _ = desk.receipt(7, o, received_at=1_700_000_000)
    assert desk.intake.receipt_digest(r) == desk.domain.digest(r)


def test_anchor_places_orders_in_intake_order_and_records_rejections(desk: Desk) -> None:
    book, m = desk.book, desk.book.market
    aid = book.open()
    book.allow(m.buyer)  # buyer2 gives no allowance: its bid is rejected
    bid = desk.order(m.buyer, aid, BID, 300_000, 400_000)
    offer = desk.order(m.seller, aid, OFFER, 200_000, 250_000)
    broke = desk.order(m.buyer2, aid, BID, 100_000, 300_000)
    entries = [desk.entry(1, bid), desk.entry(2, offer), desk.entry(5, broke)]
    receipt = desk.intake.anchor(entries)

    outcomes = desk.intake.outcomes(receipt)
    assert [(o.seq, o.node, o.order_id) for o in outcomes] == [
        (1, m.buyer.address, 1),
        (2, m.seller.address, 2),
        (5, m.buyer2.address, None),
    ]
    reason = outcomes[2].reason
    assert reason is not None
    decoded = desk.intake.sender.decoder.decode(reason)
    assert decoded.name == "InsufficientAllowance"
    assert decoded.arguments == {
        "buyer": m.buyer2.address,
        "allowanceFen": 0,
        "neededFen": 30_000 + 1_500,
    }
    # the same book and escrow as direct orders; time priority = intake order
    o1, o2 = book.reader.order(1), book.reader.order(2)
    assert (o1.node, o1.status, o1.seq, o1.held_fen) == (
        m.buyer.address,
        OrderStatus.LIVE,
        1,
        120_000 + 300_000 * FEE_CAP // 1_000_000,
    )
    assert (o2.node, o2.seq) == (m.seller.address, 2)
    # the batch root is the Merkle root of (seq, order hash) leaves
    (batch,) = desk.intake.events(receipt, "BatchAnchored")
    pairs = [(e.seq, desk.domain.digest(e.order)) for e in entries]
    tree = batch_tree(pairs)
    assert dict(batch["args"]) == {
        "batchId": 1,
        "root": tree.root,
        "firstSeq": 1,
        "lastSeq": 5,
        "count": 3,
    }
    assert desk.intake.batch_root(1) == tree.root
    assert desk.intake.in_batch(1, 2, pairs[1][1], tree.proof(1))
    assert not desk.intake.in_batch(1, 3, pairs[1][1], tree.proof(1))
    assert [desk.intake.is_anchored(s) for s in range(1, 7)] == [
        True,
        True,
        False,
        False,
        True,
        False,
    ]
    assert desk.intake.state() == (desk.key.address, 5, 1)


def test_anchor_errors(desk: Desk) -> None:
    book, m = desk.book, desk.book.market
    aid = book.open()
    book.allow(m.buyer)
    bid = desk.order(m.buyer, aid, BID, MIN_LOT_WH, 300_000)
    stranger = m.ctx.client(OrderIntakeClient, m.buyer.account)
    reverts(
        lambda: stranger.anchor([desk.entry(1, bid)]),
        "NotIntake",
        {"caller": m.buyer.address, "intake": desk.key.address},
    )
    reverts(lambda: desk.intake.anchor([]), "EmptyBatch", {})
    forged = (bid[0], sign_digest(m.buyer2.account.key, desk.domain.digest(bid[0])))
    reverts(
        lambda: desk.intake.anchor([desk.entry(1, forged)]),
        "BadOrderSignature",
        {"seq": 1, "node": m.buyer.address, "signer": m.buyer2.address},
    )
    desk.intake.anchor([desk.entry(3, bid)])
    other = desk.order(m.buyer, aid, BID, MIN_LOT_WH, 300_000)
    reverts(
        lambda: desk.intake.anchor([desk.entry(3, other)]),
        "SequenceOutOfOrder",
        {"seq": 3, "lastSeq": 3},
    )
    reverts(
        lambda: desk.intake.anchor([desk.entry(4, bid)]),
        "OrderAlreadyAnchored",
        {"seq": 4, "orderHash": desk.domain.digest(bid[0])},
    )
    # after the gate the intake can anchor no more: the auction's error, batch reverted
    book.close_gate(aid)
    reverts(lambda: desk.intake.anchor([desk.entry(4, other)]), "OutsideOrderWindow")
    assert desk.intake.state()[1] == 3


def test_omission_proof_pays_the_penalty_once(desk: Desk) -> None:
    book, m = desk.book, desk.book.market
    aid = book.open()
    book.allow(m.buyer)
    kept = desk.order(m.buyer, aid, BID, MIN_LOT_WH, 300_000)
    left_out = desk.order(m.buyer, aid, BID, 2 * MIN_LOT_WH, 310_000)
    desk.intake.anchor([desk.entry(1, kept)])
    r_kept, sig_kept = desk.receipt(1, kept[0])
    r_out, sig_out = desk.receipt(2, left_out[0])
    prover = m.ctx.client(OrderIntakeClient, m.buyer.account)
    gate = book.reader.auction(aid).gate_closes_at
    with pytest.raises(ContractRevertError) as err:
        prover.prove_omission(r_out, sig_out, *left_out)
    assert err.value.name == "OmissionNotYetProvable"
    assert err.value.arguments["gateClosesAt"] == gate
    book.close_gate(aid)

    reverts(lambda: prover.prove_omission(r_kept, sig_kept, *kept), "SequenceAnchored", {"seq": 1})
    forged = sign_digest(m.buyer.account.key, desk.domain.digest(r_out))
    reverts(
        lambda: prover.prove_omission(r_out, forged, *left_out),
        "NotIntakeReceipt",
        {"signer": m.buyer.address, "intake": desk.key.address},
    )
    reverts(
        lambda: prover.prove_omission(r_out, sig_out, *kept),
        "ReceiptOrderMismatch",
        {
            "receiptOrderHash": desk.domain.digest(left_out[0]),
            "orderHash": desk.domain.digest(kept[0]),
        },
    )
    wrong_seq = IntakeReceipt(seq=3, order_hash=r_out.order_hash, received_at=r_out.received_at)
    reverts(
        lambda: prover.prove_omission(wrong_seq, sig_out, *left_out),
        "NotIntakeReceipt",
    )

    before = m.token.balance_of(m.buyer.address)
    receipt = prover.prove_omission(r_out, sig_out, *left_out)
    (ev,) = prover.events(receipt, "OmissionProven")
    assert dict(ev["args"]) == {
        "seq": 2,
        "orderHash": desk.domain.digest(left_out[0]),
        "node": m.buyer.address,
        "penaltyFen": PENALTY_FEN,
        "by": m.buyer.address,
    }
    assert m.token.balance_of(m.buyer.address) == before + PENALTY_FEN
    assert desk.intake.bond() == (BOND_FEN - PENALTY_FEN, PENALTY_FEN, 1)
    reverts(
        lambda: prover.prove_omission(r_out, sig_out, *left_out),
        "OmissionAlreadyProven",
        {"seq": 2},
    )


def test_only_the_operator_sets_the_intake_key(desk: Desk) -> None:
    m = desk.book.market
    reverts(
        lambda: m.ctx.client(OrderIntakeClient, m.buyer.account).set_intake(m.buyer.address),
        "AccessControlUnauthorizedAccount",
    )
    reverts(
        lambda: m.ctx.client(OrderIntakeClient, role_account("OPERATOR")).set_intake(
            "0x" + "00" * 20
        ),
        "ZeroAddress",
        {},
    )
