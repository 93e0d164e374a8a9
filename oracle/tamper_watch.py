"""The running oracle's tamper watch: :mod:`oracle.tamper` over the oracle's own store.

The oracle keeps, next to its signed readings, the feeder (transformer) topology and the
feeder meters' daily energy (``oracle_feeder_meters``, ``oracle_feeder_days``), and a meter's
daily energy from before this store existed (``oracle_meter_days``, imported from the
metering back office). A customer meter's energy of a UTC day is the sum of its stored
readings of that day (accepted, flagged or cleared; rejected ones do not count), else the
imported value.

Once the feeder readings of a day are in and the day's late-reading window has passed,
:meth:`TamperWatch.run_if_due` (called from :meth:`oracle.service.OracleService.tick`
before due periods close) runs :func:`oracle.tamper.detect` through that day. A flagged
meter gets a *tamper case* (``oracle_tamper_flags``, with the evidence: feeder, days,
estimated missing energy, the feeder's missing energy, the peer ratio) and its stored
readings from the first suspected day on go back to the review queue
(:meth:`oracle.review.ReviewQueue.hold_meter`): their periods, and so the node's totals and
settlement, wait. While the case is open, later scans hold the meter's newer readings too.
A VERIFIER decides the case (:meth:`TamperWatch.decide`): ``confirm`` rejects the held
readings (they never count), ``dismiss`` clears them; a decided meter is not flagged again.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.feeders import CustomerMeter, Feeder, FeederNetwork
from oracle.core import OracleCore
from oracle.errors import OracleError
from oracle.review import ReviewQueue
from oracle.schemas import Wire
from oracle.store import OracleBase, ReadingRow
from oracle.tamper import TamperFlag, detect

DAY_S = 86_400
#: Reading statuses that count as what the meter reported.
REPORTED = ("accepted", "flagged", "cleared")


class FeederMeterRow(OracleBase):
    """Feeder topology: one customer meter of a feeder."""

    __tablename__ = "oracle_feeder_meters"

    meter_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    feeder: Mapped[int] = mapped_column(Integer, index=True)
    region: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))


class FeederDayRow(OracleBase):
    """A feeder meter's energy of one UTC day."""

    __tablename__ = "oracle_feeder_days"

    feeder: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    energy_wh: Mapped[int] = mapped_column(BigInteger)


class MeterDayRow(OracleBase):
    """A customer meter's energy of one UTC day from before this store (imported)."""

    __tablename__ = "oracle_meter_days"

    meter_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    day: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    energy_wh: Mapped[int] = mapped_column(BigInteger)


class TamperCaseRow(OracleBase):
    """A suspected tampered meter and the VERIFIER's decision on it."""

    __tablename__ = "oracle_tamper_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meter_id: Mapped[str] = mapped_column(String(80), index=True)
    node: Mapped[str] = mapped_column(String(80))
    feeder: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[int] = mapped_column(BigInteger)
    last_day: Mapped[int] = mapped_column(BigInteger)
    missing_wh: Mapped[int] = mapped_column(BigInteger)
    feeder_missing_wh: Mapped[int] = mapped_column(BigInteger)
    peer_ratio: Mapped[float] = mapped_column(Float)
    held: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(42), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class FeederMeter(Wire):
    meter_id: str
    node: str
    kind: str


class TamperCase(Wire):
    """A tamper case as the verifier sees it (day numbers: unix seconds // the watch's
    ``day_s``, 86,400 by default)."""

    case_id: int
    meter_id: str
    node: str
    feeder: int
    first_day: int
    last_day: int
    missing_wh: int
    feeder_missing_wh: int
    peer_ratio: float
    held_readings: int
    status: str
    decided_by: str | None = None
    note: str | None = None

    def evidence(self) -> str:
        """One line of evidence (the held readings' review note)."""
        return (
            f"tamper case {self.case_id}: feeder {self.feeder} misses "
            f"{self.feeder_missing_wh} Wh over days {self.first_day}..{self.last_day}; meter "
            f"{self.meter_id} reads {self.peer_ratio:.2f} of its own baseline x peers, "
            f"estimated missing {self.missing_wh} Wh"
        )


def _case(row: TamperCaseRow) -> TamperCase:
    return TamperCase(
        case_id=row.id,
        meter_id=row.meter_id,
        node=row.node,
        feeder=row.feeder,
        first_day=row.first_day,
        last_day=row.last_day,
        missing_wh=row.missing_wh,
        feeder_missing_wh=row.feeder_missing_wh,
        peer_ratio=row.peer_ratio,
        held_readings=row.held,
        status=row.status,
        decided_by=row.decided_by,
        note=row.note,
    )


class TamperWatch:
    """Feeder topology and readings, the scan, and the tamper cases."""

    def __init__(self, core: OracleCore, *, reviews: ReviewQueue) -> None:
        self.core = core
        self.reviews = reviews
        tables = [
            OracleBase.metadata.tables[t.__tablename__]
            for t in (FeederMeterRow, FeederDayRow, MeterDayRow, TamperCaseRow)
        ]
        with core.sessions() as session:
            OracleBase.metadata.create_all(session.get_bind(), tables=tables)
        self.scanned_through: int | None = None
        #: Length of a scan day (s) and how long after a day's end it is scanned (late
        #: readings); tests and simulations shorten both.
        self.day_s = DAY_S
        self.grace_s = core.settings.oracle_max_age_s

    # ------------------------------------------------------------------ inputs

    def register_feeder(self, feeder: int, region: int, meters: list[FeederMeter]) -> None:
        """Record (or replace) the customer meters of ``feeder``."""
        with self.core.lock, self.core.sessions.begin() as session:
            for m in meters:
                session.merge(
                    FeederMeterRow(
                        meter_id=m.meter_id.lower(),
                        feeder=feeder,
                        region=region,
                        node=m.node,
                        kind=m.kind,
                    )
                )

    def record_feeder_days(self, feeder: int, energy_wh: dict[int, int]) -> None:
        """The feeder meter's energy per UTC day."""
        with self.core.lock, self.core.sessions.begin() as session:
            for day, wh in energy_wh.items():
                session.merge(FeederDayRow(feeder=feeder, day=day, energy_wh=wh))

    def import_meter_days(self, meter_id: str, energy_wh: dict[int, int]) -> None:
        """A customer meter's daily energy from before this store (the back office's)."""
        with self.core.lock, self.core.sessions.begin() as session:
            for day, wh in energy_wh.items():
                session.merge(MeterDayRow(meter_id=meter_id.lower(), day=day, energy_wh=wh))

    def import_document(self, doc: dict[str, Any]) -> int:
        """Record a feeder document: ``{"feeders": [{"id", "region", "meters": [{"meterId",
        "node", "kind"}], "energyWh": {"<day>": Wh}}], "meterDays": {"<meterId>": {"<day>":
        Wh}}}`` (topology, feeder readings, imported customer history); the feeders recorded."""
        feeders = list(doc.get("feeders", []))
        with self.core.lock:  # no scan sees half a document
            self._import(feeders, dict(doc.get("meterDays", {})))
        return len(feeders)

    def _import(self, feeders: list[dict[str, Any]], history: dict[str, dict[str, int]]) -> None:
        for f in feeders:
            meters = [FeederMeter.model_validate(m) for m in f["meters"]]
            self.register_feeder(int(f["id"]), int(f["region"]), meters)
            days = {int(d): int(wh) for d, wh in f.get("energyWh", {}).items()}
            self.record_feeder_days(int(f["id"]), days)
        for meter, wh_by_day in history.items():
            self.import_meter_days(meter, {int(d): int(wh) for d, wh in wh_by_day.items()})

    # ------------------------------------------------------------------ scan

    def due_day(self) -> int | None:
        """The last day with feeder readings whose late-reading window has passed, if not
        scanned yet."""
        with self.core.sessions() as session:
            last = session.scalar(select(func.max(FeederDayRow.day)))
        if last is None:
            return None
        now = self.core.clock()
        day = int(last)
        while day >= 0 and (day + 1) * self.day_s + self.grace_s > now:
            day -= 1
        if self.scanned_through is not None and day <= self.scanned_through:
            return None
        return day

    def run_if_due(self) -> list[TamperCase]:
        """Scan through the due day, if any (see :meth:`due_day`)."""
        day = self.due_day()
        return [] if day is None else self.scan(day)

    def network(self, through_day: int) -> tuple[FeederNetwork, int]:
        """The store's feeders and meters as a :class:`FeederNetwork` of days
        ``first..through_day`` (day index 0 = ``first``), and ``first``."""
        with self.core.sessions() as session:
            topology = list(
                session.scalars(select(FeederMeterRow).order_by(FeederMeterRow.meter_id))
            )
            feeder_days = list(
                session.scalars(select(FeederDayRow).where(FeederDayRow.day <= through_day))
            )
            first = min((r.day for r in feeder_days), default=through_day)
            energy = self._meter_days(session, [t.meter_id for t in topology], first, through_day)
        days = through_day - first + 1
        by_feeder: dict[int, dict[int, int]] = defaultdict(dict)
        for r in feeder_days:
            by_feeder[r.feeder][r.day] = r.energy_wh
        region = {t.feeder: t.region for t in topology}
        feeders = [
            Feeder(
                id=fid,
                region=region[fid],
                meters=[t.meter_id for t in topology if t.feeder == fid],
                energy_wh=[by_feeder[fid].get(first + d, 0) for d in range(days)],
            )
            for fid in sorted(region)
        ]
        meters = [
            CustomerMeter(
                meter=t.meter_id,
                node=t.node,
                kind=t.kind,
                feeder=t.feeder,
                reported_wh=[energy.get((t.meter_id, first + d), 0) for d in range(days)],
            )
            for t in topology
        ]
        net = FeederNetwork(days=days, feeders=feeders, meters=meters, tampered={}, factor=1.0)
        return net, first

    def _meter_days(
        self, session: Session, meter_ids: list[str], first: int, last: int
    ) -> dict[tuple[str, int], int]:
        out: dict[tuple[str, int], int] = {}
        for r in session.scalars(
            select(MeterDayRow).where(MeterDayRow.day >= first, MeterDayRow.day <= last)
        ):
            out[(r.meter_id, r.day)] = r.energy_wh
        day = ReadingRow.interval_start // self.day_s
        rows = session.execute(
            select(func.lower(ReadingRow.meter_id), day, func.sum(ReadingRow.import_wh))
            .where(
                func.lower(ReadingRow.meter_id).in_(meter_ids),
                ReadingRow.status.in_(REPORTED),
                ReadingRow.interval_start >= first * self.day_s,
                ReadingRow.interval_start < (last + 1) * self.day_s,
            )
            .group_by(func.lower(ReadingRow.meter_id), day)
        )
        for meter, d, wh in rows:
            out[(str(meter), int(d))] = int(wh)
        return out

    def scan(self, through_day: int) -> list[TamperCase]:
        """Detect through ``through_day``; open (or extend) a case per flagged meter and hold
        its readings. The cases opened or extended."""
        with self.core.lock:  # one scan at a time (the background round and a caller)
            net, first = self.network(through_day)
            flags = detect(net, through_day - first) if net.feeders else []
            touched = [self._open_or_extend(flag, first, through_day) for flag in flags]
            self.scanned_through = through_day
        return [c for c in touched if c is not None]

    def _open_or_extend(self, flag: TamperFlag, first: int, through_day: int) -> TamperCase | None:
        with self.core.lock, self.core.sessions.begin() as session:
            row = session.scalars(
                select(TamperCaseRow)
                .where(TamperCaseRow.meter_id == flag.meter)
                .order_by(TamperCaseRow.id.desc())
            ).first()
            if row is not None and row.status != "pending":
                return None  # decided by a VERIFIER: not flagged again
            if row is None:
                row = TamperCaseRow(
                    meter_id=flag.meter,
                    node=flag.node,
                    feeder=flag.feeder,
                    first_day=first + flag.first_day,
                    held=0,
                    status="pending",
                    created_at=self.core.clock(),
                )
                session.add(row)
            row.last_day = through_day
            row.missing_wh = flag.missing_wh
            row.feeder_missing_wh = flag.feeder_missing_wh
            row.peer_ratio = flag.peer_ratio
            session.flush()
            case = _case(row)
        held = self.reviews.hold_meter(
            case.meter_id,
            case.first_day * self.day_s,
            (through_day + 1) * self.day_s,
            case.evidence(),
            closed=self.core.closed_periods,
        )
        with self.core.lock, self.core.sessions.begin() as session:
            stored = session.get(TamperCaseRow, case.case_id)
            assert stored is not None
            stored.held += held
            return _case(stored)

    # ------------------------------------------------------------------ verifier

    def cases(self, status: str | None = None) -> list[TamperCase]:
        """Tamper cases, oldest first (``status``: pending, confirmed, dismissed)."""
        with self.core.sessions() as session:
            query = select(TamperCaseRow).order_by(TamperCaseRow.id)
            if status is not None:
                query = query.where(TamperCaseRow.status == status)
            return [_case(r) for r in session.scalars(query)]

    def decide(self, case_id: int, decision: str, verifier: str, note: str = "") -> TamperCase:
        """``confirm`` (the held readings are rejected) or ``dismiss`` (they are cleared) a
        pending case; ``verifier`` must hold VERIFIER on chain."""
        if decision not in ("confirm", "dismiss"):
            raise OracleError(422, "bad_decision", "decision must be confirm or dismiss")
        with self.core.sessions() as session:
            row = session.get(TamperCaseRow, case_id)
            if row is None:
                raise OracleError(404, "unknown_case", f"no tamper case {case_id}")
            if row.status != "pending":
                raise OracleError(409, "decided", f"tamper case {case_id} is {row.status}")
            meter_id = row.meter_id
        self.reviews.decide_meter(
            meter_id,
            "reject" if decision == "confirm" else "clear",
            verifier,
            f"tamper case {case_id} {decision}ed: {note}"[:500],
        )
        with self.core.lock, self.core.sessions.begin() as session:
            stored = session.get(TamperCaseRow, case_id)
            assert stored is not None
            stored.status = "confirmed" if decision == "confirm" else "dismissed"
            stored.decided_by = verifier
            stored.note = note[:500]
            return _case(stored)
