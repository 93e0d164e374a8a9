"""The oracle's logic: ingest signed readings, batch and anchor them, close delivery
periods, relay dispatch results, and rebuild the proofs of a node's metered total.

The HTTP app (:mod:`oracle.app`) and the CLI are thin layers over :class:`OracleService`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from ledger.clients.access import MarketAccessClient
from ledger.clients.oracle import (
    DispatchResultsClient,
    MeterInfo,
    MeterOracleClient,
    reading_tuple,
)
from ledger.context import LedgerContext
from oracle import eip712
from oracle.anomaly import AnomalyDetector, Point
from oracle.dispatch import TradeSource, make_trade_source
from oracle.errors import OracleError
from oracle.merkle import MerkleTree
from oracle.merkle import verify as merkle_verify
from oracle.periods import FixedPeriodCalendar, PeriodCalendar, make_calendar
from oracle.relay import CrashHook, Relay, enqueue
from oracle.schemas import (
    REASON_STATUS,
    BatchResult,
    DispatchAccepted,
    DispatchReason,
    DispatchSubmission,
    Health,
    MeterReading,
    NodeProof,
    Outcome,
    PendingReading,
    ProofReading,
    ReadingBatch,
    ReadingResult,
    Reason,
)
from oracle.store import (
    BatchRow,
    DispatchResultRow,
    NodeTotalRow,
    OutboxRow,
    PeriodRow,
    ReadingRow,
)

#: Statuses of readings that count toward settlement.
SETTLED_STATUSES = ("accepted", "cleared")
#: Outbox kind of a ``submitNodeTotal`` (ref ``<period>:<node>``).
NODE_TOTAL_KIND = "node_total"


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _unhex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


class MeterDirectory:
    """Registered meters, kept in step with ``MeterRegistered``/``MeterRevoked`` events.

    :meth:`refresh` reads only the logs since the last sync (one ``eth_getLogs``), so every
    request sees registrations and revocations up to the chain head.
    """

    def __init__(self, client: MeterOracleClient, from_block: int) -> None:
        self._client = client
        self._next_block = from_block
        self._meters: dict[str, MeterInfo] = {}
        events = client.contract.events
        self._registered = events.MeterRegistered()
        self._revoked = events.MeterRevoked()
        self._topics = [
            [
                Web3.keccak(text="MeterRegistered(bytes32,address,address,uint64)").to_0x_hex(),
                Web3.keccak(text="MeterRevoked(bytes32,address,uint64)").to_0x_hex(),
            ]
        ]
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._lock:
            w3 = self._client.sender.w3
            head = w3.eth.block_number
            if head < self._next_block:
                return
            logs = w3.eth.get_logs(
                {
                    "address": self._client.address,
                    "fromBlock": self._next_block,
                    "toBlock": head,
                    "topics": self._topics,
                }
            )
            registered_topic = self._topics[0][0]
            for log in logs:
                if log["topics"][0].to_0x_hex() == registered_topic:
                    ev = self._registered.process_log(log)["args"]
                    self._meters[_hex(ev["meterId"])] = MeterInfo(
                        node=ev["node"],
                        signer=ev["signer"],
                        capacity_w=int(ev["capacityW"]),
                        registered_at=0,
                        revoked_at=0,
                    )
                else:
                    ev = self._revoked.process_log(log)["args"]
                    key = _hex(ev["meterId"])
                    if key in self._meters:
                        self._meters[key] = self._meters[key]._replace(
                            revoked_at=int(ev["revokedAt"])
                        )
            self._next_block = head + 1

    def get(self, meter_id: str) -> MeterInfo | None:
        return self._meters.get(meter_id.lower())


@dataclass
class _MeterState:
    """The tail of one meter's series, for in-order ingestion without SQL reads."""

    last_interval: int = -1
    last_sequence: int = -1
    last_import_register: int = 0
    last_export_register: int = 0
    history: deque[Point] = field(default_factory=deque)


def _point(r: MeterReading | ReadingRow) -> Point:
    return Point(
        interval_start=r.interval_start,
        import_wh=r.import_wh,
        export_wh=r.export_wh,
        reactive_varh=r.reactive_varh,
        import_register_wh=r.import_register_wh,
        export_register_wh=r.export_register_wh,
    )


class _Reject(Exception):  # noqa: N818 - control flow inside ingestion
    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(detail)


class OracleService:
    """Everything the oracle does, with its dependencies injected.

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
        self.meter_separator = eip712.domain_separator(
            eip712.METER_DOMAIN_NAME, self.chain_id, self.meter_oracle.address
        )
        self.dispatch_separator = eip712.domain_separator(
            eip712.DISPATCH_DOMAIN_NAME, self.chain_id, self.dispatch_results.address
        )
        deployed = ctx.manifest.contracts.get("MeterOracle")
        self.directory = MeterDirectory(self.meter_oracle, deployed.block_number if deployed else 0)
        self.relay = Relay(
            sessions,
            ctx.sender(account),
            crash_hook=crash_hook,
            receipt_timeout_s=settings.tx_timeout_s,
            prechecks={NODE_TOTAL_KIND: self._node_total_precheck},
        )
        self._lock = threading.RLock()
        self._state: dict[str, _MeterState] = {}
        self._closed_periods: set[int] = set()
        with sessions() as session:
            self._closed_periods.update(session.scalars(select(PeriodRow.period)))

    # ------------------------------------------------------------------ ingestion

    def ingest(self, batch: ReadingBatch) -> BatchResult:
        """Check, store and flag a batch of signed readings; one result per reading."""
        results: list[ReadingResult | None] = [None] * len(batch.readings)
        wrong_chain = self._wrong_domain(
            batch.chain_id, batch.verifying_contract, self.meter_oracle.address
        )
        if wrong_chain:
            out = [
                ReadingResult(
                    index=i, outcome=Outcome.REJECTED, reason=Reason.WRONG_CHAIN, detail=wrong_chain
                )
                for i in range(len(batch.readings))
            ]
            return _summary(out)
        self.directory.refresh()
        now = self.clock()
        order = sorted(
            range(len(batch.readings)), key=lambda i: batch.readings[i].reading.interval_start
        )
        with self._lock, self.sessions.begin() as session:
            prepared = [self._prepare(i, batch.readings[i]) for i in range(len(batch.readings))]
            digests = [p[1] for p in prepared if p[1] is not None]
            known = {
                d: (rid, status)
                for d, rid, status in session.execute(
                    select(ReadingRow.digest, ReadingRow.id, ReadingRow.status).where(
                        ReadingRow.digest.in_(digests)
                    )
                )
            }
            for i in order:
                results[i] = self._ingest_one(
                    session, i, batch.readings[i], prepared[i], known, now
                )
        return _summary([r for r in results if r is not None])

    def _wrong_domain(self, chain_id: int | None, contract: str | None, expected: str) -> str:
        if chain_id is not None and chain_id != self.chain_id:
            return f"signed for chain id {chain_id}, this chain is {self.chain_id}"
        if contract is not None and contract.lower() != expected.lower():
            return f"signed for contract {contract}, the oracle contract is {expected}"
        return ""

    def _prepare(self, index: int, item: Any) -> tuple[bytes, str | None, str | None, str]:
        """(signature, digest hex, signer or None, error detail)."""
        signature = _unhex(item.signature)
        try:
            struct = eip712.reading_struct_hash(item.reading.message())
            digest = eip712.typed_digest(self.meter_separator, struct)
            signer = eip712.recover_signer(digest, signature)
        except eip712.SignatureError as exc:
            return signature, None, None, str(exc)
        return signature, _hex(digest), signer, ""

    def _ingest_one(
        self,
        session: Session,
        index: int,
        item: Any,
        prepared: tuple[bytes, str | None, str | None, str],
        known: dict[str, tuple[int, str]],
        now: float,
    ) -> ReadingResult:
        signature, digest, signer, problem = prepared
        r: MeterReading = item.reading
        try:
            if digest is None or signer is None:
                raise _Reject(Reason.BAD_SIGNATURE, problem)
            meter = self.directory.get(r.meter_id)
            if meter is None:
                raise _Reject(Reason.UNKNOWN_METER, f"meter {r.meter_id} is not registered")
            if meter.revoked_at:
                raise _Reject(
                    Reason.REVOKED_METER, f"meter {r.meter_id} was revoked at {meter.revoked_at}"
                )
            if signer != meter.signer:
                raise _Reject(
                    Reason.BAD_SIGNATURE,
                    f"signed by {signer}, but meter {r.meter_id} signs with {meter.signer}",
                )
            if digest in known:
                rid, status = known[digest]
                return ReadingResult(
                    index=index,
                    outcome=Outcome.DUPLICATE,
                    reading_id=rid,
                    digest=digest,
                    detail=f"already received (status {status})",
                )
            flags, period = self._plausible_and_flags(session, r, meter, now)
        except _Reject as rej:
            return ReadingResult(
                index=index,
                outcome=Outcome.REJECTED,
                reason=rej.reason,
                detail=rej.detail,
                digest=digest,
            )
        struct = eip712.reading_struct_hash(r.message())
        row = ReadingRow(
            meter_id=r.meter_id.lower(),
            node=meter.node,
            interval_start=r.interval_start,
            interval_seconds=r.interval_seconds,
            period=period,
            import_wh=r.import_wh,
            export_wh=r.export_wh,
            reactive_varh=r.reactive_varh,
            import_register_wh=r.import_register_wh,
            export_register_wh=r.export_register_wh,
            sequence=r.sequence,
            signature=_hex(signature),
            digest=digest,
            leaf=_hex(eip712.reading_leaf(struct, signature)),
            received_at=now,
            status="flagged" if flags else "accepted",
            flags=",".join(flags),
        )
        session.add(row)
        session.flush()
        known[digest] = (row.id, row.status)
        return ReadingResult(
            index=index,
            outcome=Outcome.FLAGGED if flags else Outcome.ACCEPTED,
            reading_id=row.id,
            digest=digest,
            flags=flags,
        )

    def _plausible_and_flags(
        self, session: Session, r: MeterReading, meter: MeterInfo, now: float
    ) -> tuple[list[str], int]:
        """Anomaly flags and the delivery period of a reading, or :class:`_Reject`."""
        interval = self.interval_s
        if r.interval_seconds != interval:
            raise _Reject(
                Reason.IMPLAUSIBLE, f"interval is {r.interval_seconds} s, expected {interval} s"
            )
        if r.interval_start % interval:
            raise _Reject(Reason.IMPLAUSIBLE, f"interval start {r.interval_start} not aligned")
        end = r.interval_start + interval
        if end > now + self.settings.oracle_max_future_s:
            raise _Reject(Reason.IMPLAUSIBLE, f"interval ends at {end}, in the future")
        if now - end > self.settings.oracle_max_age_s:
            raise _Reject(
                Reason.IMPLAUSIBLE,
                f"interval ended {int(now - end)} s ago, older than the allowed "
                f"{self.settings.oracle_max_age_s} s",
            )
        capacity_wh = meter.capacity_w * interval // 3600
        for name, value in (
            ("importWh", r.import_wh),
            ("exportWh", r.export_wh),
            ("reactiveVarh", r.reactive_varh),
        ):
            if value > capacity_wh:
                raise _Reject(
                    Reason.IMPLAUSIBLE,
                    f"{name} {value} exceeds capacity x interval = {capacity_wh} Wh",
                )
        period = self._period_of(r.interval_start, end)
        if period in self._closed_periods:
            raise _Reject(Reason.PERIOD_CLOSED, f"period {period} is already posted on chain")
        key = r.meter_id.lower()
        state = self._meter_state(session, key)
        if r.interval_start > state.last_interval:
            if r.sequence <= state.last_sequence:
                raise _Reject(
                    Reason.REPLAY,
                    f"sequence {r.sequence} not above the meter's last {state.last_sequence}",
                )
            if (
                r.import_register_wh < state.last_import_register
                or r.export_register_wh < state.last_export_register
            ):
                raise _Reject(Reason.IMPLAUSIBLE, "cumulative register decreased")
            history: list[Point] = list(state.history)
            flags = self.detector.check(key, history, _point(r), capacity_wh)
            state.last_interval = r.interval_start
            state.last_sequence = r.sequence
            state.last_import_register = r.import_register_wh
            state.last_export_register = r.export_register_wh
            state.history.append(_point(r))
            while len(state.history) > self.detector.ml_window:
                state.history.popleft()
            return flags, period
        return self._backfill(session, key, r, capacity_wh), period

    def _period_of(self, start: int, end: int) -> int:
        """The delivery period holding the whole interval ``[start, end)``."""
        period = self.calendar.period_of(start)
        if period is None:
            raise _Reject(Reason.NO_PERIOD, f"no delivery period covers interval [{start}, {end})")
        period_end = self.calendar.bounds(period)[1]
        if end > period_end:
            raise _Reject(
                Reason.NO_PERIOD,
                f"interval [{start}, {end}) crosses the end of delivery period {period} "
                f"at {period_end}",
            )
        return period

    def _backfill(self, session: Session, key: str, r: MeterReading, capacity_wh: int) -> list[str]:
        """A reading at or before the meter's latest interval: check it against SQL."""
        clash = session.scalars(
            select(ReadingRow).where(
                ReadingRow.meter_id == key,
                (ReadingRow.interval_start == r.interval_start)
                | (ReadingRow.sequence == r.sequence),
            )
        ).first()
        if clash is not None:
            raise _Reject(
                Reason.REPLAY,
                f"meter already sent interval {clash.interval_start} / sequence "
                f"{clash.sequence} with other content (reading {clash.id})",
            )
        before = list(
            session.scalars(
                select(ReadingRow)
                .where(ReadingRow.meter_id == key, ReadingRow.interval_start < r.interval_start)
                .order_by(ReadingRow.interval_start.desc())
                .limit(self.detector.ml_window)
            )
        )
        after = session.scalars(
            select(ReadingRow)
            .where(ReadingRow.meter_id == key, ReadingRow.interval_start > r.interval_start)
            .order_by(ReadingRow.interval_start)
            .limit(1)
        ).first()
        prev = before[0] if before else None
        if (prev is not None and prev.sequence >= r.sequence) or (
            after is not None and after.sequence <= r.sequence
        ):
            raise _Reject(Reason.REPLAY, f"sequence {r.sequence} out of order for its interval")
        if prev is not None and (
            r.import_register_wh < prev.import_register_wh
            or r.export_register_wh < prev.export_register_wh
        ):
            raise _Reject(Reason.IMPLAUSIBLE, "cumulative register below the earlier reading's")
        if after is not None and (
            r.import_register_wh > after.import_register_wh
            or r.export_register_wh > after.export_register_wh
        ):
            raise _Reject(Reason.IMPLAUSIBLE, "cumulative register above the later reading's")
        history = [_point(p) for p in reversed(before) if p.status != "rejected"]
        self._state.pop(key, None)  # the tail may change: reload from SQL next time
        return self.detector.check(key, history, _point(r), capacity_wh)

    def _meter_state(self, session: Session, key: str) -> _MeterState:
        state = self._state.get(key)
        if state is not None:
            return state
        rows = list(
            session.scalars(
                select(ReadingRow)
                .where(ReadingRow.meter_id == key)
                .order_by(ReadingRow.interval_start.desc())
                .limit(self.detector.ml_window)
            )
        )
        state = _MeterState()
        if rows:
            last = rows[0]
            state.last_interval = last.interval_start
            state.last_sequence = max(r.sequence for r in rows)
            state.last_import_register = last.import_register_wh
            state.last_export_register = last.export_register_wh
            state.history.extend(_point(r) for r in reversed(rows) if r.status != "rejected")
        self._state[key] = state
        return state

    # ------------------------------------------------------------------ batches

    def close_batches(self, *, force: bool = False) -> list[int]:
        """Cut batches of unbatched readings and queue their anchoring; return their ids.

        A batch is cut when ``oracle_batch_size`` readings wait, when the oldest has waited
        ``oracle_batch_interval_s``, or when ``force``.
        """
        size = self.settings.oracle_batch_size
        made: list[int] = []
        with self._lock, self.sessions.begin() as session:
            while True:
                waiting, oldest = session.execute(
                    select(func.count(ReadingRow.id), func.min(ReadingRow.received_at)).where(
                        ReadingRow.batch_id.is_(None)
                    )
                ).one()
                if not waiting:
                    break
                due = self.clock() - float(oldest) >= self.settings.oracle_batch_interval_s
                if waiting < size and not (force or due):
                    break
                rows = list(
                    session.scalars(
                        select(ReadingRow)
                        .where(ReadingRow.batch_id.is_(None))
                        .order_by(ReadingRow.id)
                        .limit(size)
                    )
                )
                batch_id = int(session.scalar(select(func.max(BatchRow.id))) or 0) + 1
                tree = MerkleTree([_unhex(r.leaf) for r in rows])
                first = min(r.interval_start for r in rows)
                for index, row in enumerate(rows):
                    row.batch_id = batch_id
                    row.batch_index = index
                data = self.meter_oracle.encode(
                    "anchorBatch", batch_id, tree.root, len(rows), first
                )
                out = enqueue(
                    session, "anchor_batch", str(batch_id), self.meter_oracle.address, data
                )
                session.add(
                    BatchRow(
                        id=batch_id,
                        root=_hex(tree.root),
                        reading_count=len(rows),
                        first_interval_start=first,
                        created_at=self.clock(),
                        outbox_id=out.id,
                    )
                )
                session.flush()
                made.append(batch_id)
        return made

    # ------------------------------------------------------------------ periods

    def period_bounds(self, period: int) -> tuple[int, int]:
        """``[start, end)`` of delivery ``period`` (unix seconds) from the calendar."""
        return self.calendar.bounds(period)

    def due_periods(self) -> list[int]:
        """Periods with readings, not yet posted, whose late-reading window has passed."""
        horizon = int(self.clock()) - self.settings.oracle_max_age_s
        with self.sessions() as session:
            periods = session.scalars(
                select(func.distinct(ReadingRow.period))
                .outerjoin(PeriodRow, PeriodRow.period == ReadingRow.period)
                .where(PeriodRow.period.is_(None))
            ).all()
        due: list[int] = []
        for p in sorted(int(p) for p in periods if int(p) not in self._closed_periods):
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
        _start, end = self.period_bounds(period)
        with self._lock:
            if period in self._closed_periods:
                raise OracleError(409, "period_posted", f"period {period} is already posted")
            if not force and self.clock() < end + self.settings.oracle_max_age_s:
                raise OracleError(
                    409, "period_open", f"period {period} still accepts late readings"
                )
            in_period = ReadingRow.period == period
            with self.sessions() as session:
                pending = session.scalar(
                    select(func.count(ReadingRow.id)).where(
                        in_period, ReadingRow.status == "flagged"
                    )
                )
                if pending:
                    raise OracleError(
                        409, "pending_review", f"{pending} readings of period {period} await review"
                    )
            self.close_batches(force=True)
            self.relay.run_once()
            with self.sessions.begin() as session:
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
                rows = list(
                    session.scalars(
                        select(ReadingRow)
                        .where(in_period, ReadingRow.status.in_(SETTLED_STATUSES))
                        .order_by(ReadingRow.node, ReadingRow.interval_start, ReadingRow.meter_id)
                    )
                )
                if not rows:
                    raise OracleError(409, "empty_period", f"period {period} has no readings")
                by_node: dict[str, list[ReadingRow]] = {}
                for row in rows:
                    by_node.setdefault(Web3.to_checksum_address(row.node), []).append(row)
                totals: list[NodeTotalRow] = []
                for position, node in enumerate(sorted(by_node, key=str.lower)):
                    readings = by_node[node]
                    root = MerkleTree([_unhex(r.leaf) for r in readings]).root
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
                            readings_root=_hex(root),
                            reading_ids=",".join(str(r.id) for r in readings),
                            leaf=_hex(leaf),
                        )
                    )
                totals_root = MerkleTree([_unhex(t.leaf) for t in totals]).root
                data = self.meter_oracle.encode(
                    "postPeriod", period, totals_root, len(totals), len(rows)
                )
                out = enqueue(session, "post_period", str(period), self.meter_oracle.address, data)
                self._enqueue_node_totals(session, period, totals)
                record = PeriodRow(
                    period=period,
                    totals_root=_hex(totals_root),
                    node_count=len(totals),
                    reading_count=len(rows),
                    created_at=self.clock(),
                    outbox_id=out.id,
                )
                session.add(record)
                session.add_all(totals)
            self._closed_periods.add(period)
        return record

    def _enqueue_node_totals(
        self, session: Session, period: int, totals: list[NodeTotalRow]
    ) -> None:
        """Queue ``submitNodeTotal`` of every node total, in leaf order, behind the root."""
        tree = MerkleTree([_unhex(t.leaf) for t in totals])
        for total in totals:
            data = self.meter_oracle.encode(
                "submitNodeTotal",
                _total_tuple(total),
                tree.proof(total.position),
            )
            out = enqueue(
                session,
                NODE_TOTAL_KIND,
                f"{period}:{total.node}",
                self.meter_oracle.address,
                data,
            )
            total.submit_outbox_id = out.id

    def _node_total_precheck(self, row: OutboxRow) -> str | None:
        """Skip a node total that is already recorded on chain (by the node or anyone)."""
        period, node = row.ref.split(":", 1)
        if self.meter_oracle.metered_energy_of(node, int(period)).recorded:
            return f"node total of {node} in period {period} already recorded on chain"
        return None

    # ------------------------------------------------------------------ review

    def pending_review(self, limit: int = 100) -> list[PendingReading]:
        with self.sessions() as session:
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

    def review(self, reading_id: int, decision: str, verifier: str, note: str = "") -> str:
        """Clear or reject a flagged reading; ``verifier`` must hold VERIFIER on chain."""
        if decision not in ("clear", "reject"):
            raise OracleError(422, "bad_decision", "decision must be clear or reject")
        if not self.access.has_role("VERIFIER", verifier):
            raise OracleError(403, "not_verifier", f"{verifier} does not hold VERIFIER")
        with self._lock, self.sessions.begin() as session:
            row = session.get(ReadingRow, reading_id)
            if row is None:
                raise OracleError(404, "unknown_reading", f"no reading {reading_id}")
            if row.status != "flagged":
                raise OracleError(409, "not_flagged", f"reading {reading_id} is {row.status}")
            row.status = "cleared" if decision == "clear" else "rejected"
            row.reviewed_by = Web3.to_checksum_address(verifier)
            row.review_note = note
            self._state.pop(row.meter_id, None)
            return row.status

    # ------------------------------------------------------------------ dispatch

    def submit_dispatch(self, sub: DispatchSubmission) -> DispatchAccepted:
        """Verify dispatch-signed results and queue their relay (all or nothing)."""
        problem = self._wrong_domain(
            sub.chain_id, sub.verifying_contract, self.dispatch_results.address
        )
        if problem:
            raise OracleError(400, DispatchReason.WRONG_CHAIN, problem)
        signers: set[str] = set()
        prepared: list[tuple[Any, bytes, str]] = []
        for item in sub.results:
            res = item.result
            signature = _unhex(item.signature)
            digest = eip712.typed_digest(
                self.dispatch_separator, eip712.dispatch_struct_hash(res.message())
            )
            try:
                signer = eip712.recover_signer(digest, signature)
            except eip712.SignatureError as exc:
                raise OracleError(
                    401, DispatchReason.BAD_SIGNATURE, f"trade {res.trade_id}: {exc}"
                ) from exc
            signers.add(signer)
            prepared.append((res, signature, signer))
        for signer in sorted(signers):
            if not self.access.has_role("DISPATCH", signer):
                raise OracleError(
                    403, DispatchReason.NOT_DISPATCH, f"{signer} does not hold the DISPATCH role"
                )
        chain_now = int(self.ctx.w3.eth.get_block("latest")["timestamp"])
        with self._lock, self.sessions.begin() as session:
            for res, _sig, _signer in prepared:
                trade = self.trades.trade(res.trade_id)
                if trade is None:
                    raise OracleError(422, DispatchReason.UNKNOWN_TRADE, f"no trade {res.trade_id}")
                if trade.period != res.period:
                    raise OracleError(
                        422,
                        DispatchReason.INCONSISTENT,
                        f"trade {res.trade_id} is in period {trade.period}, not {res.period}",
                    )
                if res.executed_wh + res.curtailed_wh != trade.energy_wh:
                    raise OracleError(
                        422,
                        DispatchReason.INCONSISTENT,
                        f"trade {res.trade_id}: executed + curtailed != {trade.energy_wh} Wh",
                    )
                if session.get(DispatchResultRow, str(res.trade_id)) is not None or (
                    self.dispatch_results.result_of(res.trade_id).recorded
                ):
                    raise OracleError(
                        409, DispatchReason.REPLAY, f"trade {res.trade_id} already has a result"
                    )
                opens = self.dispatch_results.settlement_opens_at(res.period)
                if opens and chain_now >= opens:
                    raise OracleError(
                        409,
                        DispatchReason.SETTLEMENT_OPEN,
                        f"settlement of period {res.period} opened at {opens}",
                    )
            data = self.dispatch_results.encode(
                "submitResults",
                [
                    (r.trade_id, r.period, r.executed_wh, r.curtailed_wh, r.reason_code)
                    for r, _s, _g in prepared
                ],
                [sig for _r, sig, _g in prepared],
            )
            ids = [r.trade_id for r, _s, _g in prepared]
            out = enqueue(
                session,
                "dispatch_results",
                ",".join(str(i) for i in ids)[:100],
                self.dispatch_results.address,
                data,
            )
            for res, sig, signer in prepared:
                session.add(
                    DispatchResultRow(
                        trade_id=str(res.trade_id),
                        period=res.period,
                        executed_wh=res.executed_wh,
                        curtailed_wh=res.curtailed_wh,
                        reason_code=res.reason_code,
                        signature=_hex(sig),
                        signer=signer,
                        received_at=self.clock(),
                        outbox_id=out.id,
                    )
                )
            outbox_id = out.id
        return DispatchAccepted(outbox_id=outbox_id, trade_ids=ids, signer=sorted(signers)[0])

    # ------------------------------------------------------------------ background

    def tick(self) -> None:
        """One round of background work: cut batches, relay, close due periods, relay."""
        self.close_batches()
        self.relay.run_once()
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

    # ------------------------------------------------------------------ proofs

    def node_proof(self, node: str, period: int) -> NodeProof:
        """The node's posted total of ``period`` with every reading and both proofs."""
        node = Web3.to_checksum_address(node)
        with self.sessions() as session:
            total = session.get(NodeTotalRow, (period, node))
            if total is None:
                raise OracleError(404, "no_total", f"no posted total of {node} in period {period}")
            period_totals = list(
                session.scalars(
                    select(NodeTotalRow)
                    .where(NodeTotalRow.period == period)
                    .order_by(NodeTotalRow.position)
                )
            )
            totals_tree = MerkleTree([_unhex(t.leaf) for t in period_totals])
            ids = [int(i) for i in total.reading_ids.split(",")]
            rows_by_id = {
                r.id: r for r in session.scalars(select(ReadingRow).where(ReadingRow.id.in_(ids)))
            }
            readings = [rows_by_id[i] for i in ids]
            node_tree = MerkleTree([_unhex(r.leaf) for r in readings])
            batch_trees: dict[int, tuple[MerkleTree, str]] = {}
            for batch_id in {r.batch_id for r in readings if r.batch_id is not None}:
                members = list(
                    session.scalars(
                        select(ReadingRow.leaf)
                        .where(ReadingRow.batch_id == batch_id)
                        .order_by(ReadingRow.batch_index)
                    )
                )
                batch_row = session.get(BatchRow, batch_id)
                assert batch_row is not None
                batch_trees[batch_id] = (MerkleTree([_unhex(x) for x in members]), batch_row.root)
        out: list[ProofReading] = []
        for index, row in enumerate(readings):
            assert row.batch_id is not None
            assert row.batch_index is not None
            tree, root = batch_trees[row.batch_id]
            out.append(
                ProofReading(
                    reading=_reading_model(row),
                    signature=row.signature,
                    leaf=row.leaf,
                    batch_id=row.batch_id,
                    batch_root=root,
                    batch_proof=[_hex(p) for p in tree.proof(row.batch_index)],
                    node_proof=[_hex(p) for p in node_tree.proof(index)],
                )
            )
        return NodeProof(
            node=node,
            period=period,
            import_wh=total.import_wh,
            export_wh=total.export_wh,
            net_wh=total.import_wh - total.export_wh,
            reading_count=total.reading_count,
            readings_root=total.readings_root,
            node_leaf=total.leaf,
            totals_root=_hex(totals_tree.root),
            totals_proof=[_hex(p) for p in totals_tree.proof(total.position)],
            readings=out,
        )


def _total_tuple(total: NodeTotalRow) -> tuple[str, int, int, int, int, bytes]:
    """A node total as the ``IMeterOracle.NodeTotal`` ABI tuple."""
    return (
        total.node,
        total.period,
        total.import_wh,
        total.export_wh,
        total.reading_count,
        _unhex(total.readings_root),
    )


def _reading_model(row: ReadingRow) -> MeterReading:
    return MeterReading(
        meter_id=row.meter_id,
        interval_start=row.interval_start,
        interval_seconds=row.interval_seconds,
        import_wh=row.import_wh,
        export_wh=row.export_wh,
        reactive_varh=row.reactive_varh,
        import_register_wh=row.import_register_wh,
        export_register_wh=row.export_register_wh,
        sequence=row.sequence,
    )


def _summary(results: Iterable[ReadingResult]) -> BatchResult:
    items = list(results)
    count = {o: sum(1 for r in items if r.outcome == o) for o in Outcome}
    return BatchResult(
        accepted=count[Outcome.ACCEPTED],
        flagged=count[Outcome.FLAGGED],
        duplicate=count[Outcome.DUPLICATE],
        rejected=count[Outcome.REJECTED],
        results=items,
    )


def batch_status(result: BatchResult) -> int:
    """HTTP status of an ingestion: 200 unless every reading was rejected; then the
    rejection's status when they agree, else 422."""
    if result.rejected < len(result.results):
        return 200
    codes = {REASON_STATUS[r.reason] for r in result.results if r.reason is not None}
    return codes.pop() if len(codes) == 1 else 422


class ProofCheck:
    """Independent verification of a :class:`NodeProof` against the chain."""

    def __init__(self, client: MeterOracleClient, chain_id: int) -> None:
        self.client = client
        self.separator = eip712.domain_separator(eip712.METER_DOMAIN_NAME, chain_id, client.address)

    def check(self, proof: NodeProof, *, on_chain: bool = True) -> list[str]:
        """Every problem found (empty when the total is proven)."""
        problems: list[str] = []
        imp = exp = 0
        leaves: list[bytes] = []
        batch_roots: dict[int, bytes] = {}
        for item in proof.readings:
            msg = item.reading.message()
            struct = eip712.reading_struct_hash(msg)
            digest = eip712.typed_digest(self.separator, struct)
            sig = _unhex(item.signature)
            meter = self.client.meter_of(_unhex(item.reading.meter_id))
            try:
                signer = eip712.recover_signer(digest, sig)
            except eip712.SignatureError as exc:
                problems.append(f"reading seq {item.reading.sequence}: {exc}")
                continue
            item_signer_ok = signer == meter.signer
            if not item_signer_ok or Web3.to_checksum_address(meter.node) != proof.node:
                problems.append(f"reading seq {item.reading.sequence}: not the node's meter key")
            leaf = eip712.reading_leaf(struct, sig)
            if _hex(leaf) != item.leaf:
                problems.append(f"reading seq {item.reading.sequence}: leaf mismatch")
            if item.batch_id not in batch_roots:
                batch_roots[item.batch_id] = self.client.batch_of(item.batch_id).root
            chain_root = batch_roots[item.batch_id]
            if not merkle_verify([_unhex(p) for p in item.batch_proof], chain_root, leaf):
                problems.append(
                    f"reading seq {item.reading.sequence}: not in anchored batch {item.batch_id}"
                )
            if on_chain and not self.client.verify_reading(
                reading_tuple(msg), sig, item.batch_id, [_unhex(p) for p in item.batch_proof]
            ):
                problems.append(f"reading seq {item.reading.sequence}: verifyReading false")
            imp += item.reading.import_wh
            exp += item.reading.export_wh
            leaves.append(leaf)
        if (imp, exp, len(leaves)) != (proof.import_wh, proof.export_wh, proof.reading_count):
            problems.append(
                f"readings sum to import {imp} / export {exp} / {len(leaves)} readings, "
                f"posted {proof.import_wh} / {proof.export_wh} / {proof.reading_count}"
            )
        root = MerkleTree(leaves).root if leaves else b"\x00" * 32
        if _hex(root) != proof.readings_root:
            problems.append("readings root does not match the readings")
        leaf = eip712.node_total_leaf(
            proof.node, proof.period, proof.import_wh, proof.export_wh, proof.reading_count, root
        )
        chain_period = self.client.period_of(proof.period)
        if not merkle_verify(
            [_unhex(p) for p in proof.totals_proof], chain_period.totals_root, leaf
        ):
            problems.append("node total is not in the period root anchored on chain")
        total = (
            proof.node,
            proof.period,
            proof.import_wh,
            proof.export_wh,
            proof.reading_count,
            root,
        )
        if on_chain and not self.client.verify_node_total(
            total, [_unhex(p) for p in proof.totals_proof]
        ):
            problems.append("verifyNodeTotal returned false")
        return problems
