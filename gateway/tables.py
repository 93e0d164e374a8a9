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
    func,
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
    display_name: Mapped[str | None] = mapped_column(String(64))
    """Public name set on chain (``DisplayNameSet``, migration 0004); searched by the explorer."""
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
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    """Unix seconds after which nobody can take it (ListingPosted.expiresAt; migration 0005):
    the explorer shows an open listing past it, in chain time, as expired."""
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
    executed_wh: Mapped[int | None] = mapped_column(BigInteger)
    curtailed_wh: Mapped[int | None] = mapped_column(BigInteger)
    remainder_fen: Mapped[int | None] = mapped_column(BigInteger)
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
    """The first of ``trade_ids``."""
    trade_ids: Mapped[str | None] = mapped_column(Text)
    """Comma-separated trade ids the report names."""
    first_period: Mapped[int | None] = mapped_column(BigInteger)
    last_period: Mapped[int | None] = mapped_column(BigInteger)
    rule_by: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    response_hash: Mapped[str | None] = mapped_column(Hash)
    regulator: Mapped[str | None] = mapped_column(Addr)
    bond_penalty_fen: Mapped[int | None] = mapped_column(BigInteger)
    slashed_fen: Mapped[int | None] = mapped_column(BigInteger)
    reputation_penalty: Mapped[int | None] = mapped_column(BigInteger)
    reason_hash: Mapped[str | None] = mapped_column(Hash)
    announced: Mapped[bool | None] = mapped_column(Boolean)
    ruled_time: Mapped[int | None] = mapped_column(BigInteger)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class CertificateToken(Base):
    """A GreenCertificate ERC-1155 token id: one (type, generator, vintage); rebuilt on reorg.

    ``token_id`` is the uint256 id as a decimal string (``type << 248 | generator << 64 |
    vintage``). Amounts are whole certificates (1 certificate = 1 MWh).
    """

    __tablename__ = "gw_cert_tokens"
    token_id: Mapped[str] = mapped_column(String(78), primary_key=True)
    type_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(16))
    generator: Mapped[str | None] = mapped_column(Addr, index=True)
    vintage: Mapped[int | None] = mapped_column(BigInteger, index=True)
    issued: Mapped[int] = mapped_column(BigInteger)
    generation_wh: Mapped[int | None] = mapped_column(BigInteger)
    carried_in_wh: Mapped[int | None] = mapped_column(BigInteger)
    carried_out_wh: Mapped[int | None] = mapped_column(BigInteger)
    retired: Mapped[int] = mapped_column(BigInteger)
    revoked: Mapped[int] = mapped_column(BigInteger)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class CertificateHolding(Base):
    """What ``holder`` holds of a token (ERC-1155 transfers, mint and burn); rebuilt on reorg."""

    __tablename__ = "gw_cert_holdings"
    token_id: Mapped[str] = mapped_column(String(78), primary_key=True)
    holder: Mapped[str] = mapped_column(Addr, primary_key=True, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class CertificateRetirement(Base):
    """Certificates retired for a beneficiary (and a trade); rebuilt on reorg."""

    __tablename__ = "gw_cert_retirements"
    retirement_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    token_id: Mapped[str] = mapped_column(String(78), index=True)
    holder: Mapped[str | None] = mapped_column(Addr)
    beneficiary: Mapped[str | None] = mapped_column(Addr, index=True)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    period: Mapped[int | None] = mapped_column(BigInteger)
    trade_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    retired_by: Mapped[str | None] = mapped_column(Addr)
    covered_wh: Mapped[int | None] = mapped_column(BigInteger)
    """Quota coverage it credited (QuotaLedger.CoverageCredited), type-weighted."""
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)


class QuotaPeriod(Base):
    """The renewable quota rule of a period (QuotaLedger.QuotaSet); rebuilt on reorg."""

    __tablename__ = "gw_quota_periods"
    period: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    weight_bps: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[int | None] = mapped_column(BigInteger)
    fine_rate_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    regulator: Mapped[str | None] = mapped_column(Addr)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class Quota(Base):
    """A party's renewable obligation for a period and its compliance; rebuilt on reorg."""

    __tablename__ = "gw_quotas"
    party: Mapped[str] = mapped_column(Addr, primary_key=True)
    period: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    obligation_wh: Mapped[int | None] = mapped_column(BigInteger)
    covered_wh: Mapped[int] = mapped_column(BigInteger)
    shortfall_wh: Mapped[int | None] = mapped_column(BigInteger)
    fine_fen: Mapped[int | None] = mapped_column(BigInteger)
    paid_fen: Mapped[int | None] = mapped_column(BigInteger)
    slashed_fen: Mapped[int | None] = mapped_column(BigInteger)
    unpaid_fen: Mapped[int | None] = mapped_column(BigInteger)
    assessed: Mapped[bool] = mapped_column(Boolean)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class Region(Base):
    """A TransmissionTariff region id and its name; rebuilt on reorg."""

    __tablename__ = "gw_regions"
    region_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(32))
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class MeterAnchor(Base):
    """A Merkle root of a node's meter totals for a period (append-only)."""

    __tablename__ = "gw_meter_anchors"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_gw_meter_anchors"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node: Mapped[str | None] = mapped_column(Addr, index=True)
    period: Mapped[int | None] = mapped_column(BigInteger, index=True)
    trade_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    """``node`` (a node's period total), ``batch`` (a reading batch) or ``period`` (all
    nodes' totals of a period); NULL on rows from before migration 0002."""
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


# --- summaries of the overview (migration 0003) ----------------------------------------------


class RowCount(Base):
    """How many rows a gateway table holds (a row only while the count is not zero).

    Kept by every write of the indexer and the projectors, in the same transaction as the
    rows themselves (``gateway/summary.py``), so the explorer's overview and
    ``/api/v1/status`` read counts instead of counting millions of rows per request.
    """

    __tablename__ = "gw_row_counts"
    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_count: Mapped[int] = mapped_column(BigInteger)


class EventCount(Base):
    """How many ``gw_events`` rows one (contract, event name) has (a row only while > 0)."""

    __tablename__ = "gw_event_counts"
    contract: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(96), primary_key=True)
    event_count: Mapped[int] = mapped_column(BigInteger)


class MarketStat(Base):
    """Traded energy and value of one (period, region) over ``gw_trades`` rows whose period
    and energy are known (a row only while it counts a trade); kept by the trades projector.

    ``value_micro_fen`` is the sum of ``energy_wh * price_fen_per_mwh`` (Wh x fen/MWh =
    10^-6 fen) over the trades with a price; both sums are exact integers kept as decimal
    text, as they may outgrow 64 bits. The energy-weighted price is
    ``value_micro_fen / energy_wh`` fen/MWh.
    """

    __tablename__ = "gw_market_stats"
    __table_args__ = (UniqueConstraint("period", "region", name="uq_gw_market_stats"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[int] = mapped_column(BigInteger)
    region: Mapped[str | None] = mapped_column(String(32))
    trade_count: Mapped[int] = mapped_column(BigInteger)
    energy_wh: Mapped[str] = mapped_column(String(80))
    value_micro_fen: Mapped[str] = mapped_column(String(80))


class Auction(Base):
    """A centralised auction (集中竞价) and its clearing totals; updated in place (0007)."""

    __tablename__ = "gw_auctions"
    auction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    period: Mapped[int | None] = mapped_column(BigInteger)
    first_interval: Mapped[int | None] = mapped_column(Integer)
    last_interval: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[int | None] = mapped_column(BigInteger)
    gate_closes_at: Mapped[int | None] = mapped_column(BigInteger)
    min_lot_wh: Mapped[int | None] = mapped_column(BigInteger)
    rule: Mapped[str | None] = mapped_column(String(16))
    floor_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    cap_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    fee_cap_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    order_count: Mapped[int] = mapped_column(Integer)
    matched_wh: Mapped[int | None] = mapped_column(BigInteger)
    pair_count: Mapped[int | None] = mapped_column(Integer)
    uniform_price_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    traded_wh: Mapped[int | None] = mapped_column(BigInteger)
    trade_count: Mapped[int | None] = mapped_column(Integer)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class AuctionOrder(Base):
    """A bid or an offer of an auction, as last placed or amended; updated in place."""

    __tablename__ = "gw_auction_orders"
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    auction_id: Mapped[int] = mapped_column(BigInteger, index=True)
    node: Mapped[str | None] = mapped_column(Addr)
    side: Mapped[str | None] = mapped_column(String(8))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    price_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    held_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    traded_wh: Mapped[int | None] = mapped_column(BigInteger)
    released_fen: Mapped[int | None] = mapped_column(BigInteger)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class AuctionFill(Base):
    """A matched pair of an auction that became a trade (PairTraded)."""

    __tablename__ = "gw_auction_fills"
    auction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pair_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    trade_id: Mapped[int | None] = mapped_column(BigInteger)
    bid_id: Mapped[int | None] = mapped_column(BigInteger)
    offer_id: Mapped[int | None] = mapped_column(BigInteger)
    energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    price_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


Index_ = String(80)  # a fixed-point index (x 1e18) as a decimal string: beyond 64 bits


class FundState(Base):
    """The default fund as its events leave it (one row, ``id`` = 1; 0009)."""

    __tablename__ = "gw_fund_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fund_fen: Mapped[int] = mapped_column(BigInteger)
    reserve_fen: Mapped[int] = mapped_column(BigInteger)
    unfunded_fen: Mapped[int] = mapped_column(BigInteger)
    total_base_fen: Mapped[int] = mapped_column(BigInteger)
    loss_index: Mapped[str] = mapped_column(Index_)
    recovery_index: Mapped[str] = mapped_column(Index_)
    creditor: Mapped[str | None] = mapped_column(Addr)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class FundMember(Base):
    """A default fund member: its base, the indexes it paid and claimed up to, what it paid
    and recovered, whether its assessment is enforced; updated in place (0009)."""

    __tablename__ = "gw_fund_members"
    node: Mapped[str] = mapped_column(Addr, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    base_fen: Mapped[int] = mapped_column(BigInteger)
    paid_index: Mapped[str] = mapped_column(Index_)
    recovery_index: Mapped[str] = mapped_column(Index_)
    unrecovered_fen: Mapped[int] = mapped_column(BigInteger)
    assessments_paid_fen: Mapped[int] = mapped_column(BigInteger)
    recovered_fen: Mapped[int] = mapped_column(BigInteger)
    refund_fen: Mapped[int | None] = mapped_column(BigInteger)
    enforced: Mapped[bool] = mapped_column(Boolean)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class FundDefault(Base):
    """One default (a formula-3 charge that left a debt) with its waterfall steps (0009)."""

    __tablename__ = "gw_fund_defaults"
    node: Mapped[str] = mapped_column(Addr, primary_key=True)
    period: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    from_credit_fen: Mapped[int | None] = mapped_column(BigInteger)
    from_wallet_fen: Mapped[int | None] = mapped_column(BigInteger)
    from_bond_fen: Mapped[int | None] = mapped_column(BigInteger)
    debt_fen: Mapped[int | None] = mapped_column(BigInteger)
    from_fund_fen: Mapped[int | None] = mapped_column(BigInteger)
    fund_left_fen: Mapped[int | None] = mapped_column(BigInteger)
    allocated_fen: Mapped[int | None] = mapped_column(BigInteger)
    unallocated_fen: Mapped[int | None] = mapped_column(BigInteger)
    total_base_fen: Mapped[int | None] = mapped_column(BigInteger)
    loss_index: Mapped[str | None] = mapped_column(Index_)
    creditor: Mapped[str | None] = mapped_column(Addr)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class FundEvent(Base):
    """One default fund event, in chain order (append-only; 0009)."""

    __tablename__ = "gw_fund_events"
    block_number: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, index=True
    )
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    event: Mapped[str] = mapped_column(String(32))
    node: Mapped[str | None] = mapped_column(Addr)
    party: Mapped[str | None] = mapped_column(Addr)
    period: Mapped[int | None] = mapped_column(BigInteger)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)


def table_of(model: type[Base]) -> Table:
    """The :class:`Table` of ``model`` (typed, for Core statements)."""
    return cast(Table, model.__table__)


# Case-insensitive address lookups (``lower(column) = ?``) of the participant pages and the
# history API use these expression indexes instead of scanning the table (migration 0003).
Index("ix_gw_trades_lower_seller", func.lower(table_of(Trade).c.seller))
Index("ix_gw_trades_lower_buyer", func.lower(table_of(Trade).c.buyer))
Index("ix_gw_ratings_lower_ratee", func.lower(table_of(Rating).c.ratee))
Index("ix_gw_participants_lower_address", func.lower(table_of(Participant).c.address))
Index("ix_gw_meter_anchors_lower_node", func.lower(table_of(MeterAnchor).c.node))
Index("ix_gw_role_changes_lower_account", func.lower(table_of(RoleChange).c.account))

# The explorer's filtered lists page by primary key within one filter value (migration 0005).
Index("ix_gw_trades_status_id", table_of(Trade).c.status, table_of(Trade).c.trade_id)
Index("ix_gw_trades_period_id", table_of(Trade).c.period, table_of(Trade).c.trade_id)
Index("ix_gw_trades_region_id", table_of(Trade).c.region, table_of(Trade).c.trade_id)
Index("ix_gw_listings_status_id", table_of(Listing).c.status, table_of(Listing).c.listing_id)
Index("ix_gw_listings_period_id", table_of(Listing).c.period, table_of(Listing).c.listing_id)
Index("ix_gw_reports_status_id", table_of(Report).c.status, table_of(Report).c.report_id)
Index("ix_gw_trades_created_time", table_of(Trade).c.created_time)
Index("ix_gw_listings_created_time", table_of(Listing).c.created_time)

# Every explorer list paged (migration 0006): the tokens' and quotas' keys, the retirements'
# period filter, and the participant page's per-address lists.
Index(
    "ix_gw_cert_tokens_block_id",
    table_of(CertificateToken).c.created_block,
    table_of(CertificateToken).c.token_id,
)
Index("ix_gw_quotas_period_party", table_of(Quota).c.period, table_of(Quota).c.party)
Index(
    "ix_gw_cert_retirements_period_id",
    table_of(CertificateRetirement).c.period,
    table_of(CertificateRetirement).c.retirement_id,
)
for _model, _column in (
    (Listing, "maker"),
    (Rating, "rater"),
    (Report, "suspect"),
    (Report, "reporter"),
    (Report, "regulator"),
    (Quota, "party"),
    (CertificateToken, "generator"),
    (CertificateRetirement, "holder"),
    (CertificateRetirement, "beneficiary"),
):
    _table = table_of(_model)
    Index(f"ix_{_table.name}_lower_{_column}", func.lower(_table.c[_column]))
