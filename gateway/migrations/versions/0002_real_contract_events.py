"""projections of the real contract events: ERC-1155 certificates, quotas per period,
surveillance report details, settlement payments, meter anchor kinds, region names

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:05:00

The old ``gw_certificates`` / ``gw_quotas`` tables were guessed before GreenCertificate and
QuotaLedger existed; they are dropped (they are projections: ``gridledger gateway
reproject`` rebuilds every table from ``gw_events``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ADDR = sa.String(length=42)
HASH = sa.String(length=66)
TOKEN = sa.String(length=78)


def upgrade() -> None:
    op.drop_table("gw_certificates")
    op.drop_table("gw_quotas")
    _create_certificate_tables()
    _create_quota_tables()
    _create_regions()
    _add_columns()


def _create_certificate_tables() -> None:
    op.create_table(
        "gw_cert_tokens",
        sa.Column("token_id", TOKEN, nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("generator", ADDR, nullable=True),
        sa.Column("vintage", sa.BigInteger(), nullable=True),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("generation_wh", sa.BigInteger(), nullable=True),
        sa.Column("carried_in_wh", sa.BigInteger(), nullable=True),
        sa.Column("carried_out_wh", sa.BigInteger(), nullable=True),
        sa.Column("retired", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.BigInteger(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", HASH, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_id"),
    )
    op.create_index("ix_gw_cert_tokens_generator", "gw_cert_tokens", ["generator"])
    op.create_index("ix_gw_cert_tokens_vintage", "gw_cert_tokens", ["vintage"])
    op.create_index("ix_gw_cert_tokens_block_number", "gw_cert_tokens", ["block_number"])
    op.create_table(
        "gw_cert_holdings",
        sa.Column("token_id", TOKEN, nullable=False),
        sa.Column("holder", ADDR, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "holder"),
    )
    op.create_index("ix_gw_cert_holdings_holder", "gw_cert_holdings", ["holder"])
    op.create_index("ix_gw_cert_holdings_block_number", "gw_cert_holdings", ["block_number"])
    op.create_table(
        "gw_cert_retirements",
        sa.Column("retirement_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("token_id", TOKEN, nullable=False),
        sa.Column("holder", ADDR, nullable=True),
        sa.Column("beneficiary", ADDR, nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("period", sa.BigInteger(), nullable=True),
        sa.Column("trade_id", sa.BigInteger(), nullable=True),
        sa.Column("retired_by", ADDR, nullable=True),
        sa.Column("covered_wh", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", HASH, nullable=False),
        sa.PrimaryKeyConstraint("retirement_id"),
    )
    for column in ("token_id", "beneficiary", "trade_id", "block_number"):
        op.create_index(f"ix_gw_cert_retirements_{column}", "gw_cert_retirements", [column])


def _create_quota_tables() -> None:
    op.create_table(
        "gw_quota_periods",
        sa.Column("period", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("weight_bps", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.BigInteger(), nullable=True),
        sa.Column("fine_rate_fen_per_mwh", sa.BigInteger(), nullable=True),
        sa.Column("regulator", ADDR, nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period"),
    )
    op.create_index("ix_gw_quota_periods_block_number", "gw_quota_periods", ["block_number"])
    op.create_table(
        "gw_quotas",
        sa.Column("party", ADDR, nullable=False),
        sa.Column("period", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("obligation_wh", sa.BigInteger(), nullable=True),
        sa.Column("covered_wh", sa.BigInteger(), nullable=False),
        sa.Column("shortfall_wh", sa.BigInteger(), nullable=True),
        sa.Column("fine_fen", sa.BigInteger(), nullable=True),
        sa.Column("paid_fen", sa.BigInteger(), nullable=True),
        sa.Column("slashed_fen", sa.BigInteger(), nullable=True),
        sa.Column("unpaid_fen", sa.BigInteger(), nullable=True),
        sa.Column("assessed", sa.Boolean(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("party", "period"),
    )
    op.create_index("ix_gw_quotas_block_number", "gw_quotas", ["block_number"])


def _create_regions() -> None:
    op.create_table(
        "gw_regions",
        sa.Column("region_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region_id"),
    )
    op.create_index("ix_gw_regions_block_number", "gw_regions", ["block_number"])


def _add_columns() -> None:
    """The new columns of the reports, settlements and meter anchors."""
    with op.batch_alter_table("gw_reports") as batch:
        batch.add_column(sa.Column("trade_ids", sa.Text(), nullable=True))
        batch.add_column(sa.Column("first_period", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_period", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rule_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("response_hash", HASH, nullable=True))
        batch.add_column(sa.Column("slashed_fen", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("reason_hash", HASH, nullable=True))
        batch.add_column(sa.Column("announced", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("ruled_time", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("gw_settlements") as batch:
        batch.add_column(sa.Column("executed_wh", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("curtailed_wh", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("remainder_fen", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("gw_meter_anchors") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gw_meter_anchors") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("gw_settlements") as batch:
        for column in ("remainder_fen", "curtailed_wh", "executed_wh"):
            batch.drop_column(column)
    with op.batch_alter_table("gw_reports") as batch:
        for column in (
            "ruled_time",
            "announced",
            "reason_hash",
            "slashed_fen",
            "response_hash",
            "rule_by",
            "last_period",
            "first_period",
            "trade_ids",
        ):
            batch.drop_column(column)
    for table in (
        "gw_regions",
        "gw_quotas",
        "gw_quota_periods",
        "gw_cert_retirements",
        "gw_cert_holdings",
        "gw_cert_tokens",
    ):
        op.drop_table(table)
    op.create_table(
        "gw_certificates",
        sa.Column("certificate_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", ADDR, nullable=True),
        sa.Column("energy_wh", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("trade_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", HASH, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_table(
        "gw_quotas",
        sa.Column("account", ADDR, nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("quota_wh", sa.BigInteger(), nullable=True),
        sa.Column("retired_wh", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "year"),
    )
    # the indexes 0001 made on these tables (its downgrade drops them)
    for column in ("block_number", "owner", "trade_id"):
        op.create_index(f"ix_gw_certificates_{column}", "gw_certificates", [column])
    op.create_index("ix_gw_quotas_block_number", "gw_quotas", ["block_number"])
