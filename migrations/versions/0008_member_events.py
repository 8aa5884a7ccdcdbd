"""The member events outbox: what emails, outbound webhooks, Flow, Klaviyo and metafields hear.

Revision ID: 0008_member_events
Revises: 0007_privacy
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_member_events"
down_revision = "0007_privacy"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "member_events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_key", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("shop_id", "event_key", name="uq_member_events_shop_event_key"),
    )
    op.create_index("ix_member_events_undispatched", "member_events", ["dispatched_at", "id"])
    op.create_index("ix_member_events_member", "member_events", ["shop_id", "member_id", "id"])


def downgrade() -> None:
    op.drop_table("member_events")
