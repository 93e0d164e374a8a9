"""The review queue: readings the anomaly detector flagged wait here until a VERIFIER
clears them (they count) or rejects them (they do not)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from web3 import Web3

from ledger.clients.access import MarketAccessClient
from oracle.core import OracleCore
from oracle.errors import OracleError
from oracle.intake import ReadingIntake
from oracle.schemas import PendingReading
from oracle.store import ReadingRow


class ReviewQueue:
    """Lists flagged readings and records a verifier's decision on one."""

    def __init__(
        self, core: OracleCore, *, access: MarketAccessClient, intake: ReadingIntake
    ) -> None:
        self.core = core
        self.access = access
        self.intake = intake

    def pending_review(self, limit: int = 100) -> list[PendingReading]:
        with self.core.sessions() as session:
            rows = session.scalars(
                select(ReadingRow)
                .where(ReadingRow.status == "flagged")
                .order_by(ReadingRow.id)
                .limit(limit)
            )
            return [
                PendingReading(
                    reading_id=r.id,
                    meter_id=r.meter_id,
                    node=r.node,
                    interval_start=r.interval_start,
                    import_wh=r.import_wh,
                    export_wh=r.export_wh,
                    flags=r.flags.split(",") if r.flags else [],
                    status=r.status,
                )
                for r in rows
            ]

    def hold_meter(
        self,
        meter_id: str,
        start_ts: int,
        end_ts: int,
        evidence: str,
        *,
        closed: Collection[int] = (),
    ) -> int:
        """Put a suspected tampered meter's accepted readings of ``[start_ts, end_ts)`` back
        under review (flag ``tamper``; ``evidence``, e.g. an :class:`oracle.tamper.TamperFlag`
        as text, in the review note): they stop counting, and their periods cannot close (so
        the node's totals, and its settlement, wait) until a VERIFIER decides. The number of
        readings held (none of the periods in ``closed``: those are posted already)."""
        with self.core.lock, self.core.sessions.begin() as session:
            rows = list(
                session.scalars(
                    select(ReadingRow).where(
                        func.lower(ReadingRow.meter_id) == meter_id.lower(),
                        ReadingRow.period.not_in(list(closed)),
                        ReadingRow.status == "accepted",
                        ReadingRow.interval_start >= start_ts,
                        ReadingRow.interval_start < end_ts,
                    )
                )
            )
            for row in rows:
                row.status = "flagged"
                row.flags = ",".join([*filter(None, row.flags.split(",")), "tamper"])
                row.review_note = evidence[:500]
            return len(rows)

    def decide_meter(self, meter_id: str, decision: str, verifier: str, note: str) -> int:
        """Clear or reject every reading of ``meter_id`` held for tampering (a VERIFIER's
        decision on a tamper case); the number decided."""
        self._check(decision, verifier)
        with self.core.lock, self.core.sessions.begin() as session:
            rows = list(
                session.scalars(
                    select(ReadingRow).where(
                        func.lower(ReadingRow.meter_id) == meter_id.lower(),
                        ReadingRow.status == "flagged",
                        ReadingRow.flags.contains("tamper"),
                    )
                )
            )
            for row in rows:
                self._decide(row, decision, verifier, note)
            return len(rows)

    def _check(self, decision: str, verifier: str) -> None:
        if decision not in ("clear", "reject"):
            raise OracleError(422, "bad_decision", "decision must be clear or reject")
        if not self.access.has_role("VERIFIER", verifier):
            raise OracleError(403, "not_verifier", f"{verifier} does not hold VERIFIER")

    def _decide(self, row: ReadingRow, decision: str, verifier: str, note: str) -> None:
        row.status = "cleared" if decision == "clear" else "rejected"
        row.reviewed_by = Web3.to_checksum_address(verifier)
        row.review_note = note
        self.intake.forget(row.meter_id)

    def review(self, reading_id: int, decision: str, verifier: str, note: str = "") -> str:
        """Clear or reject a flagged reading; ``verifier`` must hold VERIFIER on chain."""
        self._check(decision, verifier)
        with self.core.lock, self.core.sessions.begin() as session:
            row = session.get(ReadingRow, reading_id)
            if row is None:
                raise OracleError(404, "unknown_reading", f"no reading {reading_id}")
            if row.status != "flagged":
                raise OracleError(409, "not_flagged", f"reading {reading_id} is {row.status}")
            self._decide(row, decision, verifier, note)
            return row.status
