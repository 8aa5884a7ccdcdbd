"""Bulk export lines staged per import job (ungrouped JSONL); import job warnings.

Revision ID: 0005_bulk_import
Revises: 0004_request_hardening
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_bulk_import"
down_revision = "0004_request_hardening"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch_op:
        batch_op.add_column(sa.Column("warnings", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                          "postgresql"), nullable=True))
    op.create_table(
        "bulk_export_lines",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("shop_id", BIG_ID, nullable=False),
        sa.Column("job_id", BIG_ID, nullable=False),
        sa.Column("parent_gid", sa.String(length=100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bulk_export_lines_job_parent", "bulk_export_lines", ["job_id", "parent_gid", "id"])


def downgrade() -> None:
    op.drop_index("ix_bulk_export_lines_job_parent", table_name="bulk_export_lines")
    op.drop_table("bulk_export_lines")
    with op.batch_alter_table("import_jobs") as batch_op:
        batch_op.drop_column("warnings")
