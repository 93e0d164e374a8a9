"""every explorer list paged: indexes of the certificate, quota, rating lists and of the
participant page's per-address lists

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 00:00:00

The certificate tokens page newest first by (created_block, token_id) and the quotas by
(period, party); the participant page reads each of an address's lists (listings, reports,
ratings given, quotas, tokens, retirements) from ``lower(address column)`` indexes, as 0003
did for trades and ratings received. No data changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

#: (index, table, columns) of the key and filter indexes.
INDEXES = (
    ("ix_gw_cert_tokens_block_id", "gw_cert_tokens", ("created_block", "token_id")),
    ("ix_gw_quotas_period_party", "gw_quotas", ("period", "party")),
    ("ix_gw_cert_retirements_period_id", "gw_cert_retirements", ("period", "retirement_id")),
)
#: (index, table, column) of the ``lower(column)`` indexes.
LOWER_INDEXES = (
    ("ix_gw_listings_lower_maker", "gw_listings", "maker"),
    ("ix_gw_ratings_lower_rater", "gw_ratings", "rater"),
    ("ix_gw_reports_lower_suspect", "gw_reports", "suspect"),
    ("ix_gw_reports_lower_reporter", "gw_reports", "reporter"),
    ("ix_gw_reports_lower_regulator", "gw_reports", "regulator"),
    ("ix_gw_quotas_lower_party", "gw_quotas", "party"),
    ("ix_gw_cert_tokens_lower_generator", "gw_cert_tokens", "generator"),
    ("ix_gw_cert_retirements_lower_holder", "gw_cert_retirements", "holder"),
    ("ix_gw_cert_retirements_lower_beneficiary", "gw_cert_retirements", "beneficiary"),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns))
    for name, table, column in LOWER_INDEXES:
        op.create_index(name, table, [sa.text(f"lower({column})")])


def downgrade() -> None:
    for name, table, _column in LOWER_INDEXES:
        op.drop_index(name, table_name=table)
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
