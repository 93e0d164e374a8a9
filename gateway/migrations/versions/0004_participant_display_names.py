"""participants' public display names (NodeRegistry ``DisplayNameSet``)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:45:00

``gw_participants.display_name`` holds the name a node (or the VERIFIER) set on chain; the
explorer shows it and its search finds participants by it. Existing databases get the
column empty; ``gridledger gateway reproject`` fills it from the indexed events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # plain ALTER TABLE on both databases (SQLite >= 3.35 drops columns too): a batch
    # rebuild of the table would lose 0003's expression index on lower(address)
    op.add_column("gw_participants", sa.Column("display_name", sa.String(length=64)))


def downgrade() -> None:
    op.drop_column("gw_participants", "display_name")
