"""Closing delivery periods: every node's metered total of a period, the period's root of
totals (``MeterOracle.postPeriod``) and one ``submitNodeTotal`` per node behind it, all
queued through the write-ahead outbox."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session
from web3 import Web3

from ledger.clients.oracle import MeterOracleClient
from oracle import eip712
from oracle.anchoring import BatchAnchorer
from oracle.core import SETTLED_STATUSES, OracleCore
from oracle.encoding import from_hex, to_hex
from oracle.errors import OracleError
from oracle.merkle import MerkleTree
from oracle.relay import Relay, enqueue
from oracle.store import BatchRow, NodeTotalRow, OutboxRow, PeriodRow, ReadingRow

#: Outbox kind of a ``submitNodeTotal`` (ref ``<period>:<node>``).
NODE_TOTAL_KIND = "node_total"


class PeriodCloser:
    """Finds the periods due and closes them (their readings are refused afterwards)."""

    def __init__(self, core: OracleCore, *, anchorer: BatchAnchorer, relay: Relay) -> None:
        self.core = core
        self.anchorer = anchorer
        self.relay = relay

    def period_bounds(self, period: int) -> tuple[int, int]:
        """``[start, end)`` of delivery ``period`` (unix seconds) from the calendar."""
        return self.core.calendar.bounds(period)

    def due_periods(self) -> list[int]:
        """Periods with readings, not yet posted, whose late-reading window has passed."""
        core = self.core
        horizon = int(core.clock()) - core.settings.oracle_max_age_s
        with core.sessions() as session:
            periods = session.scalars(
                select(func.distinct(ReadingRow.period))
                .outerjoin(PeriodRow, PeriodRow.period == ReadingRow.period)
                .where(PeriodRow.period.is_(None))
            ).all()
        due: list[int] = []
        for p in sorted(int(p) for p in periods if int(p) not in core.closed_periods):
            try:
                end = self.period_bounds(p)[1]
            except OracleError:
                continue  # not a period of this calendar (e.g. the source was switched)
            if end <= horizon:
                due.append(p)
        return due

    def close_period(self, period: int, *, force: bool = False) -> PeriodRow:
        """Compute every node's metered total of ``period`` and queue the period root.

        Needs: the late-reading window over (unless ``force``), no reading of the period
        waiting for review, and every reading of the period anchored on chain. After this,
        readings of the period are refused. Behind the period root, one ``submitNodeTotal``
        per node is queued (the relay sends them in order, so only after the root is mined,
        and skips a total already recorded on chain), so settlement reads
        ``meteredEnergyOf(node, period)`` without anyone else acting.
        """
        core = self.core
        _start, end = self.period_bounds(period)
        with core.lock:
            if period in core.closed_periods:
                raise OracleError(409, "period_posted", f"period {period} is already posted")
            if not force and core.clock() < end + core.settings.oracle_max_age_s:
                raise OracleError(
                    409, "period_open", f"period {period} still accepts late readings"
                )
            in_period = ReadingRow.period == period
            self._check_reviewed(period, in_period)
            self.anchorer.close_batches(force=True)
            self.relay.run_once()
            with core.sessions.begin() as session:
                self._check_anchored(session, period, in_period)
                record = self._post(session, period, in_period)
            core.closed_periods.add(period)
        return record

    def _check_reviewed(self, period: int, in_period: ColumnElement[bool]) -> None:
        with self.core.sessions() as session:
            pending = session.scalar(
                select(func.count(ReadingRow.id)).where(in_period, ReadingRow.status == "flagged")
            )
        if pending:
            raise OracleError(
                409, "pending_review", f"{pending} readings of period {period} await review"
            )

    def _check_anchored(
        self, session: Session, period: int, in_period: ColumnElement[bool]
    ) -> None:
        unanchored = session.scalar(
            select(func.count(ReadingRow.id))
            .join(BatchRow, BatchRow.id == ReadingRow.batch_id)
            .join(OutboxRow, OutboxRow.id == BatchRow.outbox_id)
            .where(in_period, OutboxRow.status != "mined")
        )
        if unanchored:
            raise OracleError(
                409,
                "not_anchored",
                f"{unanchored} readings of period {period} not anchored",
            )

    def _post(self, session: Session, period: int, in_period: ColumnElement[bool]) -> PeriodRow:
        """Store the node totals and the period record, and queue their transactions."""
        meter_oracle = self.core.meter_oracle
        rows = list(
            session.scalars(
                select(ReadingRow)
                .where(in_period, ReadingRow.status.in_(SETTLED_STATUSES))
                .order_by(ReadingRow.node, ReadingRow.interval_start, ReadingRow.meter_id)
            )
        )
        if not rows:
            raise OracleError(409, "empty_period", f"period {period} has no readings")
        totals = node_totals(period, rows)
        totals_root = MerkleTree([from_hex(t.leaf) for t in totals]).root
        data = meter_oracle.encode("postPeriod", period, totals_root, len(totals), len(rows))
        out = enqueue(session, "post_period", str(period), meter_oracle.address, data)
        self._enqueue_node_totals(session, period, totals)
        record = PeriodRow(
            period=period,
            totals_root=to_hex(totals_root),
            node_count=len(totals),
            reading_count=len(rows),
            created_at=self.core.clock(),
            outbox_id=out.id,
        )
        session.add(record)
        session.add_all(totals)
        return record

    def _enqueue_node_totals(
        self, session: Session, period: int, totals: list[NodeTotalRow]
    ) -> None:
        """Queue ``submitNodeTotal`` of every node total, in leaf order, behind the root."""
        meter_oracle = self.core.meter_oracle
        tree = MerkleTree([from_hex(t.leaf) for t in totals])
        for total in totals:
            data = meter_oracle.encode(
                "submitNodeTotal",
                _total_tuple(total),
                tree.proof(total.position),
            )
            out = enqueue(
                session,
                NODE_TOTAL_KIND,
                f"{period}:{total.node}",
                meter_oracle.address,
                data,
            )
            total.submit_outbox_id = out.id


def node_totals(period: int, rows: list[ReadingRow]) -> list[NodeTotalRow]:
    """The totals of ``period``'s settled readings per node, in leaf order (by address)."""
    by_node: dict[str, list[ReadingRow]] = {}
    for row in rows:
        by_node.setdefault(Web3.to_checksum_address(row.node), []).append(row)
    totals: list[NodeTotalRow] = []
    for position, node in enumerate(sorted(by_node, key=str.lower)):
        readings = by_node[node]
        root = MerkleTree([from_hex(r.leaf) for r in readings]).root
        imp = sum(r.import_wh for r in readings)
        exp = sum(r.export_wh for r in readings)
        leaf = eip712.node_total_leaf(node, period, imp, exp, len(readings), root)
        totals.append(
            NodeTotalRow(
                period=period,
                node=node,
                position=position,
                import_wh=imp,
                export_wh=exp,
                reading_count=len(readings),
                readings_root=to_hex(root),
                reading_ids=",".join(str(r.id) for r in readings),
                leaf=to_hex(leaf),
            )
        )
    return totals


def node_total_precheck(meter_oracle: MeterOracleClient, row: OutboxRow) -> str | None:
    """Skip a node total that is already recorded on chain (by the node or anyone)."""
    period, node = row.ref.split(":", 1)
    if meter_oracle.metered_energy_of(node, int(period)).recorded:
        return f"node total of {node} in period {period} already recorded on chain"
    return None


def _total_tuple(total: NodeTotalRow) -> tuple[str, int, int, int, int, bytes]:
    """A node total as the ``IMeterOracle.NodeTotal`` ABI tuple."""
    return (
        total.node,
        total.period,
        total.import_wh,
        total.export_wh,
        total.reading_count,
        from_hex(total.readings_root),
    )
