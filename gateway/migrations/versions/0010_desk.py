"""the service desk: anchored batches and their open/overdue counts per category

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:30:00

New tables only, filled by the ``desk`` projector (gateway/projections/desk.py) from
``DeskAnchor.DeskBatchAnchored``; ``gridledger gateway reproject`` fills them from the
events already in ``gw_events``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("gw_desk_batches", "gw_desk_counts")


def _int(name: str, big: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger() if big else sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "gw_desk_batches",
        sa.Column("batch", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        _int("first_change", big=True),
        _int("change_count"),
        _int("open_total"),
        _int("overdue_total"),
        sa.Column("operator", sa.String(42), nullable=True),
        _int("block_time", big=True),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        _int("log_index"),
        _int("block_number", big=True),
        sa.PrimaryKeyConstraint("batch"),
    )
    op.create_table(
        "gw_desk_counts",
        sa.Column("batch", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        _int("open"),
        _int("overdue"),
        _int("block_number", big=True),
        sa.PrimaryKeyConstraint("batch", "category"),
    )
    for table in TABLES:
        op.create_index(f"ix_{table}_block_number", table, ["block_number"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
