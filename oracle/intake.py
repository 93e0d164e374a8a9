"""Reading intake: check signed meter readings, store them, and flag anomalies.

A reading is checked in this order: its EIP-712 domain, its signature, its meter (known,
not revoked, signed with the meter's key), a duplicate of one already received, then its
plausibility (interval length and alignment, age, capacity, the meter's retirement, the
electrical bands of :mod:`oracle.electrical`, delivery period, sequence and cumulative
registers, the meter's final and initial registers, its calibration) and the anomaly
detector. A refusal names the wire field at fault (``ReadingResult.field``). In-order
readings are checked against an in-memory tail of the meter's series; a late (backfilled)
reading against SQL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from oracle import eip712
from oracle.anomaly import AnomalyDetector, Point
from oracle.core import OracleCore
from oracle.electrical import Bands, ImpossibleValueError, electrical_flags
from oracle.encoding import from_hex, to_hex
from oracle.meters import MeterDirectory, MeterRecord
from oracle.schemas import (
    REASON_STATUS,
    BatchResult,
    MeterReading,
    Outcome,
    ReadingBatch,
    ReadingResult,
    Reason,
    SignedReading,
)
from oracle.store import ReadingRow

#: A reading's signature, its digest (hex), its signer and why they are missing.
Prepared = tuple[bytes, str | None, str | None, str]


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
    def __init__(self, reason: Reason, detail: str, field: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.field = field
        super().__init__(detail)


class ReadingIntake:
    """Checks, stores and flags batches of signed readings."""

    def __init__(
        self, core: OracleCore, *, directory: MeterDirectory, detector: AnomalyDetector
    ) -> None:
        self.core = core
        self.directory = directory
        self.detector = detector
        self.bands = Bands()
        self.interval_s = core.settings.oracle_interval_s
        self.separator = eip712.domain_separator(
            eip712.METER_DOMAIN_NAME, core.chain_id, core.meter_oracle.address
        )
        self._state: dict[str, _MeterState] = {}

    def forget(self, meter_id: str) -> None:
        """Drop the cached tail of a meter's series (reloaded from SQL on its next reading)."""
        self._state.pop(meter_id, None)

    def ingest(self, batch: ReadingBatch) -> BatchResult:
        """Check, store and flag a batch of signed readings; one result per reading."""
        core = self.core
        count = len(batch.readings)
        wrong_chain = core.wrong_domain(
            batch.chain_id, batch.verifying_contract, core.meter_oracle.address
        )
        if wrong_chain:
            return summarise(
                ReadingResult(
                    index=i, outcome=Outcome.REJECTED, reason=Reason.WRONG_CHAIN, detail=wrong_chain
                )
                for i in range(count)
            )
        self.directory.refresh()
        now = core.clock()
        order = sorted(range(count), key=lambda i: batch.readings[i].reading.interval_start)
        results: list[ReadingResult | None] = [None] * count
        with core.lock, core.sessions.begin() as session:
            prepared = [self._prepare(item) for item in batch.readings]
            known = _known_digests(session, [p[1] for p in prepared if p[1] is not None])
            for i in order:
                results[i] = self._ingest_one(
                    session, i, batch.readings[i], prepared[i], known, now
                )
        return summarise(r for r in results if r is not None)

    def _prepare(self, item: SignedReading) -> Prepared:
        """(signature, digest hex, signer or None, error detail)."""
        signature = from_hex(item.signature)
        try:
            struct = eip712.reading_struct_hash(item.reading.message())
            digest = eip712.typed_digest(self.separator, struct)
            signer = eip712.recover_signer(digest, signature)
        except eip712.SignatureError as exc:
            return signature, None, None, str(exc)
        return signature, to_hex(digest), signer, ""

    def _ingest_one(
        self,
        session: Session,
        index: int,
        item: SignedReading,
        prepared: Prepared,
        known: dict[str, tuple[int, str]],
        now: float,
    ) -> ReadingResult:
        signature, digest, signer, problem = prepared
        r = item.reading
        try:
            if digest is None or signer is None:
                raise _Reject(Reason.BAD_SIGNATURE, problem)
            meter = self._meter_of(r, signer)
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
                field=rej.field,
                digest=digest,
            )
        row = _reading_row(r, meter, period, signature, digest, now, flags)
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

    def _meter_of(self, r: MeterReading, signer: str) -> MeterRecord:
        """The registered, unrevoked meter of ``r`` signing with ``signer``, or reject."""
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
        return meter

    def _plausible_and_flags(
        self, session: Session, r: MeterReading, meter: MeterRecord, now: float
    ) -> tuple[list[str], int]:
        """Anomaly flags and the delivery period of a reading, or :class:`_Reject`."""
        end = self._check_interval(r, now)
        capacity_wh = meter.capacity_w * self.interval_s // 3600
        for name, value in (
            ("importWh", r.import_wh),
            ("exportWh", r.export_wh),
            ("reactiveVarh", r.reactive_varh),
        ):
            if value > capacity_wh:
                raise _Reject(
                    Reason.IMPLAUSIBLE,
                    f"{name} {value} exceeds capacity x interval = {capacity_wh} Wh",
                    name,
                )
        _check_retired(r, meter, end)
        try:
            flags = electrical_flags(r, meter, self.interval_s, capacity_wh, self.bands)
        except ImpossibleValueError as exc:
            raise _Reject(Reason.IMPLAUSIBLE, exc.detail, exc.field) from None
        period = self._period_of(r.interval_start, end)
        if period in self.core.closed_periods:
            raise _Reject(Reason.PERIOD_CLOSED, f"period {period} is already posted on chain")
        key = r.meter_id.lower()
        state = self._meter_state(session, key)
        if r.interval_start > state.last_interval:
            first = state.last_interval < 0
            history = self._append(key, state, r, capacity_wh, meter)
        else:
            first, history = self._backfill(session, key, r, capacity_wh, meter)
        if first and _starts_off_initial(r, meter):
            flags.append("initial_register_mismatch")
        return history + flags, period

    def _check_interval(self, r: MeterReading, now: float) -> int:
        """The end of the reading's interval, or reject its length, alignment or age."""
        interval = self.interval_s
        settings = self.core.settings
        if r.interval_seconds != interval:
            raise _Reject(
                Reason.IMPLAUSIBLE,
                f"interval is {r.interval_seconds} s, expected {interval} s",
                "intervalSeconds",
            )
        if r.interval_start % interval:
            raise _Reject(
                Reason.IMPLAUSIBLE,
                f"interval start {r.interval_start} not aligned",
                "intervalStart",
            )
        end = r.interval_start + interval
        if end > now + settings.oracle_max_future_s:
            raise _Reject(
                Reason.IMPLAUSIBLE, f"interval ends at {end}, in the future", "intervalStart"
            )
        if now - end > settings.oracle_max_age_s:
            raise _Reject(
                Reason.IMPLAUSIBLE,
                f"interval ended {int(now - end)} s ago, older than the allowed "
                f"{settings.oracle_max_age_s} s",
            )
        return end

    def _period_of(self, start: int, end: int) -> int:
        """The delivery period holding the whole interval ``[start, end)``."""
        calendar = self.core.calendar
        period = calendar.period_of(start)
        if period is None:
            raise _Reject(Reason.NO_PERIOD, f"no delivery period covers interval [{start}, {end})")
        period_end = calendar.bounds(period)[1]
        if end > period_end:
            raise _Reject(
                Reason.NO_PERIOD,
                f"interval [{start}, {end}) crosses the end of delivery period {period} "
                f"at {period_end}",
            )
        return period

    def _append(
        self, key: str, state: _MeterState, r: MeterReading, capacity_wh: int, meter: MeterRecord
    ) -> list[str]:
        """A reading after the meter's latest interval: check it against the cached tail."""
        if r.sequence <= state.last_sequence:
            raise _Reject(
                Reason.REPLAY,
                f"sequence {r.sequence} not above the meter's last {state.last_sequence}",
            )
        if (
            r.import_register_wh < state.last_import_register
            or r.export_register_wh < state.last_export_register
        ):
            raise _Reject(
                Reason.IMPLAUSIBLE,
                "cumulative register decreased",
                _register_field(r, state.last_import_register),
            )
        history: list[Point] = list(state.history)
        flags = _register_life(r, meter) + self.detector.check(key, history, _point(r), capacity_wh)
        state.last_interval = r.interval_start
        state.last_sequence = r.sequence
        state.last_import_register = r.import_register_wh
        state.last_export_register = r.export_register_wh
        state.history.append(_point(r))
        while len(state.history) > self.detector.ml_window:
            state.history.popleft()
        return flags

    def _backfill(
        self, session: Session, key: str, r: MeterReading, capacity_wh: int, meter: MeterRecord
    ) -> tuple[bool, list[str]]:
        """A reading at or before the meter's latest interval: check it against SQL.
        (Whether it is the meter's earliest reading, its flags.)"""
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
        before = self._latest_rows(session, key, ReadingRow.interval_start < r.interval_start)
        after = session.scalars(
            select(ReadingRow)
            .where(ReadingRow.meter_id == key, ReadingRow.interval_start > r.interval_start)
            .order_by(ReadingRow.interval_start)
            .limit(1)
        ).first()
        _check_between(r, before[0] if before else None, after)
        life = _register_life(r, meter)
        history = [_point(p) for p in reversed(before) if p.status != "rejected"]
        self.forget(key)  # the tail may change: reload from SQL next time
        return not before, life + self.detector.check(key, history, _point(r), capacity_wh)

    def _latest_rows(
        self, session: Session, key: str, *where: ColumnElement[bool]
    ) -> list[ReadingRow]:
        """The meter's last ``ml_window`` readings (matching ``where``), newest first."""
        return list(
            session.scalars(
                select(ReadingRow)
                .where(ReadingRow.meter_id == key, *where)
                .order_by(ReadingRow.interval_start.desc())
                .limit(self.detector.ml_window)
            )
        )

    def _meter_state(self, session: Session, key: str) -> _MeterState:
        state = self._state.get(key)
        if state is not None:
            return state
        rows = self._latest_rows(session, key)
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


def _known_digests(session: Session, digests: list[str]) -> dict[str, tuple[int, str]]:
    """(reading id, status) of the readings already received, by digest."""
    return {
        d: (rid, status)
        for d, rid, status in session.execute(
            select(ReadingRow.digest, ReadingRow.id, ReadingRow.status).where(
                ReadingRow.digest.in_(digests)
            )
        )
    }


def _check_retired(r: MeterReading, meter: MeterRecord, end: int) -> None:
    """Refuse a reading of an interval ending after the meter's retirement."""
    if meter.retired_at and end > meter.retired_at:
        successor = f" (replaced by {meter.replaced_by})" if meter.replaced_by else ""
        raise _Reject(
            Reason.RETIRED_METER,
            f"meter {r.meter_id} was retired at {meter.retired_at}{successor}; "
            f"interval ends at {end}",
            "intervalStart",
        )


def _register_life(r: MeterReading, meter: MeterRecord) -> list[str]:
    """Refuse a reading past the retired meter's final registers or below its initial ones;
    flag one of an interval after the meter's calibration fell due."""
    for name, register, energy, initial, final in (
        (
            "importRegisterWh",
            r.import_register_wh,
            r.import_wh,
            meter.initial_import_register_wh,
            meter.final_import_register_wh,
        ),
        (
            "exportRegisterWh",
            r.export_register_wh,
            r.export_wh,
            meter.initial_export_register_wh,
            meter.final_export_register_wh,
        ),
    ):
        if meter.retired_at and register > final:
            raise _Reject(
                Reason.IMPLAUSIBLE,
                f"{name} {register} is past the retired meter's final register {final}",
                name,
            )
        if register < initial + energy:
            raise _Reject(
                Reason.IMPLAUSIBLE,
                f"{name} {register} minus the interval's {energy} Wh is below the meter's "
                f"initial register {initial} (energy counted twice)",
                name,
            )
    if meter.calibration_due_at and r.interval_start >= meter.calibration_due_at:
        return ["calibration_overdue"]
    return []


def _starts_off_initial(r: MeterReading, meter: MeterRecord) -> bool:
    """The meter's first reading does not start from its initial registers."""
    return (
        r.import_register_wh - r.import_wh != meter.initial_import_register_wh
        or r.export_register_wh - r.export_wh != meter.initial_export_register_wh
    )


def _register_field(r: MeterReading, earlier_import_wh: int) -> str:
    """Which register went below an earlier reading's."""
    return "importRegisterWh" if r.import_register_wh < earlier_import_wh else "exportRegisterWh"


def _check_between(r: MeterReading, prev: ReadingRow | None, after: ReadingRow | None) -> None:
    """A backfilled reading's sequence and registers fit between its neighbours."""
    if (prev is not None and prev.sequence >= r.sequence) or (
        after is not None and after.sequence <= r.sequence
    ):
        raise _Reject(Reason.REPLAY, f"sequence {r.sequence} out of order for its interval")
    if prev is not None and (
        r.import_register_wh < prev.import_register_wh
        or r.export_register_wh < prev.export_register_wh
    ):
        raise _Reject(
            Reason.IMPLAUSIBLE,
            "cumulative register below the earlier reading's",
            _register_field(r, prev.import_register_wh),
        )
    if after is not None and (
        r.import_register_wh > after.import_register_wh
        or r.export_register_wh > after.export_register_wh
    ):
        raise _Reject(
            Reason.IMPLAUSIBLE,
            "cumulative register above the later reading's",
            "importRegisterWh"
            if r.import_register_wh > after.import_register_wh
            else "exportRegisterWh",
        )


def _reading_row(
    r: MeterReading,
    meter: MeterRecord,
    period: int,
    signature: bytes,
    digest: str,
    now: float,
    flags: list[str],
) -> ReadingRow:
    struct = eip712.reading_struct_hash(r.message())
    return ReadingRow(
        **{**r.model_dump(), "meter_id": r.meter_id.lower()},
        node=meter.node,
        period=period,
        signature=to_hex(signature),
        digest=digest,
        leaf=to_hex(eip712.reading_leaf(struct, signature)),
        received_at=now,
        status="flagged" if flags else "accepted",
        flags=",".join(flags),
    )


def summarise(results: Iterable[ReadingResult]) -> BatchResult:
    """The counts of a batch's results, with the results."""
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
