"""Ledger reasons as a code plus parameters, so each shopper reads them in their language.

Revision ID: 0008_reason_codes
Revises: 0007_privacy
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_reason_codes"
down_revision = "0007_privacy"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Rows written before this keep no code and read as their stored English sentence.
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.add_column(sa.Column("reason_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reason_params", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.drop_column("reason_params")
        batch_op.drop_column("reason_code")
