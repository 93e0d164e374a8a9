"""Tamper evidence: the change log's Merkle roots on chain (DeskAnchor), and ``verify``
naming a record edited in the database behind the desk's back."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.clients.desk import CategoryCount, DeskAnchorClient
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError
from ledger.merkle import MerkleTree
from node.desk.anchoring import anchor, check, verify
from node.desk.errors import DeskError, DeskTamperedError
from node.desk.service import Desk
from node.desk.store import change_leaf
from tests.conftest import role_account
from tests.desk.conftest import FILER, OPERATOR, T0


def _operator(desk: Desk) -> DeskAnchorClient:
    return desk.anchor_client(role_account("OPERATOR"))


def _some_history(desk: Desk) -> int:
    c = desk.store.file(FILER, "billing", "Bill too high", "doubled", now=T0)
    desk.store.move(OPERATOR, c.id, "in_progress", now=T0 + 10)
    desk.store.file(FILER, "trading", "Listing lost", "gone", now=T0 + 20)
    return c.id


def _sql(desk: Desk, statement: str, **params: object) -> None:
    with desk.store.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_anchor_puts_the_root_and_counts_on_chain(desk: Desk, ctx: LedgerContext) -> None:
    _some_history(desk)
    client = _operator(desk)
    done = anchor(desk.store, client, now=T0 + 2 * 86_400)
    with desk.store.sessions() as s:
        from node.desk.models import Change

        leaves = [change_leaf(ch) for ch in s.query(Change).order_by(Change.id)]
    assert done.root == "0x" + MerkleTree(leaves).root.hex()
    assert (done.batch, done.first_change, done.count) == (1, 1, 3)
    info = client.batch_info(1)
    assert (info.root, info.first_change, info.count) == (done.root, 1, 3)
    (event,) = client.anchored_events()
    counts = {c.category: (c.open, c.overdue) for c in event.counts}
    assert counts["billing"] == (1, 0)  # 48 h limit, filed 2 days minus 0 s ago: not yet
    assert counts["trading"] == (1, 1)  # 24 h limit passed
    assert event.operator == OPERATOR.address
    assert client.next_change() == 4
    with pytest.raises(DeskError, match="nothing to anchor"):
        anchor(desk.store, client)
    desk.store.move(OPERATOR, 1, "resolved")
    assert anchor(desk.store, client).first_change == 4
    assert check(verify(desk.store, client)).batches == 2


def test_the_contract_refuses_bad_batches(desk: Desk) -> None:
    client = _operator(desk)
    root = b"\x01" * 32
    ok = [CategoryCount(category="billing", open=2, overdue=1)]
    with pytest.raises(ContractRevertError) as refused:
        desk.anchor_client(role_account("REGULATOR")).anchor(root, 1, 1, ok)
    assert refused.value.name == "AccessControlUnauthorizedAccount"
    assert refused.value.arguments["account"] == role_account("REGULATOR").address
    with pytest.raises(ContractRevertError) as refused:
        client.anchor(root, 2, 1, ok)
    assert refused.value.signature == "NotNextChange(expected=1, given=2)"
    with pytest.raises(ContractRevertError) as refused:
        client.anchor(b"\x00" * 32, 1, 1, ok)
    assert refused.value.signature == f"EmptyBatch(root=0x{'00' * 32}, count=1)"
    late = [CategoryCount(category="billing", open=1, overdue=2)]
    with pytest.raises(ContractRevertError) as refused:
        client.anchor(root, 1, 1, late)
    assert refused.value.arguments["open"] == 1
    assert refused.value.arguments["overdue"] == 2


def test_verify_names_a_complaint_edited_behind_the_desks_back(desk: Desk) -> None:
    complaint = _some_history(desk)
    client = _operator(desk)
    anchor(desk.store, client)
    assert verify(desk.store, client).ok
    _sql(desk, "UPDATE desk_complaints SET title = 'Bill fine' WHERE id = :id", id=complaint)
    report = verify(desk.store, client)
    assert report.problems[0] == (
        f"complaint {complaint} was edited: its title is not what its change log says"
    )
    with pytest.raises(DeskTamperedError, match=f"complaint {complaint} was edited"):
        check(report)


def test_verify_names_an_edited_change_and_a_rehashed_one(desk: Desk) -> None:
    _some_history(desk)
    client = _operator(desk)
    anchor(desk.store, client)
    # a change's content edited (its stored leaf left alone): named by number
    _sql(desk, "UPDATE desk_changes SET actor_role = 'operator' WHERE id = 1")
    report = verify(desk.store, client)
    assert report.problems[0] == (
        "change #1 (complaint 1, file) was edited: its content no longer hashes to its leaf"
    )
    # ... and its leaf recomputed too: only the root on chain tells
    with desk.store.sessions.begin() as s:
        from node.desk.models import Change

        ch = s.get(Change, 1)
        assert ch is not None
        ch.leaf = "0x" + change_leaf(ch).hex()
    report = verify(desk.store, client)
    assert report.problems[0].startswith("batch 1 (changes #1..#3): the root on chain")


def test_verify_names_a_deleted_change_and_an_edited_attachment(desk: Desk) -> None:
    complaint = _some_history(desk)
    attachment = desk.store.attach(FILER, complaint, "bill.pdf", b"%PDF bill")
    client = _operator(desk)
    anchor(desk.store, client)
    _sql(desk, "UPDATE desk_attachments SET content = X'00' WHERE id = :id", id=attachment.id)
    assert verify(desk.store, client).problems == [
        f"attachment {attachment.id} of complaint {complaint} was edited"
    ]
    _sql(desk, "DELETE FROM desk_changes WHERE id = 2")
    assert verify(desk.store, client).problems[0] == "batch 1: change #2 is missing"


def test_verify_names_a_change_whose_data_is_no_longer_json(desk: Desk) -> None:
    _some_history(desk)
    client = _operator(desk)
    anchor(desk.store, client)
    _sql(desk, "UPDATE desk_changes SET data = 'not json' WHERE id = 2")
    assert verify(desk.store, client).problems[:2] == [
        "change #2 (complaint 1, move) was edited: its content no longer hashes to its leaf",
        "batch 1 (changes #1..#3): the root on chain does not match the database (a change "
        "and its leaf were edited)",
    ]
