"""The oracle's SQL tables (its own ``DeclarativeBase``, created with ``create_all``).

Readings are kept raw (every signed field and the signature) so any total can be rebuilt
and re-verified; the outbox is the write-ahead log of every transaction the oracle sends.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Engine,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger.errors import GridLedgerError


class OracleBase(DeclarativeBase):
    """Declarative base of the oracle's tables."""


class ReadingRow(OracleBase):
    """One signed meter reading as received.

    ``status``: ``accepted`` (counts), ``flagged`` (held out, waiting for a VERIFIER),
    ``cleared`` (flagged, then cleared: counts), ``rejected`` (flagged, then rejected).
    """

    __tablename__ = "oracle_readings"
    __table_args__ = (
        UniqueConstraint("meter_id", "sequence", name="uq_oracle_reading_seq"),
        UniqueConstraint("meter_id", "interval_start", name="uq_oracle_reading_interval"),
        Index("ix_oracle_reading_node_interval", "node", "interval_start"),
        Index("ix_oracle_reading_unbatched", "batch_id", "id"),
        Index("ix_oracle_reading_period", "period", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meter_id: Mapped[str] = mapped_column(String(66))
    node: Mapped[str] = mapped_column(String(42))
    interval_start: Mapped[int] = mapped_column(BigInteger)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(BigInteger)
    """Delivery period id the reading counts in (the oracle's period calendar at ingest)."""
    import_wh: Mapped[int] = mapped_column(BigInteger)
    export_wh: Mapped[int] = mapped_column(BigInteger)
    reactive_varh: Mapped[int] = mapped_column(BigInteger)
    import_register_wh: Mapped[int] = mapped_column(BigInteger)
    export_register_wh: Mapped[int] = mapped_column(BigInteger)
    sequence: Mapped[int] = mapped_column(BigInteger)
    power_factor_milli: Mapped[int] = mapped_column(Integer)
    voltage_l1_dv: Mapped[int] = mapped_column(BigInteger)
    voltage_l2_dv: Mapped[int] = mapped_column(BigInteger)
    voltage_l3_dv: Mapped[int] = mapped_column(BigInteger)
    current_l1_ma: Mapped[int] = mapped_column(BigInteger)
    current_l2_ma: Mapped[int] = mapped_column(BigInteger)
    current_l3_ma: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[str] = mapped_column(String(132))
    digest: Mapped[str] = mapped_column(String(66), unique=True)
    leaf: Mapped[str] = mapped_column(String(66))
    received_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    flags: Mapped[str] = mapped_column(String(200), default="")
    reviewed_by: Mapped[str | None] = mapped_column(String(42), nullable=True)
    review_note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    batch_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    batch_index: Mapped[int | None] = mapped_column(Integer, nullable=True)


class BatchRow(OracleBase):
    """A batch of readings whose root is (to be) anchored; id = on-chain batch id."""

    __tablename__ = "oracle_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(66))
    reading_count: Mapped[int] = mapped_column(Integer)
    first_interval_start: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)
    outbox_id: Mapped[int] = mapped_column(Integer)


class PeriodRow(OracleBase):
    """A delivery period whose node totals are (to be) anchored."""

    __tablename__ = "oracle_periods"

    period: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    totals_root: Mapped[str] = mapped_column(String(66))
    node_count: Mapped[int] = mapped_column(Integer)
    reading_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    outbox_id: Mapped[int] = mapped_column(Integer)


class NodeTotalRow(OracleBase):
    """The metered energy of one node in one period; ``position`` is its leaf index."""

    __tablename__ = "oracle_node_totals"

    period: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    node: Mapped[str] = mapped_column(String(42), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    import_wh: Mapped[int] = mapped_column(BigInteger)
    export_wh: Mapped[int] = mapped_column(BigInteger)
    reading_count: Mapped[int] = mapped_column(Integer)
    readings_root: Mapped[str] = mapped_column(String(66))
    reading_ids: Mapped[str] = mapped_column(Text)
    """Comma-separated reading ids in leaf order of the node's readings tree."""
    leaf: Mapped[str] = mapped_column(String(66))
    submit_outbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The outbox row of its ``submitNodeTotal`` (relayed after the period root)."""


class OutboxRow(OracleBase):
    """One transaction the oracle means to send, written before it is signed or sent.

    ``status``: ``pending`` (intent only) -> ``signed`` (raw tx + hash persisted, maybe
    broadcast) -> ``mined`` | ``failed`` (reverted, with the decoded error); or
    ``pending`` -> ``skipped`` when its precheck finds it unnecessary (e.g. a node total
    someone else already recorded), the reason in ``error``.
    """

    __tablename__ = "oracle_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(100))
    to_address: Mapped[str] = mapped_column(String(42))
    data: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    nonce: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    raw_tx: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    gas_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class DispatchResultRow(OracleBase):
    """A dispatch result verified and queued for relay (one per trade)."""

    __tablename__ = "oracle_dispatch_results"

    trade_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    period: Mapped[int] = mapped_column(BigInteger)
    executed_wh: Mapped[int] = mapped_column(BigInteger)
    curtailed_wh: Mapped[int] = mapped_column(BigInteger)
    reason_code: Mapped[int] = mapped_column(Integer)
    signature: Mapped[str] = mapped_column(String(132))
    signer: Mapped[str] = mapped_column(String(42))
    received_at: Mapped[float] = mapped_column(Float)
    outbox_id: Mapped[int] = mapped_column(Integer)
    relayed: Mapped[bool] = mapped_column(Boolean, default=False)


def create_tables(engine: Engine) -> None:
    """Create the oracle's tables if they do not exist.

    Raises:
        GridLedgerError: The database holds oracle tables of an older layout (without the
            reading's ``period`` or the node total's submission columns).
    """
    OracleBase.metadata.create_all(engine)
    inspector = inspect(engine)
    for model in (ReadingRow, NodeTotalRow):
        table = OracleBase.metadata.tables[model.__tablename__]
        present = {c["name"] for c in inspector.get_columns(model.__tablename__)}
        missing = sorted(c.name for c in table.columns if c.name not in present)
        if missing:
            raise GridLedgerError(
                f"oracle table {model.__tablename__} predates columns {', '.join(missing)}; "
                "start the oracle on a fresh database (GRIDLEDGER_DATABASE_URL)"
            )
