"""bilateral contracts: templates, contracts (projected) and the document archive

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 03:00:00

``gw_contract_templates`` and ``gw_contracts`` are filled by the ``contracts`` projector
(``gridledger gateway reproject`` fills them from the events already indexed);
``gw_contract_documents`` holds the documents parties archive through the API.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ADDR = sa.String(42)
HASH = sa.String(66)


def _created() -> list[sa.Column[object]]:
    return [
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", HASH, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "gw_contract_templates",
        sa.Column("template_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(64)),
        sa.Column("version", sa.Integer()),
        sa.Column("template_hash", HASH),
        *_created(),
    )
    op.create_index(
        "ix_gw_contract_templates_block_number", "gw_contract_templates", ["block_number"]
    )
    op.create_table(
        "gw_contracts",
        sa.Column("contract_no", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("template_id", sa.BigInteger()),
        sa.Column("kind", sa.String(64)),
        sa.Column("seller", ADDR),
        sa.Column("buyer", ADDR),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("document_hash", HASH),
        sa.Column("terms_digest", HASH),
        sa.Column("first_period", sa.BigInteger()),
        sa.Column("last_period", sa.BigInteger()),
        sa.Column("price_fen_per_mwh", sa.BigInteger()),
        sa.Column("scheduled_wh", sa.BigInteger()),
        sa.Column("traded_wh", sa.BigInteger(), nullable=False),
        sa.Column("trade_count", sa.Integer(), nullable=False),
        sa.Column("amendments", sa.Integer(), nullable=False),
        sa.Column("anomalies", sa.Integer(), nullable=False),
        sa.Column("ended_time", sa.BigInteger()),
        *_created(),
    )
    for column in ("kind", "seller", "buyer", "status", "created_time", "block_number"):
        op.create_index(f"ix_gw_contracts_{column}", "gw_contracts", [column])
    op.create_table(
        "gw_contract_documents",
        sa.Column("contract_no", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("template_key", sa.String(64), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("document_hash", HASH, nullable=False),
        sa.Column("archived_time", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gw_contract_documents")
    op.drop_table("gw_contracts")
    op.drop_table("gw_contract_templates")
