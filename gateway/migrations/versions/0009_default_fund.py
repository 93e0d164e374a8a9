"""the default fund: its state, members, defaults (waterfall steps) and events

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 07:30:00

New tables only, filled by the ``defaults`` projector (gateway/projections/defaults.py);
``gridledger gateway reproject`` fills them from the DefaultFund and SettlementEngine
events already in ``gw_events``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

STEPS = ("from_credit", "from_wallet", "from_bond", "debt", "from_fund", "fund_left",
         "allocated", "unallocated", "total_base")  # fmt: skip
TABLES = ("gw_fund_state", "gw_fund_members", "gw_fund_defaults", "gw_fund_events")


def _fen(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _index(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(80), nullable=nullable)


def _addr(name: str, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(42), nullable=nullable)


def _at() -> list[sa.Column[int] | sa.Column[str]]:
    return [sa.Column("tx_hash", sa.String(66), nullable=False), _fen("block_number")]


def upgrade() -> None:
    op.create_table(
        "gw_fund_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        _fen("fund_fen"),
        _fen("reserve_fen"),
        _fen("unfunded_fen"),
        _fen("total_base_fen"),
        _index("loss_index"),
        _index("recovery_index"),
        _addr("creditor"),
        _fen("block_number"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "gw_fund_members",
        _addr("node", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _fen("base_fen"),
        _index("paid_index"),
        _index("recovery_index"),
        _fen("unrecovered_fen"),
        _fen("assessments_paid_fen"),
        _fen("recovered_fen"),
        _fen("refund_fen", nullable=True),
        sa.Column("enforced", sa.Boolean(), nullable=False),
        _fen("created_block"),
        _fen("created_time"),
        *_at(),
        sa.PrimaryKeyConstraint("node"),
    )
    op.create_table(
        "gw_fund_defaults",
        _addr("node", nullable=False),
        sa.Column("period", sa.BigInteger(), autoincrement=False, nullable=False),
        *[_fen(f"{name}_fen", nullable=True) for name in STEPS],
        _index("loss_index", nullable=True),
        _addr("creditor"),
        *_at(),
        sa.PrimaryKeyConstraint("node", "period"),
    )
    op.create_table(
        "gw_fund_events",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        _fen("block_time"),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        _addr("node"),
        _addr("party"),
        _fen("period", nullable=True),
        _fen("amount_fen", nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index"),
    )
    for table in TABLES:
        op.create_index(f"ix_{table}_block_number", table, ["block_number"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
