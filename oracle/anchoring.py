"""Batching: cut batches of received readings and queue the anchoring of their Merkle roots
(``MeterOracle.anchorBatch``) through the write-ahead outbox."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oracle.core import OracleCore
from oracle.encoding import from_hex, to_hex
from oracle.merkle import MerkleTree
from oracle.relay import enqueue
from oracle.store import BatchRow, ReadingRow


class BatchAnchorer:
    """Cuts batches of unbatched readings and queues their anchoring."""

    def __init__(self, core: OracleCore) -> None:
        self.core = core

    def close_batches(self, *, force: bool = False) -> list[int]:
        """Cut batches of unbatched readings and queue their anchoring; return their ids.

        A batch is cut when ``oracle_batch_size`` readings wait, when the oldest has waited
        ``oracle_batch_interval_s``, or when ``force``.
        """
        core = self.core
        made: list[int] = []
        with core.lock, core.sessions.begin() as session:
            while self._batch_due(session, force=force):
                made.append(self._cut(session))
        return made

    def _batch_due(self, session: Session, *, force: bool) -> bool:
        settings = self.core.settings
        waiting, oldest = session.execute(
            select(func.count(ReadingRow.id), func.min(ReadingRow.received_at)).where(
                ReadingRow.batch_id.is_(None)
            )
        ).one()
        if not waiting:
            return False
        due = self.core.clock() - float(oldest) >= settings.oracle_batch_interval_s
        return bool(waiting >= settings.oracle_batch_size or force or due)

    def _cut(self, session: Session) -> int:
        """Put the oldest unbatched readings into a new batch and queue its anchoring."""
        meter_oracle = self.core.meter_oracle
        rows = list(
            session.scalars(
                select(ReadingRow)
                .where(ReadingRow.batch_id.is_(None))
                .order_by(ReadingRow.id)
                .limit(self.core.settings.oracle_batch_size)
            )
        )
        batch_id = int(session.scalar(select(func.max(BatchRow.id))) or 0) + 1
        tree = MerkleTree([from_hex(r.leaf) for r in rows])
        first = min(r.interval_start for r in rows)
        for index, row in enumerate(rows):
            row.batch_id = batch_id
            row.batch_index = index
        data = meter_oracle.encode("anchorBatch", batch_id, tree.root, len(rows), first)
        out = enqueue(session, "anchor_batch", str(batch_id), meter_oracle.address, data)
        session.add(
            BatchRow(
                id=batch_id,
                root=to_hex(tree.root),
                reading_count=len(rows),
                first_interval_start=first,
                created_at=self.core.clock(),
                outbox_id=out.id,
            )
        )
        session.flush()
        return batch_id
