"""Owner API keys, outbound webhook endpoints and their deliveries, the Klaviyo connection and
its queue of profile updates and events.

Revision ID: 0011_outbound
Revises: 0010_games
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_outbound"
down_revision = "0010_games"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _shop_column(**kwargs) -> sa.Column:
    return sa.Column("shop_id", BIG_ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, **kwargs)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", BIG_ID, primary_key=True),
        _shop_column(index=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        _when("created_at", nullable=False), _when("last_used_at"), _when("revoked_at"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", BIG_ID, primary_key=True),
        _shop_column(index=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        _when("created_at", nullable=False), _when("disabled_at"),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, primary_key=True),
        _shop_column(index=True),
        sa.Column("endpoint_id", BIG_ID, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"), _when("last_attempt_at"),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("created_at", nullable=False), _when("delivered_at"),
        sa.UniqueConstraint("endpoint_id", "event_id"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "klaviyo_accounts",
        sa.Column("id", BIG_ID, primary_key=True),
        _shop_column(unique=True),
        sa.Column("api_key_ciphertext", sa.Text(), nullable=False),
        sa.Column("key_hint", sa.String(16), nullable=False),
        _when("connected_at", nullable=False), _when("last_synced_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_table(
        "klaviyo_syncs",
        sa.Column("id", BIG_ID, primary_key=True),
        _shop_column(),
        sa.Column("member_id", BIG_ID, sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("sync_key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(64), nullable=True),
        sa.Column("properties", JSON, nullable=True),
        _when("occurred_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("created_at", nullable=False), _when("sent_at"),
        sa.UniqueConstraint("shop_id", "sync_key"),
    )
    op.create_index("ix_klaviyo_syncs_due", "klaviyo_syncs", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_klaviyo_syncs_due", table_name="klaviyo_syncs")
    op.drop_table("klaviyo_syncs")
    op.drop_table("klaviyo_accounts")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("api_keys")
