"""Guest referrals apart from members' referrals; shared rate-limit counters.

Revision ID: 0004_request_hardening
Revises: 0003_refund_money
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_request_hardening"
down_revision = "0003_refund_money"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "guest_referrals",
        sa.Column("id", Id, primary_key=True),
        sa.Column("shop_id", Id, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("referrer_member_id", Id, sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email_sha256", sa.String(64), nullable=False),
        sa.Column("welcome_redemption_id", Id, sa.ForeignKey("redemptions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("shop_id", "email_sha256", name="uq_guest_referrals_shop_email"),
    )
    op.create_index("ix_guest_referrals_referrer_member_id", "guest_referrals", ["referrer_member_id"])
    op.create_index("ix_guest_referrals_welcome_redemption_id", "guest_referrals", ["welcome_redemption_id"])
    op.create_table(
        "rate_limit_windows",
        sa.Column("id", Id, primary_key=True),
        sa.Column("shop_id", Id, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.UniqueConstraint("shop_id", "bucket", "window_start", name="uq_rate_limit_windows"),
    )
    op.create_index("ix_rate_limit_windows_shop_start", "rate_limit_windows", ["shop_id", "window_start"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_windows_shop_start", table_name="rate_limit_windows")
    op.drop_table("rate_limit_windows")
    op.drop_index("ix_guest_referrals_welcome_redemption_id", table_name="guest_referrals")
    op.drop_index("ix_guest_referrals_referrer_member_id", table_name="guest_referrals")
    op.drop_table("guest_referrals")
