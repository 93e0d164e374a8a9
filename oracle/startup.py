"""The start-up check of the oracle's store against the chain (see docs/oracle.md).

An oracle restarted on an older copy of its database used to cut batch ids from its own
table while ``MeterOracle`` expects ``nextBatchId``: every ``anchorBatch`` reverted with
``UnexpectedBatchId`` while readings were still accepted. At start the oracle now compares:

* its batches with the chain's ``nextBatchId`` and ``batchOf``:

  - a batch anchored on chain but missing from the store (anchored after the copy was
    taken) is *adopted*: its root and counts are recorded from the chain (no readings),
    so new batches continue at ``nextBatchId``;
  - a stored batch still open (or failed) in the outbox whose id the chain already holds
    with *the same* root is marked mined (unless its own signed transaction is the one
    mined: the relay then records the receipt as after any crash); with *another* root its
    readings are released and cut again into a new batch, and the id is adopted from the
    chain;
  - a stored batch recorded as mined that the chain lacks (or holds with another root)
    means the store belongs to another chain, or the chain was reset: it refuses to start;

* its outbox nonces with the key's transaction count: a transaction recorded as mined at a
  nonce the chain has not reached means the same: it refuses to start;

* its open periods with the chain's posted periods: a period the chain already holds
  (posted after the copy) is closed, so its readings are refused (422 ``period_closed``)
  instead of being accepted for a total that can never be posted.
"""

from __future__ import annotations

import time

from hexbytes import HexBytes
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from web3 import Web3
from web3.exceptions import TransactionNotFound

from ledger.clients.oracle import BatchInfo
from ledger.errors import GridLedgerError
from oracle.core import OracleCore
from oracle.encoding import to_hex
from oracle.relay import enqueue
from oracle.store import BatchRow, OutboxRow, PeriodRow, ReadingRow

#: Outbox states of an anchoring the chain has not confirmed (yet).
UNCONFIRMED = ("pending", "signed", "failed")


class OracleStateError(GridLedgerError):
    """The oracle's store does not fit the chain and cannot be re-synced: it refuses to start."""


class StartupCheck(BaseModel):
    """What the start-up check found and did."""

    chain_next_batch_id: int
    account_nonce: int
    adopted_batch_ids: list[int] = Field(
        default_factory=list, description="Anchored on chain, missing from the store: recorded."
    )
    confirmed_batch_ids: list[int] = Field(
        default_factory=list, description="Open in the outbox, found anchored: marked mined."
    )
    rebatched_batch_ids: list[int] = Field(
        default_factory=list,
        description="Their id was taken on chain by another root: readings cut again.",
    )
    closed_periods: list[int] = Field(
        default_factory=list, description="Open in the store, posted on chain: closed."
    )

    @property
    def resynced(self) -> bool:
        return bool(
            self.adopted_batch_ids
            or self.confirmed_batch_ids
            or self.rebatched_batch_ids
            or self.closed_periods
        )

    def describe(self) -> str:
        """One line for the log."""
        head = f"store checked against the chain (nextBatchId {self.chain_next_batch_id})"
        if not self.resynced:
            return f"{head}: consistent"
        parts = [
            f"{name} {_ids(ids)}"
            for name, ids in (
                ("adopted batches", self.adopted_batch_ids),
                ("confirmed batches", self.confirmed_batch_ids),
                ("re-batched the readings of batches", self.rebatched_batch_ids),
                ("closed periods posted on chain", self.closed_periods),
            )
            if ids
        ]
        return f"{head}: re-synced a stale store: {'; '.join(parts)}"


def _ids(ids: list[int]) -> str:
    return f"{ids[0]}..{ids[-1]} ({len(ids)})" if len(ids) > 3 else ", ".join(map(str, ids))


def check_store(core: OracleCore, w3: Web3, account: str) -> StartupCheck:
    """Compare the store with the chain; re-sync what can be, refuse what cannot.

    Raises:
        OracleStateError: The store records transactions the chain does not have.
    """
    chain = core.meter_oracle
    with core.lock, core.sessions.begin() as session:
        report = StartupCheck(
            chain_next_batch_id=chain.next_batch_id(),
            account_nonce=int(w3.eth.get_transaction_count(Web3.to_checksum_address(account))),
        )
        _check_nonces(session, report)
        _check_batches(core, w3, session, report)
        _check_periods(core, session, report)
    core.closed_periods.update(report.closed_periods)
    return report


def _check_nonces(session: Session, report: StartupCheck) -> None:
    mined = session.scalar(select(func.max(OutboxRow.nonce)).where(OutboxRow.status == "mined"))
    if mined is not None and int(mined) >= report.account_nonce:
        raise OracleStateError(
            f"the oracle store records a transaction mined at nonce {mined}, but the key has "
            f"sent only {report.account_nonce} on this chain: the database belongs to another "
            "chain or the chain was reset (use the matching GRIDLEDGER_DATABASE_URL)"
        )


def _check_batches(core: OracleCore, w3: Web3, session: Session, report: StartupCheck) -> None:
    anchored = report.chain_next_batch_id - 1
    rows = {
        row.id: row
        for row in session.scalars(select(BatchRow).where(BatchRow.id <= anchored))
        if row.id >= 1
    }
    status = {
        int(outbox_id): str(state)
        for outbox_id, state in session.execute(
            select(OutboxRow.id, OutboxRow.status).where(
                OutboxRow.id.in_([r.outbox_id for r in rows.values()])
            )
        )
    }
    ahead = session.scalar(
        select(func.min(BatchRow.id))
        .join(OutboxRow, OutboxRow.id == BatchRow.outbox_id)
        .where(BatchRow.id > anchored, OutboxRow.status == "mined")
    )
    if ahead is not None:
        raise OracleStateError(
            f"the oracle store records batch {ahead} as anchored, but the chain's nextBatchId "
            f"is {report.chain_next_batch_id}: the database belongs to another chain or the "
            "chain was reset (use the matching GRIDLEDGER_DATABASE_URL)"
        )
    for batch_id, row in sorted(rows.items()):
        if status.get(row.outbox_id) not in UNCONFIRMED:
            continue
        info = core.meter_oracle.batch_of(batch_id)
        if to_hex(info.root) == row.root:
            if _mined_as_signed(w3, session, row.outbox_id):
                continue  # the relay re-broadcasts the same bytes and records the receipt
            _set_outbox(session, row.outbox_id, "mined", "found anchored on chain at start-up")
            report.confirmed_batch_ids.append(batch_id)
            continue
        _release(session, row)
        _adopt(session, core, batch_id, info, row)
        report.rebatched_batch_ids.append(batch_id)
    last_mined = max(
        (i for i, r in rows.items() if status.get(r.outbox_id) == "mined"), default=None
    )
    if last_mined is not None and to_hex(core.meter_oracle.batch_of(last_mined).root) != (
        rows[last_mined].root
    ):
        raise OracleStateError(
            f"batch {last_mined} of the oracle store has another root on chain: the database "
            "belongs to another chain (use the matching GRIDLEDGER_DATABASE_URL)"
        )
    for batch_id in range(max(rows, default=0) + 1, anchored + 1):
        if session.get(BatchRow, batch_id) is None:
            _adopt(session, core, batch_id, core.meter_oracle.batch_of(batch_id), None)
            report.adopted_batch_ids.append(batch_id)


def _mined_as_signed(w3: Web3, session: Session, outbox_id: int) -> bool:
    """The outbox row's own signed transaction is on chain (a crash after sending)."""
    row = session.get(OutboxRow, outbox_id)
    if row is None or row.status != "signed" or row.tx_hash is None:
        return False
    try:
        w3.eth.get_transaction_receipt(HexBytes(row.tx_hash))
    except TransactionNotFound:
        return False
    return True


def _set_outbox(session: Session, outbox_id: int, status: str, note: str) -> None:
    session.execute(
        update(OutboxRow).where(OutboxRow.id == outbox_id).values(status=status, error=note)
    )


def _release(session: Session, row: BatchRow) -> None:
    """Free the readings of ``row`` (cut again into a new batch) and retire its anchoring."""
    session.execute(
        update(ReadingRow)
        .where(ReadingRow.batch_id == row.id)
        .values(batch_id=None, batch_index=None)
    )
    note = f"batch id {row.id} was anchored on chain with another root: readings re-batched"
    _set_outbox(session, row.outbox_id, "skipped", note)


def _adopt(
    session: Session, core: OracleCore, batch_id: int, info: BatchInfo, row: BatchRow | None
) -> None:
    """Record batch ``batch_id`` as the chain holds it (no readings of this store)."""
    out = enqueue(session, "anchor_batch", str(batch_id), core.meter_oracle.address, "0x")
    out.status = "mined"
    out.error = "anchored before this store was restored: adopted from the chain at start-up"
    if row is None:
        row = BatchRow(id=batch_id, created_at=time.time())
        session.add(row)
    row.root = to_hex(info.root)
    row.reading_count = int(info.reading_count)
    row.first_interval_start = int(info.first_interval_start)
    row.outbox_id = out.id
    session.flush()


def _check_periods(core: OracleCore, session: Session, report: StartupCheck) -> None:
    open_periods = session.scalars(
        select(func.distinct(ReadingRow.period))
        .outerjoin(PeriodRow, PeriodRow.period == ReadingRow.period)
        .where(PeriodRow.period.is_(None))
    ).all()
    for period in sorted(int(p) for p in open_periods):
        if core.meter_oracle.period_of(period).posted_at:
            report.closed_periods.append(period)
