"""POS orders keep their source and store location; location names are cached per shop.

Revision ID: 0016_pos
Revises: 0015_segments
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_pos"
down_revision = "0015_segments"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("source_name", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("location_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "shop_locations",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("shop_id", BIG_ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("shop_id", "location_id"),
    )


def downgrade() -> None:
    op.drop_table("shop_locations")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("location_id")
        batch_op.drop_column("source_name")
