"""Indexes for period-end tier checks, analytics by period; import job options.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch_op:
        batch_op.add_column(sa.Column("options", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                         "postgresql"), nullable=True))
    op.create_index("ix_members_shop_tier_retained", "members", ["shop_id", "tier_retained_until"])
    op.create_index("ix_members_shop_created", "members", ["shop_id", "created_at"])
    op.create_index("ix_ledger_shop_created", "ledger_entries", ["shop_id", "created_at"])
    op.create_index("ix_referrals_shop_created", "referrals", ["shop_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_referrals_shop_created", table_name="referrals")
    op.drop_index("ix_ledger_shop_created", table_name="ledger_entries")
    op.drop_index("ix_members_shop_created", table_name="members")
    op.drop_index("ix_members_shop_tier_retained", table_name="members")
    with op.batch_alter_table("import_jobs") as batch_op:
        batch_op.drop_column("options")
