"""Segments: member metrics (lifecycle stage, RFM), owner segments and their daily sizes, the
members tagged in Shopify for a segment, win-back entries; audiences on rewards; customer tags
and country on members.

Revision ID: 0015_segments
Revises: 0014_pooled
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_segments"
down_revision = "0014_pooled"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
AT = sa.DateTime(timezone=True)


def _shop_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("members") as batch_op:
        batch_op.add_column(sa.Column("customer_tags", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("country_code", sa.String(length=2), nullable=True))
    with op.batch_alter_table("rewards") as batch_op:
        batch_op.add_column(sa.Column("segment_ids", JSON, nullable=True))
        batch_op.add_column(sa.Column("lifecycle_stages", JSON, nullable=True))
    _member_metrics()
    _segments()
    _win_back_entries()


def _member_metrics() -> None:
    op.create_table(
        "member_metrics",
        sa.Column("member_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("orders_count", sa.Integer(), nullable=False),
        sa.Column("total_spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("first_order_at", AT, nullable=True),
        sa.Column("last_order_at", AT, nullable=True),
        sa.Column("recent_orders_count", sa.Integer(), nullable=False),
        sa.Column("recent_spent_minor", sa.BigInteger(), nullable=False),
        sa.Column("lifecycle_stage", sa.String(length=16), nullable=False),
        sa.Column("stage_entered_at", AT, nullable=False),
        sa.Column("previous_stage", sa.String(length=16), nullable=True),
        sa.Column("rfm_recency", sa.Integer(), nullable=True),
        sa.Column("rfm_frequency", sa.Integer(), nullable=True),
        sa.Column("rfm_monetary", sa.Integer(), nullable=True),
        sa.Column("rfm_segment", sa.String(length=24), nullable=True),
        sa.Column("computed_at", AT, nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        _shop_fk(),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_index("ix_member_metrics_shop_entered", "member_metrics", ["shop_id", "stage_entered_at"])


def _segments() -> None:
    op.create_table(
        "segments",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("match", sa.String(length=3), nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("shopify_tag", sa.String(length=40), nullable=True),
        sa.Column("sync_status", sa.String(length=16), nullable=True),
        sa.Column("sync_cursor", sa.BigInteger(), nullable=True),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("synced_at", AT, nullable=True),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        _shop_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "name", name="uq_segments_shop_name"),
    )
    op.create_table(
        "segment_snapshots",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("segment_key", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        _shop_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "segment_key", "day", name="uq_segment_snapshots_day"),
    )
    op.create_table(
        "segment_tag_members",
        sa.Column("segment_id", BIG_ID, nullable=False),
        sa.Column("member_id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        _shop_fk(),
        sa.PrimaryKeyConstraint("segment_id", "member_id"),
    )


def _win_back_entries() -> None:
    op.create_table(
        "win_back_entries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("member_id", BIG_ID, nullable=False),
        sa.Column("entered_at", AT, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("entry_key", sa.String(length=160), nullable=True),
        sa.Column("redemption_id", BIG_ID, nullable=True),
        sa.Column("return_window_ends_at", AT, nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemptions.id"], ondelete="SET NULL"),
        _shop_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "member_id", "entered_at", name="uq_win_back_entries_entry"),
    )
    op.create_index("ix_win_back_entries_shop_entered", "win_back_entries", ["shop_id", "entered_at"])


def downgrade() -> None:
    op.drop_index("ix_win_back_entries_shop_entered", table_name="win_back_entries")
    op.drop_table("win_back_entries")
    op.drop_table("segment_tag_members")
    op.drop_table("segment_snapshots")
    op.drop_table("segments")
    op.drop_index("ix_member_metrics_shop_entered", table_name="member_metrics")
    op.drop_table("member_metrics")
    with op.batch_alter_table("rewards") as batch_op:
        batch_op.drop_column("lifecycle_stages")
        batch_op.drop_column("segment_ids")
    with op.batch_alter_table("members") as batch_op:
        batch_op.drop_column("country_code")
        batch_op.drop_column("customer_tags")
