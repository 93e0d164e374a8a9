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
    with op.batch_alter_table("gw_participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gw_participants", schema=None) as batch_op:
        batch_op.drop_column("display_name")
