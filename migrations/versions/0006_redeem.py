"""Redemptions: a lease on talking to Shopify, and when that was first tried.

Revision ID: 0006_redeem
Revises: 0005_bulk_import
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_redeem"
down_revision = "0005_bulk_import"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions") as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("redemptions") as batch_op:
        batch_op.drop_column("first_attempt_at")
        batch_op.drop_column("lease_until")
