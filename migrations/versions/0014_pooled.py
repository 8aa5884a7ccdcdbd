"""Cashback payouts, paid memberships and their grants, households, members-only rewards.

Revision ID: 0014_pooled
Revises: 0013_member_emails
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_pooled"
down_revision = "0013_member_emails"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _id() -> sa.Column:
    return sa.Column("id", BIG_ID, nullable=False)


def _shop() -> list:
    return [sa.Column("shop_id", BIG_ID, nullable=False),
            sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], ondelete="CASCADE")]


def _member(name: str = "member_id", nullable: bool = False, ondelete: str = "CASCADE") -> list:
    return [sa.Column(name, BIG_ID, nullable=nullable),
            sa.ForeignKeyConstraint([name], ["members.id"], ondelete=ondelete)]


def upgrade() -> None:
    with op.batch_alter_table("rewards") as batch_op:
        batch_op.add_column(sa.Column("members_only", sa.Boolean(), nullable=False, server_default="0"))
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.add_column(sa.Column("variant_units", JSON, nullable=True))
    op.create_table(
        "cashback_payouts", _id(), *_shop(), *_member(),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("payout_key", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("base_minor", sa.BigInteger(), nullable=True),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("shortfall_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("shopify_transaction_id", sa.String(128), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("first_attempt_at", TIME, nullable=True),
        sa.Column("lease_until", TIME, nullable=True),
        sa.Column("paid_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "payout_key", name="uq_cashback_payouts_shop_key"),
    )
    op.create_index("ix_cashback_payouts_due", "cashback_payouts", ["status", "due_at"])
    op.create_index("ix_cashback_payouts_member", "cashback_payouts", ["shop_id", "member_id", "created_at"])
    op.create_index("ix_cashback_payouts_order", "cashback_payouts", ["shop_id", "order_id"])
    op.create_table(
        "paid_memberships", _id(), *_shop(), *_member(),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "member_id", name="uq_paid_memberships_shop_member"),
    )
    op.create_index("ix_paid_memberships_shop_ends", "paid_memberships", ["shop_id", "ends_at"])
    op.create_table(
        "membership_grants", _id(), *_shop(), *_member(),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("months_returned", sa.Integer(), nullable=False),
        sa.Column("units_refunded", sa.Integer(), nullable=False),
        sa.Column("granted_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "order_id", name="uq_membership_grants_shop_order"),
    )
    op.create_index("ix_membership_grants_member", "membership_grants", ["shop_id", "member_id"])
    op.create_table(
        "households", _id(), *_shop(), *_member("created_by_member_id", True, "SET NULL"),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_households_shop_id", "households", ["shop_id"])
    op.create_table(
        "household_members", _id(), *_shop(), *_member(),
        sa.Column("household_id", BIG_ID, nullable=False),
        sa.Column("joined_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "member_id", name="uq_household_members_shop_member"),
    )
    op.create_index("ix_household_members_household", "household_members", ["shop_id", "household_id"])
    op.create_table(
        "household_invitations", _id(), *_shop(), *_member("inviter_member_id", True, "SET NULL"),
        *_member("accepted_by_member_id", True, "SET NULL"),
        sa.Column("household_id", BIG_ID, nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("accepted_at", TIME, nullable=True),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "token_sha256", name="uq_household_invitations_shop_token"),
    )
    op.create_index("ix_household_invitations_household", "household_invitations", ["shop_id", "household_id"])


def downgrade() -> None:
    for table in ("household_invitations", "household_members", "households", "membership_grants",
                  "paid_memberships", "cashback_payouts"):
        op.drop_table(table)
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.drop_column("variant_units")
    with op.batch_alter_table("rewards") as batch_op:
        batch_op.drop_column("members_only")
