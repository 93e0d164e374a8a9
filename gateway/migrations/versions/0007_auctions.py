"""the centralised auction: auctions, their orders and fills (gateway/projections/auctions.py)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 03:00:00

New tables only; ``gridledger gateway reproject`` fills them from the CentralAuction events
already in ``gw_events``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def _created() -> list[sa.Column[int] | sa.Column[str]]:
    return [
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
    ]


def _int(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "gw_auctions",
        sa.Column("auction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        _int("period"),
        sa.Column("first_interval", sa.Integer(), nullable=True),
        sa.Column("last_interval", sa.Integer(), nullable=True),
        _int("opens_at"),
        _int("gate_closes_at"),
        _int("min_lot_wh"),
        sa.Column("rule", sa.String(16), nullable=True),
        _int("floor_fen_per_mwh"),
        _int("cap_fen_per_mwh"),
        _int("fee_cap_fen_per_mwh"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("order_count", sa.Integer(), nullable=False),
        _int("matched_wh"),
        sa.Column("pair_count", sa.Integer(), nullable=True),
        _int("uniform_price_fen_per_mwh"),
        _int("traded_wh"),
        sa.Column("trade_count", sa.Integer(), nullable=True),
        *_created(),
        sa.PrimaryKeyConstraint("auction_id"),
    )
    op.create_table(
        "gw_auction_orders",
        sa.Column("order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("auction_id", sa.BigInteger(), nullable=False),
        sa.Column("node", sa.String(42), nullable=True),
        sa.Column("side", sa.String(8), nullable=True),
        _int("seq"),
        _int("energy_wh"),
        _int("price_fen_per_mwh"),
        _int("held_fen"),
        sa.Column("status", sa.String(16), nullable=False),
        _int("traded_wh"),
        _int("released_fen"),
        *_created(),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_table(
        "gw_auction_fills",
        sa.Column("auction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pair_index", sa.BigInteger(), autoincrement=False, nullable=False),
        _int("trade_id"),
        _int("bid_id"),
        _int("offer_id"),
        _int("energy_wh"),
        _int("price_fen_per_mwh"),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("auction_id", "pair_index"),
    )
    for table in ("gw_auctions", "gw_auction_orders", "gw_auction_fills"):
        op.create_index(f"ix_{table}_block_number", table, ["block_number"])
    op.create_index("ix_gw_auction_orders_auction_id", "gw_auction_orders", ["auction_id"])


def downgrade() -> None:
    op.drop_table("gw_auction_fills")
    op.drop_table("gw_auction_orders")
    op.drop_table("gw_auctions")
