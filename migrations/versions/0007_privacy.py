"""Webhook bodies are erased after the retention period or a customer redact: record when.

Revision ID: 0007_privacy
Revises: 0006_redeem
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_privacy"
down_revision = "0006_redeem"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch_op:
        batch_op.add_column(sa.Column("body_erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_webhook_events_retention", "webhook_events", ["status", "processed_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_retention", table_name="webhook_events")
    with op.batch_alter_table("webhook_events") as batch_op:
        batch_op.drop_column("body_erased_at")
