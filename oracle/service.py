"""The oracle: one facade over its parts, with their dependencies injected.

* :mod:`oracle.intake`: check, store and flag signed readings;
* :mod:`oracle.anchoring`: cut batches and queue their Merkle roots;
* :mod:`oracle.totals`: close delivery periods (node totals, period root);
* :mod:`oracle.review`: the queue of flagged readings;
* :mod:`oracle.tamper_watch`: feeder readings and the tampered-meter scan (its cases go to the
  review queue);
* :mod:`oracle.dispatch_relay`: verify and relay dispatch results;
* :mod:`oracle.proofs`: rebuild and check the proofs of a node's metered total;
* :mod:`oracle.relay`: the write-ahead outbox that sends every transaction.

The HTTP app (:mod:`oracle.app`) and the CLI are thin layers over :class:`OracleService`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.clients.access import MarketAccessClient
from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.context import LedgerContext
from oracle.anchoring import BatchAnchorer
from oracle.anomaly import AnomalyDetector
from oracle.core import OracleCore
from oracle.dispatch import TradeSource, make_trade_source
from oracle.dispatch_relay import DispatchRelay
from oracle.errors import OracleError
from oracle.intake import ReadingIntake
from oracle.meters import MeterDirectory
from oracle.periods import FixedPeriodCalendar, PeriodCalendar, make_calendar
from oracle.proofs import node_proof
from oracle.relay import CrashHook, Relay
from oracle.review import ReviewQueue
from oracle.schemas import (
    BatchResult,
    DispatchAccepted,
    DispatchSubmission,
    Health,
    NodeProof,
    PendingReading,
    ReadingBatch,
)
from oracle.startup import StartupCheck, check_store
from oracle.store import BatchRow, OutboxRow, PeriodRow, ReadingRow
from oracle.tamper_watch import FeederMeter, TamperCase, TamperWatch
from oracle.totals import NODE_TOTAL_KIND, PeriodCloser, node_total_precheck

log = logging.getLogger("gridledger.oracle")


class OracleService:
    """Everything the oracle does, delegated to its parts.

    Args:
        ctx: Chain, manifest and senders.
        sessions: SQL sessions of the oracle's tables.
        account: The METER_ORACLE key that relays.
        trades: Where dispatch trades come from (default: ``TradingMarket`` when deployed).
        calendar: The delivery periods (default: ``TradingMarket``'s when deployed and
            ``oracle_period_source`` is ``trading``, else fixed ``oracle_period_s`` periods).
        clock: Wall-clock seconds (tests inject a fixed clock).
        detector: The anomaly detector.
        crash_hook: Test hook of the relay.

    Raises:
        OracleStateError: The store does not fit the chain (see :mod:`oracle.startup`).
    """

    def __init__(
        self,
        ctx: LedgerContext,
        *,
        sessions: sessionmaker[Session],
        account: LocalAccount,
        trades: TradeSource | None = None,
        calendar: PeriodCalendar | None = None,
        clock: Callable[[], float] = time.time,
        detector: AnomalyDetector | None = None,
        crash_hook: CrashHook | None = None,
    ) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.settings = settings
        self.sessions = sessions
        self.account = account
        self.trades: TradeSource = trades if trades is not None else make_trade_source(ctx, account)
        self.calendar: PeriodCalendar = (
            calendar if calendar is not None else make_calendar(ctx, account)
        )
        self.clock = clock
        if (
            isinstance(self.calendar, FixedPeriodCalendar)
            and self.calendar.period_s % settings.oracle_interval_s
        ):
            raise OracleError(500, "config", "oracle_period_s must be a multiple of the interval")
        self.interval_s = settings.oracle_interval_s
        #: Length of a fixed period (only meaningful with a :class:`FixedPeriodCalendar`).
        self.period_s = (
            self.calendar.period_s
            if isinstance(self.calendar, FixedPeriodCalendar)
            else settings.oracle_period_s
        )
        self.detector = detector or AnomalyDetector(interval_s=self.interval_s)
        self.chain_id = int(ctx.w3.eth.chain_id)
        self.meter_oracle = ctx.client(MeterOracleClient, account)
        self.dispatch_results = ctx.client(DispatchResultsClient, account)
        self.access = ctx.client(MarketAccessClient, account)
        deployed = ctx.manifest.contracts.get("MeterOracle")
        self.directory = MeterDirectory(self.meter_oracle, deployed.block_number if deployed else 0)
        self.relay = Relay(
            sessions,
            ctx.sender(account),
            crash_hook=crash_hook,
            receipt_timeout_s=settings.tx_timeout_s,
            prechecks={NODE_TOTAL_KIND: partial(node_total_precheck, self.meter_oracle)},
        )
        self.core = OracleCore(
            settings=settings,
            sessions=sessions,
            clock=clock,
            calendar=self.calendar,
            meter_oracle=self.meter_oracle,
            chain_id=self.chain_id,
        )
        self.core.load_closed_periods()
        #: The store checked against the chain (re-synced, or OracleStateError raised).
        self.startup: StartupCheck = check_store(self.core, ctx.w3, account.address)
        log.info("%s", self.startup.describe())
        self.intake = ReadingIntake(self.core, directory=self.directory, detector=self.detector)
        self.anchorer = BatchAnchorer(self.core)
        self.closer = PeriodCloser(self.core, anchorer=self.anchorer, relay=self.relay)
        self.reviews = ReviewQueue(self.core, access=self.access, intake=self.intake)
        self.tamper = TamperWatch(self.core, reviews=self.reviews)
        self.dispatch = DispatchRelay(
            self.core,
            ctx=ctx,
            dispatch_results=self.dispatch_results,
            access=self.access,
            trades=self.trades,
        )

    # ------------------------------------------------------------------ readings

    def ingest(self, batch: ReadingBatch) -> BatchResult:
        """Check, store and flag a batch of signed readings; one result per reading."""
        return self.intake.ingest(batch)

    def close_batches(self, *, force: bool = False) -> list[int]:
        """Cut batches of unbatched readings and queue their anchoring; return their ids."""
        return self.anchorer.close_batches(force=force)

    # ------------------------------------------------------------------ periods

    def period_bounds(self, period: int) -> tuple[int, int]:
        """``[start, end)`` of delivery ``period`` (unix seconds) from the calendar."""
        return self.closer.period_bounds(period)

    def due_periods(self) -> list[int]:
        """Periods with readings, not yet posted, whose late-reading window has passed."""
        return self.closer.due_periods()

    def close_period(self, period: int, *, force: bool = False) -> PeriodRow:
        """Compute every node's metered total of ``period`` and queue the period root."""
        return self.closer.close_period(period, force=force)

    # ------------------------------------------------------------------ review

    def pending_review(self, limit: int = 100) -> list[PendingReading]:
        return self.reviews.pending_review(limit)

    def hold_meter(self, meter_id: str, start_ts: int, end_ts: int, evidence: str) -> int:
        return self.reviews.hold_meter(meter_id, start_ts, end_ts, evidence)

    def review(self, reading_id: int, decision: str, verifier: str, note: str = "") -> str:
        """Clear or reject a flagged reading; ``verifier`` must hold VERIFIER on chain."""
        return self.reviews.review(reading_id, decision, verifier, note)

    # ------------------------------------------------------------------ tampered meters

    def register_feeder(self, feeder: int, region: int, meters: list[FeederMeter]) -> None:
        """Record the customer meters of a feeder (its transformer meter ``feeder``)."""
        self.tamper.register_feeder(feeder, region, meters)

    def record_feeder_days(self, feeder: int, energy_wh: dict[int, int]) -> None:
        """The feeder meter's energy per UTC day (unix seconds // 86400)."""
        self.tamper.record_feeder_days(feeder, energy_wh)

    def scan_tamper(self, through_day: int | None = None) -> list[TamperCase]:
        """Run the tamper detector now (through ``through_day``, default the due day)."""
        if through_day is None:
            return self.tamper.run_if_due()
        return self.tamper.scan(through_day)

    def tamper_cases(self, status: str | None = None) -> list[TamperCase]:
        return self.tamper.cases(status)

    def decide_tamper(
        self, case_id: int, decision: str, verifier: str, note: str = ""
    ) -> TamperCase:
        """``confirm`` or ``dismiss`` a tamper case; ``verifier`` must hold VERIFIER."""
        return self.tamper.decide(case_id, decision, verifier, note)

    # ------------------------------------------------------------------ dispatch, proofs

    def submit_dispatch(self, sub: DispatchSubmission) -> DispatchAccepted:
        """Verify dispatch-signed results and queue their relay (all or nothing)."""
        return self.dispatch.submit_dispatch(sub)

    def node_proof(self, node: str, period: int) -> NodeProof:
        """The node's posted total of ``period`` with every reading and both proofs."""
        return node_proof(self.sessions, node, period)

    # ------------------------------------------------------------------ background

    def tick(self) -> None:
        """One round of background work: cut batches, relay, scan for tampered meters when a
        feeder day is due (before periods close, so a flagged meter's open periods wait),
        close due periods, relay."""
        self.close_batches()
        self.relay.run_once()
        self.tamper.run_if_due()
        for period in self.due_periods():
            try:
                self.close_period(period)
            except OracleError:
                continue
        self.relay.run_once()

    def health(self) -> Health:
        with self.sessions() as session:
            unbatched = session.scalar(
                select(func.count(ReadingRow.id)).where(ReadingRow.batch_id.is_(None))
            )
            pending = session.scalar(
                select(func.count(ReadingRow.id)).where(ReadingRow.status == "flagged")
            )
            open_out = session.scalar(
                select(func.count(OutboxRow.id)).where(OutboxRow.status.in_(("pending", "signed")))
            )
            failed = session.scalar(
                select(func.count(OutboxRow.id)).where(OutboxRow.status == "failed")
            )
            last = session.scalar(select(func.max(BatchRow.id)))
        return Health(
            chain_id=self.chain_id,
            meter_oracle=self.meter_oracle.address,
            dispatch_results=self.dispatch_results.address,
            oracle_address=self.account.address,
            unbatched=int(unbatched or 0),
            pending_review=int(pending or 0),
            outbox_pending=int(open_out or 0),
            outbox_failed=int(failed or 0),
            last_batch_id=int(last or 0),
        )
