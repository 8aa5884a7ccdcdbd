"""Member emails and owner notices: the outbox and log, reward-ready crossings, and per member
the language of their emails and their one-click unsubscribe.

Revision ID: 0013_member_emails
Revises: 0012_shopify_tools
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_member_emails"
down_revision = "0012_shopify_tools"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("members") as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("email_unsubscribed_at", Moment, nullable=True))
    op.create_table(
        "member_emails",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("shop_id", BigId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", BigId, sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message_key", sa.String(160), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Moment, nullable=True),
        sa.Column("data", Json, nullable=True),
        sa.Column("recipient", sa.String(255), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("locale", sa.String(8), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("sent_at", Moment, nullable=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.UniqueConstraint("shop_id", "message_key", name="uq_member_emails_shop_message_key"),
    )
    op.create_index("ix_member_emails_due", "member_emails", ["status", "next_attempt_at"])
    op.create_index("ix_member_emails_shop_created", "member_emails", ["shop_id", "created_at"])
    op.create_index("ix_member_emails_member_sent", "member_emails", ["shop_id", "member_id", "sent_at"])
    op.create_table(
        "reward_ready_marks",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("shop_id", BigId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", BigId, sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reward_id", BigId, sa.ForeignKey("rewards.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reached_at", Moment, nullable=False),
        sa.UniqueConstraint("shop_id", "member_id", "reward_id", name="uq_reward_ready_marks"),
    )


def downgrade() -> None:
    op.drop_table("reward_ready_marks")
    op.drop_index("ix_member_emails_member_sent", table_name="member_emails")
    op.drop_index("ix_member_emails_shop_created", table_name="member_emails")
    op.drop_index("ix_member_emails_due", table_name="member_emails")
    op.drop_table("member_emails")
    with op.batch_alter_table("members") as batch_op:
        batch_op.drop_column("email_unsubscribed_at")
        batch_op.drop_column("locale")
