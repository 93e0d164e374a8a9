"""the explorer's paged and filtered lists: (filter, key) indexes and listing expiries

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:30:00

Each list pages newest first by its primary key within a filter value (status, period,
region), so it reads one index range per page; a time range reads the creation-time
index. ``gw_listings.expires_at`` (ListingPosted's ``expiresAt``) lets the explorer read a
listing's status in chain time; existing rows get it from their ListingPosted event here.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

#: (index, table, columns) of the (filter, key) indexes.
INDEXES = (
    ("ix_gw_trades_status_id", "gw_trades", ("status", "trade_id")),
    ("ix_gw_trades_period_id", "gw_trades", ("period", "trade_id")),
    ("ix_gw_trades_region_id", "gw_trades", ("region", "trade_id")),
    ("ix_gw_listings_status_id", "gw_listings", ("status", "listing_id")),
    ("ix_gw_listings_period_id", "gw_listings", ("period", "listing_id")),
    ("ix_gw_reports_status_id", "gw_reports", ("status", "report_id")),
    ("ix_gw_trades_created_time", "gw_trades", ("created_time",)),
    ("ix_gw_listings_created_time", "gw_listings", ("created_time",)),
)


def upgrade() -> None:
    with op.batch_alter_table("gw_listings") as batch:
        batch.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns))
    conn = op.get_bind()
    events = sa.table("gw_events", sa.column("event", sa.String), sa.column("args", sa.Text))
    listings = sa.table(
        "gw_listings", sa.column("listing_id", sa.BigInteger), sa.column("expires_at")
    )
    posted = conn.execute(sa.select(events.c.args).where(events.c.event == "ListingPosted"))
    for (text,) in posted:
        args = json.loads(text)
        if args.get("listingId") is None or args.get("expiresAt") is None:
            continue
        conn.execute(
            listings.update()
            .where(listings.c.listing_id == int(args["listingId"]))
            .values(expires_at=int(args["expiresAt"]))
        )
    # a taken trade is "formed", as the CLI names it (was "open")
    trades = sa.table("gw_trades", sa.column("status", sa.String))
    conn.execute(trades.update().where(trades.c.status == "open").values(status="formed"))


def downgrade() -> None:
    trades = sa.table("gw_trades", sa.column("status", sa.String))
    op.get_bind().execute(trades.update().where(trades.c.status == "formed").values(status="open"))
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("gw_listings") as batch:
        batch.drop_column("expires_at")
