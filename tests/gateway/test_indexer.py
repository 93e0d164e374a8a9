"""The indexer: typed rows, idempotent re-indexing, confirmations, reorgs, verify."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select, update

from gateway.indexer import Indexer
from gateway.projections import reproject_all
from gateway.queries import role_holders
from gateway.tables import Checkpoint, Event, RoleChange
from gateway.verify import verify
from ledger.clients.access import MarketAccessClient, role_id
from ledger.context import LedgerContext
from tests.gateway.conftest import assert_summaries_exact, dump, node


def _events(engine: Engine, name: str) -> list[dict[str, object]]:
    t = Event.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(t).where(t.c.event == name).order_by(t.c.block_number, t.c.log_index)
        ).mappings()
        return [dict(r) for r in rows]


def test_role_events_become_event_rows_and_role_projection(
    indexer: Indexer, access: MarketAccessClient, gw_engine: Engine, admin: object
) -> None:
    granted = access.grant_role("VERIFIER", node(1))
    revoked = access.revoke_role("VERIFIER", node(1))
    stats = indexer.run_once()
    assert stats.events > 0
    assert stats.checkpoint == revoked["blockNumber"]
    grants = [e for e in _events(gw_engine, "RoleGranted") if node(1) in e["args"]]
    assert len(grants) == 1
    row = grants[0]
    assert row["contract"] == "MarketAccess"
    assert row["address"] == access.address
    assert row["tx_hash"] == granted["transactionHash"].to_0x_hex()
    assert row["block_number"] == granted["blockNumber"]
    assert json.loads(str(row["args"])) == {
        "role": "0x" + role_id("VERIFIER").hex(),
        "account": node(1),
        "sender": admin.address,  # type: ignore[attr-defined]
    }
    t = RoleChange.__table__
    with gw_engine.connect() as conn:
        changes = conn.execute(
            select(t.c.role_name, t.c.granted, t.c.block_number).where(t.c.account == node(1))
        ).all()
        assert sorted(changes) == [
            ("VERIFIER", False, revoked["blockNumber"]),
            ("VERIFIER", True, granted["blockNumber"]),
        ]
        holders = role_holders(conn)
    assert all(h["account"] != node(1) for h in holders)
    assert any(h["account"] == admin.address and h["role_name"] == "DEFAULT_ADMIN" for h in holders)  # type: ignore[attr-defined]
    # integers are decimal strings in args
    created = _events(gw_engine, "MarketAccessCreated")
    assert json.loads(str(created[0]["args"]))["adminTransferDelay"] == "3600"


def test_reindexing_a_range_adds_nothing(
    indexer: Indexer, access: MarketAccessClient, gw_engine: Engine
) -> None:
    for n in range(3):
        access.grant_role("OPERATOR", node(n))
    indexer.run_once()
    before = dump(gw_engine, skip=("updated_at",))
    # move the checkpoint back to the start: the whole range is indexed again
    with gw_engine.begin() as conn:
        conn.execute(update(Checkpoint.__table__).values(block_number=indexer.start_block - 1))
        conn.execute(
            update(Checkpoint.__table__).values(
                block_hash=indexer.w3.eth.get_block(indexer.start_block - 1)["hash"].to_0x_hex()
            )
        )
    stats = indexer.run_once()
    assert stats.events == 0
    assert stats.blocks > 0
    assert dump(gw_engine, skip=("updated_at",)) == before  # the summaries too
    assert assert_summaries_exact(gw_engine)["role_changes"] >= 3


def test_confirmations_hold_back_the_newest_blocks(
    ctx: LedgerContext, access: MarketAccessClient, gw_engine: Engine
) -> None:
    access.grant_role("OPERATOR", node(7))
    access.grant_role("OPERATOR", node(8))
    head = ctx.w3.eth.block_number
    stats = Indexer(ctx, gw_engine, confirmations=1).run_once()
    assert stats.checkpoint == head - 1
    accounts = [json.loads(str(e["args"]))["account"] for e in _events(gw_engine, "RoleGranted")]
    assert node(7) in accounts
    assert node(8) not in accounts


def test_reorg_with_snapshot_revert_removes_orphaned_rows(
    ctx: LedgerContext, indexer: Indexer, access: MarketAccessClient, gw_engine: Engine
) -> None:
    indexer.run_once()
    snapshot = ctx.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    access.grant_role("DISPATCH", node(11))
    access.grant_role("DISPATCH", node(12))
    indexer.run_once()
    orphaned_accounts = {node(11), node(12)}
    assert orphaned_accounts <= {h["account"] for h in _holders(gw_engine)}
    before = assert_summaries_exact(gw_engine)

    ctx.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    ctx.nonces.reset()
    access.grant_role("DISPATCH", node(13))
    for _ in range(3):
        ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    stats = indexer.run_once()
    assert stats.reorgs == 1
    holders = {h["account"] for h in _holders(gw_engine)}
    assert node(13) in holders
    assert not orphaned_accounts & holders
    accounts = {json.loads(str(e["args"]))["account"] for e in _events(gw_engine, "RoleGranted")}
    assert node(13) in accounts
    assert not orphaned_accounts & accounts
    report = verify(indexer)
    assert report.ok, report
    assert report.indexed_events == report.chain_events
    # the overview's figures follow the new branch: one grant instead of two
    after = assert_summaries_exact(gw_engine)
    assert after["events"] == report.indexed_events
    assert after["role_changes"] == before["role_changes"] - 1


def _holders(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return role_holders(conn)


def test_reproject_rebuilds_the_same_projections(
    indexer: Indexer, access: MarketAccessClient, gw_engine: Engine
) -> None:
    access.grant_role("REGULATOR", node(3))
    access.revoke_role("REGULATOR", node(3))
    indexer.run_once()
    before = dump(gw_engine)
    with gw_engine.begin() as conn:
        reproject_all(conn)
    assert dump(gw_engine) == before


def test_verify_finds_a_tampered_event(
    indexer: Indexer, access: MarketAccessClient, gw_engine: Engine
) -> None:
    receipt = access.grant_role("OPERATOR", node(4))
    indexer.run_once()
    assert verify(indexer).ok
    tx = receipt["transactionHash"].to_0x_hex()
    t = Event.__table__
    with gw_engine.begin() as conn:
        conn.execute(update(t).where(t.c.tx_hash == tx).values(args='{"forged":"1"}'))
    report = verify(indexer)
    assert not report.ok
    assert [m.split(":")[0] for m in report.mismatched] == [tx]
