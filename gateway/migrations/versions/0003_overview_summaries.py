"""the overview's summaries (row counts, events per type, market series per period and
region) kept by the indexer, and expression indexes for case-insensitive address lookups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:00:00

The explorer's overview counted and grouped the whole event log on every request (over a
second at a million events). ``gw_row_counts``, ``gw_event_counts`` and ``gw_market_stats``
hold those figures; the indexer keeps them in the same transaction as the rows they
describe (``gateway/summary.py``). An existing database gets them computed here from its
tables; ``gridledger gateway reproject`` recomputes them too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

#: The tables whose rows are counted at this revision: the event log, the blocks and every
#: projection table (``gateway.projections.counted_tables()``).
COUNTED = (
    "gw_events",
    "gw_blocks",
    "gw_cert_tokens",
    "gw_cert_holdings",
    "gw_cert_retirements",
    "gw_quota_periods",
    "gw_quotas",
    "gw_listings",
    "gw_meter_anchors",
    "gw_participants",
    "gw_ratings",
    "gw_regions",
    "gw_reports",
    "gw_role_changes",
    "gw_settlements",
    "gw_trades",
)
#: (index, table, column) of the ``lower(column)`` indexes.
LOWER_INDEXES = (
    ("ix_gw_trades_lower_seller", "gw_trades", "seller"),
    ("ix_gw_trades_lower_buyer", "gw_trades", "buyer"),
    ("ix_gw_ratings_lower_ratee", "gw_ratings", "ratee"),
    ("ix_gw_participants_lower_address", "gw_participants", "address"),
    ("ix_gw_meter_anchors_lower_node", "gw_meter_anchors", "node"),
    ("ix_gw_role_changes_lower_account", "gw_role_changes", "account"),
)


def upgrade() -> None:
    row_counts = op.create_table(
        "gw_row_counts",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_name"),
    )
    event_counts = op.create_table(
        "gw_event_counts",
        sa.Column("contract", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=96), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("contract", "event"),
    )
    market = op.create_table(
        "gw_market_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.BigInteger(), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("trade_count", sa.BigInteger(), nullable=False),
        sa.Column("energy_wh", sa.String(length=80), nullable=False),
        sa.Column("value_micro_fen", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "region", name="uq_gw_market_stats"),
    )
    for name, table, column in LOWER_INDEXES:
        op.create_index(name, table, [sa.text(f"lower({column})")])
    _backfill(row_counts, event_counts, market)


def _backfill(row_counts: sa.Table, event_counts: sa.Table, market: sa.Table) -> None:
    """The summaries of the rows already there (a row only where a count is not zero)."""
    conn = op.get_bind()
    counts = []
    for name in COUNTED:
        n = conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one()  # noqa: S608
        if n:
            counts.append({"table_name": name, "row_count": int(n)})
    if counts:
        conn.execute(row_counts.insert(), counts)
    per_event = [
        {"contract": c, "event": e, "event_count": int(n)}
        for c, e, n in conn.execute(
            sa.text("SELECT contract, event, COUNT(*) FROM gw_events GROUP BY contract, event")
        )
    ]
    if per_event:
        conn.execute(event_counts.insert(), per_event)
    # exact sums in Python: energy x price can outgrow SQL's 64-bit integers
    series: dict[tuple[int, Any], list[int]] = {}
    for period, region, energy_wh, price in conn.execute(
        sa.text(
            "SELECT period, region, energy_wh, price_fen_per_mwh FROM gw_trades "
            "WHERE period IS NOT NULL AND energy_wh IS NOT NULL"
        )
    ):
        s = series.setdefault((int(period), region), [0, 0, 0])
        s[0] += 1
        s[1] += int(energy_wh)
        s[2] += int(energy_wh) * int(price) if price is not None else 0
    if series:
        conn.execute(
            market.insert(),
            [
                {
                    "period": period,
                    "region": region,
                    "trade_count": n,
                    "energy_wh": str(energy_wh),
                    "value_micro_fen": str(value),
                }
                for (period, region), (n, energy_wh, value) in series.items()
            ],
        )


def downgrade() -> None:
    for name, table, _column in LOWER_INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_table("gw_market_stats")
    op.drop_table("gw_event_counts")
    op.drop_table("gw_row_counts")
