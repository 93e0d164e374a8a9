"""initial gateway schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:39:49.383832
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    _create_gw_blocks()
    _create_gw_certificates()
    _create_gw_checkpoint()
    _create_gw_events()
    _create_gw_identity_reads()
    _create_gw_listings()
    _create_gw_meter_anchors()
    _create_gw_participants()
    _create_gw_quotas()
    _create_gw_ratings()
    _create_gw_reports()
    _create_gw_role_changes()
    _create_gw_settlements()
    _create_gw_trades()
    _create_gw_event_refs()


def _create_gw_blocks() -> None:
    op.create_table(
        "gw_blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("tx_count", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("hash"),
    )


def _create_gw_certificates() -> None:
    op.create_table(
        "gw_certificates",
        sa.Column("certificate_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=True),
        sa.Column("energy_wh", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("trade_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    with op.batch_alter_table("gw_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_certificates_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gw_certificates_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_certificates_trade_id"), ["trade_id"], unique=False)


def _create_gw_checkpoint() -> None:
    op.create_table(
        "gw_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def _create_gw_events() -> None:
    op.create_table(
        "gw_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_index", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("event", sa.String(length=96), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_gw_events_tx_log"),
    )
    with op.batch_alter_table("gw_events", schema=None) as batch_op:
        batch_op.create_index("ix_gw_events_block_log", ["block_number", "log_index"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_events_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_events_contract"), ["contract"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_events_event"), ["event"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_events_tx_hash"), ["tx_hash"], unique=False)


def _create_gw_identity_reads() -> None:
    op.create_table(
        "gw_identity_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gw_identity_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gw_identity_reads_address"), ["address"], unique=False)


def _create_gw_listings() -> None:
    op.create_table(
        "gw_listings",
        sa.Column("listing_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("maker", sa.String(length=42), nullable=True),
        sa.Column("side", sa.String(length=8), nullable=True),
        sa.Column("energy_wh", sa.BigInteger(), nullable=True),
        sa.Column("remaining_wh", sa.BigInteger(), nullable=True),
        sa.Column("price_fen_per_mwh", sa.BigInteger(), nullable=True),
        sa.Column("period", sa.BigInteger(), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("listing_id"),
    )
    with op.batch_alter_table("gw_listings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_listings_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gw_listings_maker"), ["maker"], unique=False)


def _create_gw_meter_anchors() -> None:
    op.create_table(
        "gw_meter_anchors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=42), nullable=True),
        sa.Column("period", sa.BigInteger(), nullable=True),
        sa.Column("trade_id", sa.BigInteger(), nullable=True),
        sa.Column("merkle_root", sa.String(length=66), nullable=True),
        sa.Column("total_wh", sa.BigInteger(), nullable=True),
        sa.Column("reading_count", sa.Integer(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_gw_meter_anchors"),
    )
    with op.batch_alter_table("gw_meter_anchors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_meter_anchors_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gw_meter_anchors_node"), ["node"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_meter_anchors_period"), ["period"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_gw_meter_anchors_trade_id"), ["trade_id"], unique=False
        )


def _create_gw_participants() -> None:
    op.create_table(
        "gw_participants",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bond_fen", sa.BigInteger(), nullable=True),
        sa.Column("credit_level", sa.Integer(), nullable=True),
        sa.Column("reputation", sa.BigInteger(), nullable=True),
        sa.Column("registered_block", sa.BigInteger(), nullable=False),
        sa.Column("registered_time", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    with op.batch_alter_table("gw_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_participants_block_number"), ["block_number"], unique=False
        )


def _create_gw_quotas() -> None:
    op.create_table(
        "gw_quotas",
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("quota_wh", sa.BigInteger(), nullable=True),
        sa.Column("retired_wh", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "year"),
    )
    with op.batch_alter_table("gw_quotas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_quotas_block_number"), ["block_number"], unique=False
        )


def _create_gw_ratings() -> None:
    op.create_table(
        "gw_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.BigInteger(), nullable=True),
        sa.Column("rater", sa.String(length=42), nullable=True),
        sa.Column("ratee", sa.String(length=42), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_gw_ratings"),
    )
    with op.batch_alter_table("gw_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_ratings_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gw_ratings_ratee"), ["ratee"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_ratings_trade_id"), ["trade_id"], unique=False)


def _create_gw_reports() -> None:
    op.create_table(
        "gw_reports",
        sa.Column("report_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reporter", sa.String(length=42), nullable=True),
        sa.Column("suspect", sa.String(length=42), nullable=True),
        sa.Column("indicator", sa.String(length=64), nullable=True),
        sa.Column("score", sa.BigInteger(), nullable=True),
        sa.Column("trade_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("regulator", sa.String(length=42), nullable=True),
        sa.Column("bond_penalty_fen", sa.BigInteger(), nullable=True),
        sa.Column("reputation_penalty", sa.BigInteger(), nullable=True),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("report_id"),
    )
    with op.batch_alter_table("gw_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_reports_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gw_reports_suspect"), ["suspect"], unique=False)


def _create_gw_role_changes() -> None:
    op.create_table(
        "gw_role_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=66), nullable=False),
        sa.Column("role_name", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=True),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_gw_role_changes"),
    )
    with op.batch_alter_table("gw_role_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gw_role_changes_account"), ["account"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_gw_role_changes_block_number"), ["block_number"], unique=False
        )


def _create_gw_settlements() -> None:
    op.create_table(
        "gw_settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("paid_to_seller_fen", sa.BigInteger(), nullable=True),
        sa.Column("refund_fen", sa.BigInteger(), nullable=True),
        sa.Column("transmission_fee_fen", sa.BigInteger(), nullable=True),
        sa.Column("deviation_fen", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_gw_settlements"),
    )
    with op.batch_alter_table("gw_settlements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_settlements_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gw_settlements_trade_id"), ["trade_id"], unique=False)


def _create_gw_trades() -> None:
    op.create_table(
        "gw_trades",
        sa.Column("trade_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("listing_id", sa.BigInteger(), nullable=True),
        sa.Column("seller", sa.String(length=42), nullable=True),
        sa.Column("buyer", sa.String(length=42), nullable=True),
        sa.Column("energy_wh", sa.BigInteger(), nullable=True),
        sa.Column("price_fen_per_mwh", sa.BigInteger(), nullable=True),
        sa.Column("period", sa.BigInteger(), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("prepayment_fen", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dispatch_accepted", sa.Boolean(), nullable=True),
        sa.Column("dispatch_reason", sa.Text(), nullable=True),
        sa.Column("delivered_wh", sa.BigInteger(), nullable=True),
        sa.Column("consumed_wh", sa.BigInteger(), nullable=True),
        sa.Column("transmission_fee_fen", sa.BigInteger(), nullable=True),
        sa.Column("deviation_fen", sa.BigInteger(), nullable=True),
        sa.Column("paid_to_seller_fen", sa.BigInteger(), nullable=True),
        sa.Column("refund_fen", sa.BigInteger(), nullable=True),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id"),
    )
    with op.batch_alter_table("gw_trades", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_trades_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gw_trades_buyer"), ["buyer"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_trades_listing_id"), ["listing_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gw_trades_seller"), ["seller"], unique=False)


def _create_gw_event_refs() -> None:
    op.create_table(
        "gw_event_refs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["gw_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gw_event_refs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gw_event_refs_block_number"), ["block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gw_event_refs_event_id"), ["event_id"], unique=False)
        batch_op.create_index("ix_gw_event_refs_kind_value", ["kind", "value"], unique=False)


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("gw_event_refs", schema=None) as batch_op:
        batch_op.drop_index("ix_gw_event_refs_kind_value")
        batch_op.drop_index(batch_op.f("ix_gw_event_refs_event_id"))
        batch_op.drop_index(batch_op.f("ix_gw_event_refs_block_number"))

    op.drop_table("gw_event_refs")
    with op.batch_alter_table("gw_trades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_trades_seller"))
        batch_op.drop_index(batch_op.f("ix_gw_trades_listing_id"))
        batch_op.drop_index(batch_op.f("ix_gw_trades_buyer"))
        batch_op.drop_index(batch_op.f("ix_gw_trades_block_number"))

    op.drop_table("gw_trades")
    with op.batch_alter_table("gw_settlements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_settlements_trade_id"))
        batch_op.drop_index(batch_op.f("ix_gw_settlements_block_number"))

    op.drop_table("gw_settlements")
    with op.batch_alter_table("gw_role_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_role_changes_block_number"))
        batch_op.drop_index(batch_op.f("ix_gw_role_changes_account"))

    op.drop_table("gw_role_changes")
    with op.batch_alter_table("gw_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_reports_suspect"))
        batch_op.drop_index(batch_op.f("ix_gw_reports_block_number"))

    op.drop_table("gw_reports")
    with op.batch_alter_table("gw_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_ratings_trade_id"))
        batch_op.drop_index(batch_op.f("ix_gw_ratings_ratee"))
        batch_op.drop_index(batch_op.f("ix_gw_ratings_block_number"))

    op.drop_table("gw_ratings")
    with op.batch_alter_table("gw_quotas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_quotas_block_number"))

    op.drop_table("gw_quotas")
    with op.batch_alter_table("gw_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_participants_block_number"))

    op.drop_table("gw_participants")
    with op.batch_alter_table("gw_meter_anchors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_meter_anchors_trade_id"))
        batch_op.drop_index(batch_op.f("ix_gw_meter_anchors_period"))
        batch_op.drop_index(batch_op.f("ix_gw_meter_anchors_node"))
        batch_op.drop_index(batch_op.f("ix_gw_meter_anchors_block_number"))

    op.drop_table("gw_meter_anchors")
    with op.batch_alter_table("gw_listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_listings_maker"))
        batch_op.drop_index(batch_op.f("ix_gw_listings_block_number"))

    op.drop_table("gw_listings")
    with op.batch_alter_table("gw_identity_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_identity_reads_address"))

    op.drop_table("gw_identity_reads")
    with op.batch_alter_table("gw_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_events_tx_hash"))
        batch_op.drop_index(batch_op.f("ix_gw_events_event"))
        batch_op.drop_index(batch_op.f("ix_gw_events_contract"))
        batch_op.drop_index(batch_op.f("ix_gw_events_block_time"))
        batch_op.drop_index("ix_gw_events_block_log")

    op.drop_table("gw_events")
    op.drop_table("gw_checkpoint")
    with op.batch_alter_table("gw_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gw_certificates_trade_id"))
        batch_op.drop_index(batch_op.f("ix_gw_certificates_owner"))
        batch_op.drop_index(batch_op.f("ix_gw_certificates_block_number"))

    op.drop_table("gw_certificates")
    op.drop_table("gw_blocks")
    # ### end Alembic commands ###
