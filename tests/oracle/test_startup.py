"""The oracle's start-up check against the chain, on real stale copies of its store.

An oracle restarted on an older copy of its database used to number batches from its own
table: every ``anchorBatch`` reverted ``UnexpectedBatchId`` while readings were accepted.
Now it re-syncs at start (adopts the chain's batches, re-batches readings whose batch id
the chain holds with another root, closes periods the chain already posted) or refuses to
start with one clear line (a store of another chain, or of a chain that was reset).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select

import oracle.service as oracle_service
from ledger.context import LedgerContext
from ledger.db import make_engine, session_factory
from oracle.dispatch import MemoryTradeSource
from oracle.periods import FixedPeriodCalendar
from oracle.schemas import Outcome, ReadingBatch, Reason
from oracle.service import OracleService
from oracle.startup import OracleStateError, StartupCheck
from oracle.store import BatchRow, OutboxRow, ReadingRow, create_tables
from scripts.meter_sim import SimMeter
from tests.oracle.conftest import Clock


class Site:
    """Restarts of the oracle on copies of its SQLite store."""

    def __init__(
        self,
        ctx: LedgerContext,
        tmp_path: Path,
        account: LocalAccount,
        calendar: FixedPeriodCalendar,
        clock: Clock,
        meters: list[SimMeter],
    ) -> None:
        self.ctx, self.tmp_path, self.account = ctx, tmp_path, account
        self.calendar, self.clock, self.meters = calendar, clock, meters
        self.start = int(clock()) // 3600 * 3600 - 20 * 900

    def open(self, name: str) -> OracleService:
        url = f"sqlite:///{self.tmp_path}/{name}"
        engine = make_engine(self.ctx.settings.model_copy(update={"database_url_override": url}))
        create_tables(engine)
        return OracleService(
            self.ctx,
            sessions=session_factory(engine),
            account=self.account,
            trades=MemoryTradeSource(),
            calendar=self.calendar,
            clock=self.clock,
        )

    def copy(self, src: str, dst: str) -> None:
        """A consistent copy of the store file (SQLite's online backup: WAL included)."""
        with sqlite3.connect(self.tmp_path / src) as a, sqlite3.connect(self.tmp_path / dst) as b:
            a.backup(b)

    def ingest(self, oracle: OracleService, first: int, count: int) -> ReadingBatch:
        items = [
            m.sign(m.reading(self.start + k * 900), oracle.chain_id, oracle.meter_oracle.address)
            for k in range(first, first + count)
            for m in self.meters
        ]
        batch = ReadingBatch(readings=items)
        assert oracle.ingest(batch).rejected == 0
        return batch

    def anchor(self, oracle: OracleService, first: int, count: int) -> list[int]:
        self.ingest(oracle, first, count)
        ids = oracle.close_batches(force=True)
        assert oracle.relay.run_once() == len(ids)
        return ids


@pytest.fixture
def site(
    ctx: LedgerContext,
    tmp_path: Path,
    oracle_account: LocalAccount,
    fixed_calendar: FixedPeriodCalendar,
    clock: Clock,
    meters: list[SimMeter],
) -> Site:
    return Site(ctx, tmp_path, oracle_account, fixed_calendar, clock, meters)


def _statuses(oracle: OracleService) -> dict[int, str]:
    with oracle.sessions() as s:
        rows = s.execute(
            select(BatchRow.id, OutboxRow.status).join(
                OutboxRow, OutboxRow.id == BatchRow.outbox_id
            )
        )
        return {int(i): str(st) for i, st in rows}


def test_restart_on_a_stale_copy_adopts_the_chains_batches(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    live = site.open("live.db")
    assert live.startup.describe().endswith(": consistent")
    assert site.anchor(live, 0, 1) == [1]
    site.copy("live.db", "stale.db")  # the backup ...
    assert site.anchor(live, 1, 1) == [2]  # ... then the live oracle anchors more
    assert site.anchor(live, 2, 1) == [3]
    chain = live.meter_oracle
    assert chain.next_batch_id() == 4

    caplog.set_level(logging.INFO, logger="gridledger.oracle")
    restarted = site.open("stale.db")  # restored from the copy, restarted
    check = restarted.startup
    assert check.chain_next_batch_id == 4
    assert check.adopted_batch_ids == [2, 3]
    assert check.confirmed_batch_ids == check.rebatched_batch_ids == check.closed_periods == []
    line = (
        "store checked against the chain (nextBatchId 4): re-synced a stale store: "
        "adopted batches 2, 3"
    )
    assert check.describe() == line
    assert line in caplog.messages
    with restarted.sessions() as s:
        adopted = s.get(BatchRow, 3)
        assert adopted is not None
        assert adopted.root == "0x" + chain.batch_of(3).root.hex()
        assert adopted.reading_count == len(site.meters)
    # new readings anchor as batch 4: no UnexpectedBatchId
    assert site.anchor(restarted, 3, 1) == [4]
    assert chain.next_batch_id() == 5
    assert _statuses(restarted) == {1: "mined", 2: "mined", 3: "mined", 4: "mined"}
    assert restarted.health().last_batch_id == 4
    # a second restart finds nothing to do
    assert site.open("stale.db").startup.describe().endswith(": consistent")


def test_batches_a_stale_oracle_could_not_anchor_are_rebatched(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = site.open("live.db")
    assert site.anchor(live, 0, 1) == [1]
    site.copy("live.db", "stale.db")
    assert site.anchor(live, 1, 2) == [2]
    assert site.anchor(live, 3, 1) == [3]

    # the defect, reproduced: without the start-up check the stale oracle accepts readings
    # and numbers their batch 2, which the chain refuses
    def unchecked(*_a: object) -> StartupCheck:
        return StartupCheck(chain_next_batch_id=0, account_nonce=0)

    with monkeypatch.context() as m:
        m.setattr(oracle_service, "check_store", unchecked)
        stale = site.open("stale.db")
        site.ingest(stale, 4, 1)
        assert stale.close_batches(force=True) == [2]
        stale.relay.run_once()
        with stale.sessions() as s:
            failed = s.scalars(select(OutboxRow).where(OutboxRow.kind == "anchor_batch")).all()
        assert failed[-1].status == "failed"
        assert "UnexpectedBatchId" in str(failed[-1].error)
        assert "expected=4" in str(failed[-1].error).replace(" ", "")

    restarted = site.open("stale.db")
    check = restarted.startup
    assert (check.rebatched_batch_ids, check.adopted_batch_ids) == ([2], [3])
    with restarted.sessions() as s:
        unbatched = s.scalar(select(func.count(ReadingRow.id)).where(ReadingRow.batch_id.is_(None)))
    assert unbatched == len(site.meters)  # the refused batch's readings are free again
    assert restarted.close_batches(force=True) == [4]
    assert restarted.relay.run_once() == 1
    assert restarted.meter_oracle.next_batch_id() == 5
    assert _statuses(restarted) == {1: "mined", 2: "mined", 3: "mined", 4: "mined"}


def test_a_period_posted_after_the_copy_is_closed_at_restart(site: Site) -> None:
    live = site.open("live.db")
    site.anchor(live, 0, 2)
    period = site.calendar.period_of(site.start)
    site.copy("live.db", "stale.db")
    live.close_period(period, force=True)
    live.relay.run_once()
    assert live.meter_oracle.period_of(period).posted_at > 0

    restarted = site.open("stale.db")
    assert restarted.startup.closed_periods == [period]
    late = site.meters[0]
    item = late.sign(
        late.reading(site.start + 2 * 900), restarted.chain_id, restarted.meter_oracle.address
    )
    result = restarted.ingest(ReadingBatch(readings=[item])).results[0]
    assert (result.outcome, result.reason) == (Outcome.REJECTED, Reason.PERIOD_CLOSED)
    assert period not in restarted.due_periods()


def test_a_store_of_a_reset_chain_is_refused(site: Site, ctx: LedgerContext) -> None:
    snapshot = ctx.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    live = site.open("live.db")
    site.anchor(live, 0, 1)
    ctx.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    ctx.nonces.reset()
    with pytest.raises(OracleStateError) as err:
        site.open("live.db")
    message = str(err.value)
    assert message.startswith("the oracle store records a transaction mined at nonce ")
    assert "the database belongs to another chain or the chain was reset" in message
    assert "\n" not in message
