"""The gateway's tables: the generic event log, the checkpoint, and the domain projections.

Every row written from a block carries ``block_number`` so a reorg can delete what came
from orphaned blocks. Amounts are integers in the units their names say (fen, Wh,
fen/MWh); values beyond 64 bits are stored as NULL (the generic ``args`` keep them exact).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base

Addr = String(42)
Hash = String(66)


class Checkpoint(Base):
    """The last block whose events are in the database (one row, ``id`` = 1)."""

    __tablename__ = "gw_checkpoint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(Hash)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Block(Base):
    """An indexed block: every block with events, plus every chunk's last block."""

    __tablename__ = "gw_blocks"
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(Hash, unique=True)
    parent_hash: Mapped[str] = mapped_column(Hash)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    tx_count: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer)


class Event(Base):
    """One decoded contract log. ``args`` is JSON with integers as decimal strings."""

    __tablename__ = "gw_events"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_gw_events_tx_log"),
        Index("ix_gw_events_block_log", "block_number", "log_index"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(Hash)
    block_time: Mapped[int] = mapped_column(BigInteger, index=True)
    tx_hash: Mapped[str] = mapped_column(Hash, index=True)
    tx_index: Mapped[int] = mapped_column(Integer)
    log_index: Mapped[int] = mapped_column(Integer)
    contract: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(Addr)
    event: Mapped[str] = mapped_column(String(96), index=True)
    args: Mapped[str] = mapped_column(Text)


class EventRef(Base):
    """What an event refers to (an address, a trade id, ...): the search and filter index."""

    __tablename__ = "gw_event_refs"
    __table_args__ = (Index("ix_gw_event_refs_kind_value", "kind", "value"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("gw_events.id", ondelete="CASCADE"), index=True
    )
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    """``address`` (lower-case) or an id argument name: tradeId, listingId, certificateId, ..."""
    value: Mapped[str] = mapped_column(String(80))


# --- projections ---------------------------------------------------------------------------


class RoleChange(Base):
    """A role granted or revoked in MarketAccess (append-only)."""

    __tablename__ = "gw_role_changes"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_gw_role_changes"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    log_index: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(Hash)
    role_name: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(Addr, index=True)
    sender: Mapped[str | None] = mapped_column(Addr)
    granted: Mapped[bool] = mapped_column(Boolean)


class Participant(Base):
    """A market node (NodeRegistry); updated in place, rebuilt on reorg."""

    __tablename__ = "gw_participants"
    address: Mapped[str] = mapped_column(Addr, primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    bond_fen: Mapped[int | None] = mapped_column(BigInteger)
    credit_level: Mapped[int | None] = mapped_column(Integer)
    reputation: Mapped[int | None] = mapped_column(BigInteger)
    registered_block: Mapped[int] = mapped_column(BigInteger)
    registered_time: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    tx_hash: Mapped[str] = mapped_column(Hash)


class Listing(Base):
    """A posted offer (挂牌); updated in place, rebuilt on reorg."""

    __tablename__ = "gw_listings"
    listing_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    maker: Mapped[str | None] = mapped_column(Addr, index=True)
    side: Mapped[str | None] = mapped_column(String(8))
    energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    remaining_wh: Mapped[int | None] = mapped_column(BigInteger)
    price_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    period: Mapped[int | None] = mapped_column(BigInteger)
    region: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class Trade(Base):
    """A taken listing (摘牌) through dispatch, metering and settlement; rebuilt on reorg."""

    __tablename__ = "gw_trades"
    trade_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    listing_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    seller: Mapped[str | None] = mapped_column(Addr, index=True)
    buyer: Mapped[str | None] = mapped_column(Addr, index=True)
    energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    price_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    period: Mapped[int | None] = mapped_column(BigInteger)
    region: Mapped[str | None] = mapped_column(String(32))
    prepayment_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    dispatch_accepted: Mapped[bool | None] = mapped_column(Boolean)
    dispatch_reason: Mapped[str | None] = mapped_column(Text)
    delivered_wh: Mapped[int | None] = mapped_column(BigInteger)
    consumed_wh: Mapped[int | None] = mapped_column(BigInteger)
    transmission_fee_fen: Mapped[int | None] = mapped_column(BigInteger)
    deviation_fen: Mapped[int | None] = mapped_column(BigInteger)
    paid_to_seller_fen: Mapped[int | None] = mapped_column(BigInteger)
    refund_fen: Mapped[int | None] = mapped_column(BigInteger)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class Settlement(Base):
    """One settlement of a trade (append-only)."""

    __tablename__ = "gw_settlements"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_gw_settlements"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[int] = mapped_column(BigInteger, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    paid_to_seller_fen: Mapped[int | None] = mapped_column(BigInteger)
    refund_fen: Mapped[int | None] = mapped_column(BigInteger)
    transmission_fee_fen: Mapped[int | None] = mapped_column(BigInteger)
    deviation_fen: Mapped[int | None] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    log_index: Mapped[int] = mapped_column(Integer)


class Rating(Base):
    """A mutual rating after a trade (append-only)."""

    __tablename__ = "gw_ratings"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_gw_ratings"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    rater: Mapped[str | None] = mapped_column(Addr)
    ratee: Mapped[str | None] = mapped_column(Addr, index=True)
    score: Mapped[int | None] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    log_index: Mapped[int] = mapped_column(Integer)


class Report(Base):
    """A violation report and the regulator's ruling; rebuilt on reorg."""

    __tablename__ = "gw_reports"
    report_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reporter: Mapped[str | None] = mapped_column(Addr)
    suspect: Mapped[str | None] = mapped_column(Addr, index=True)
    indicator: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[int | None] = mapped_column(BigInteger)
    trade_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    regulator: Mapped[str | None] = mapped_column(Addr)
    bond_penalty_fen: Mapped[int | None] = mapped_column(BigInteger)
    reputation_penalty: Mapped[int | None] = mapped_column(BigInteger)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class Certificate(Base):
    """A green certificate; rebuilt on reorg."""

    __tablename__ = "gw_certificates"
    certificate_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str | None] = mapped_column(Addr, index=True)
    energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str | None] = mapped_column(String(32))
    trade_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class Quota(Base):
    """A renewable quota of an account for a year, and what it has retired against it."""

    __tablename__ = "gw_quotas"
    account: Mapped[str] = mapped_column(Addr, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    quota_wh: Mapped[int | None] = mapped_column(BigInteger)
    retired_wh: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class MeterAnchor(Base):
    """A Merkle root of a node's meter totals for a period (append-only)."""

    __tablename__ = "gw_meter_anchors"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_gw_meter_anchors"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node: Mapped[str | None] = mapped_column(Addr, index=True)
    period: Mapped[int | None] = mapped_column(BigInteger, index=True)
    trade_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    merkle_root: Mapped[str | None] = mapped_column(Hash)
    total_wh: Mapped[int | None] = mapped_column(BigInteger)
    reading_count: Mapped[int | None] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    log_index: Mapped[int] = mapped_column(Integer)


class IdentityRead(Base):
    """Audit trail: every read of decrypted identity data by a regulator key."""

    __tablename__ = "gw_identity_reads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str] = mapped_column(String(16))
    """First 12 hex digits of sha256(api key): who read, without storing the key."""
    address: Mapped[str] = mapped_column(Addr, index=True)
    found: Mapped[bool] = mapped_column(Boolean)


def table_of(model: type[Base]) -> Table:
    """The :class:`Table` of ``model`` (typed, for Core statements)."""
    return cast(Table, model.__table__)
