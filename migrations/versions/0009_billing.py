"""Recurring charges of the hosted app (BILLING=on).

Revision ID: 0009_billing
Revises: 0008_member_events
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_billing"
down_revision = "0008_member_events"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "app_subscriptions",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("shop_id", BigId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subscription_gid", sa.String(128), nullable=False),
        sa.Column("plan_key", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("confirmation_url", sa.Text(), nullable=True),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("shop_id", "subscription_gid", name="uq_app_subscriptions_shop_gid"),
    )
    op.create_index("ix_app_subscriptions_shop_id", "app_subscriptions", ["shop_id"])


def downgrade() -> None:
    op.drop_table("app_subscriptions")
