"""Shopify tools: ledger reasons as a code plus parameters (each shopper reads them in their
language), customer metafields kept in sync, Flow trigger use and trigger sends.

Revision ID: 0012_shopify_tools
Revises: 0011_outbound
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_shopify_tools"
down_revision = "0011_outbound"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = sa.DateTime(timezone=True)


def _shop_id() -> sa.Column:
    return sa.Column("shop_id", BigId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    # Rows written before this keep no code and read as their stored English sentence.
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.add_column(sa.Column("reason_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reason_params", Json, nullable=True))
    op.create_table(
        "customer_metafield_syncs",
        sa.Column("id", BigId, primary_key=True), _shop_id(),
        sa.Column("member_id", BigId, sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("dirty_since", When, nullable=True), sa.Column("written_at", When, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False), sa.Column("retry_at", When, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("shop_id", "member_id", name="uq_customer_metafield_syncs_member"),
    )
    op.create_index("ix_customer_metafield_syncs_due", "customer_metafield_syncs", ["dirty_since"])
    op.create_table(
        "flow_trigger_uses",
        sa.Column("id", BigId, primary_key=True), _shop_id(),
        sa.Column("trigger_handle", sa.String(64), nullable=False), sa.Column("in_use", sa.Boolean(), nullable=False),
        sa.Column("reported_at", When, nullable=False),
        sa.UniqueConstraint("shop_id", "trigger_handle", name="uq_flow_trigger_uses_shop_trigger"),
    )
    op.create_table(
        "flow_trigger_sends",
        sa.Column("id", BigId, primary_key=True), _shop_id(),
        sa.Column("member_id", BigId, sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=True),
        sa.Column("trigger_handle", sa.String(64), nullable=False),
        sa.Column("send_key", sa.String(160), nullable=False),
        sa.Column("payload", Json, nullable=False), sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False), sa.Column("next_attempt_at", When, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True), sa.Column("created_at", When, nullable=False),
        sa.Column("sent_at", When, nullable=True),
        sa.UniqueConstraint("shop_id", "send_key", name="uq_flow_trigger_sends_shop_key"),
    )
    op.create_index("ix_flow_trigger_sends_due", "flow_trigger_sends", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("flow_trigger_sends")
    op.drop_table("flow_trigger_uses")
    op.drop_table("customer_metafield_syncs")
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.drop_column("reason_params")
        batch_op.drop_column("reason_code")
