"""Refunds keep the tax refunded on shipping and the money refunded beyond (or short of) their
lines and shipping, so take-backs follow the money of amount-only and partial-price refunds.

Revision ID: 0003_refund_money
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_refund_money"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.add_column(sa.Column("shipping_tax_minor", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("discrepancy_minor", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.drop_column("discrepancy_minor")
        batch_op.drop_column("shipping_tax_minor")
